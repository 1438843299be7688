// Package chart tests charts/nsguard; its subpackage ci tests the container
// image's build, the release archives and the CI integrations of nsguard
// lint (the GitHub Action, the GitLab CI snippet, the pre-commit hook, the
// krew manifest).
//
// The chart is rendered and linted with the helm binary that make helm
// builds from hack/tools/helm (a module of its own, so that helm's
// dependencies never mix with nsguard's); make chart-test passes it in
// $HELM. Without $HELM the tests that need it are skipped, saying so.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// ReleaseName and Namespace are the release the tests render, as the
// README installs it.
const (
	ReleaseName = "nsguard"
	Namespace   = "nsguard"
)

// Root returns the repository's root directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/nsguard/nsguard\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("the repository's root (go.mod of github.com/nsguard/nsguard) not found above the working directory")
		}
		dir = parent
	}
}

// ChartDir is charts/nsguard.
func ChartDir(t testing.TB) string { return filepath.Join(Root(t), "charts", "nsguard") }

// Helm returns the pinned helm binary from $HELM, and skips t without it.
func Helm(t testing.TB) string {
	t.Helper()
	h := os.Getenv("HELM")
	if h == "" {
		t.Skip("HELM is not set: make chart-test builds the pinned helm (make helm) and runs these tests with it")
	}
	if _, err := os.Stat(h); err != nil {
		t.Fatalf("HELM=%s: %v (make helm builds it)", h, err)
	}
	return h
}

// RunHelm runs helm with args and returns its standard output; a failure
// returns standard error in the error.
func RunHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Helm(t), args...)
	// No repositories, plugins, caches or cluster of the machine's user:
	// helm only renders here.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(home, "no-kubeconfig"), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Render runs helm template for the release in Namespace with the values
// files (paths relative to testdata/values, or absolute) and extra helm
// flags, and returns the manifest.
func Render(t testing.TB, valuesFiles []string, extra ...string) string {
	t.Helper()
	args := []string{"template", ReleaseName, ChartDir(t), "--namespace", Namespace}
	for _, f := range valuesFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(Root(t), "test", "chart", "testdata", "values", f)
		}
		args = append(args, "--values", f)
	}
	out, err := RunHelm(t, append(args, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Objects decodes a multi-document manifest.
func Objects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := utilyaml.ToJSON(doc)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if s := strings.TrimSpace(string(data)); s == "null" || s == "" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
}

// Find returns the rendered objects of a kind.
func Find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// One returns the one rendered object of a kind, and fails t unless there
// is exactly one.
func One(t testing.TB, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := Find(objs, kind)
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s rendered, want 1", len(found), kind)
	}
	return found[0]
}

var (
	nsguardOnce sync.Once
	nsguardBin  string
	nsguardErr  error
)

// RemoveNsguard removes what Nsguard built; call it from TestMain.
func RemoveNsguard() {
	if nsguardBin != "" {
		_ = os.RemoveAll(filepath.Dir(nsguardBin))
	}
}

// Nsguard builds cmd/nsguard once per test binary and returns its path.
func Nsguard(t testing.TB) string {
	t.Helper()
	nsguardOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nsguard-chart-bin-")
		if err != nil {
			nsguardErr = err
			return
		}
		nsguardBin = filepath.Join(dir, "nsguard")
		// As the GitHub Action builds it, so the two share the build cache.
		cmd := exec.Command("go", "build", "-trimpath", "-o", nsguardBin, "./cmd/nsguard")
		cmd.Dir = Root(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			nsguardErr = fmt.Errorf("go build ./cmd/nsguard: %v\n%s", err, out)
		}
	})
	if nsguardErr != nil {
		t.Fatal(nsguardErr)
	}
	return nsguardBin
}
