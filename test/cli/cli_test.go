// Package cli tests the nsguard binary as users run it: built once, run on
// the repository's examples and real-world manifests, checked for findings,
// positions, formats and exit codes.
package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is the nsguard built by TestMain; root is the repository root,
// the working directory of every run (reports name files relative to it).
var (
	binary string
	root   string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root = filepath.Join(wd, "..", "..")
	dir, err := os.MkdirTemp("", "nsguard-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "nsguard")
	build := exec.Command("go", "build", "-o", binary, "./cmd/nsguard")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build nsguard: %v\n", err)
		return 1
	}
	return m.Run()
}

type result struct {
	stdout, stderr string
	code           int
}

// nsguard runs the binary in the repository root with stdin (may be "").
func nsguard(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return nsguardIn(t, root, stdin, args...)
}

func nsguardIn(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run nsguard %v: %v", args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// jsonReport is the -o json output.
type jsonReport struct {
	Findings []struct {
		Rule            string `json:"rule"`
		Severity        string `json:"severity"`
		Message         string `json:"message"`
		File            string `json:"file"`
		Line            int    `json:"line"`
		APIVersion      string `json:"apiVersion"`
		Kind            string `json:"kind"`
		Name            string `json:"name"`
		Namespace       string `json:"namespace"`
		ObjectNamespace string `json:"objectNamespace"`
		Fix             string `json:"fix"`
	} `json:"findings"`
	Errors []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"errors"`
	Summary struct {
		Files   int `json:"files"`
		Objects int `json:"objects"`
	} `json:"summary"`
}

func parseJSON(t *testing.T, r result) jsonReport {
	t.Helper()
	var rep jsonReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("output is not the JSON report (%v):\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	if rep.Findings == nil {
		t.Fatalf("findings is not an array:\n%s", r.stdout)
	}
	return rep
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// finalizerObject is a ConfigMap that sets a finalizer by hand: a
// hardcoded-finalizer warning and nothing else.
const finalizerObject = `apiVersion: v1
kind: ConfigMap
metadata:
  name: pinned
  namespace: shop
  finalizers:
  - example.com/keep
`

// TestExamples runs every examples/<rule-id>.yaml and checks that it gives
// its rule's finding and the exit code of its severity; clean.yaml gives
// none and exit 0.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no examples yet")
	}
	sawClean := false
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		rel := filepath.ToSlash(filepath.Join("examples", filepath.Base(f)))
		t.Run(name, func(t *testing.T) {
			r := nsguard(t, "", "lint", "-o", "json", rel)
			rep := parseJSON(t, r)
			if len(rep.Errors) > 0 {
				t.Fatalf("input errors: %v", rep.Errors)
			}
			if name == "clean" {
				sawClean = true
				if r.code != 0 || len(rep.Findings) != 0 {
					t.Fatalf("clean.yaml: exit %d, findings %+v; want 0 and none", r.code, rep.Findings)
				}
				return
			}
			wantCode := 0
			found := false
			for _, f := range rep.Findings {
				if f.Severity == "deny" {
					wantCode = 1
				}
				if f.Rule != name {
					continue
				}
				found = true
				if f.File != rel || f.Line < 1 || f.Message == "" || f.Kind == "" {
					t.Errorf("finding without its place or message: %+v", f)
				}
			}
			if !found {
				t.Fatalf("%s gives no %s finding: %+v", rel, name, rep.Findings)
			}
			if r.code != wantCode {
				t.Errorf("exit %d, want %d (findings %+v)", r.code, wantCode, rep.Findings)
			}
			// --fail-on warn fails on any finding.
			if r := nsguard(t, "", "lint", "-o", "json", "--fail-on", "warn", rel); r.code != 1 {
				t.Errorf("--fail-on warn: exit %d, want 1", r.code)
			}
		})
	}
	if !sawClean {
		t.Error("examples/clean.yaml is missing")
	}
}

// lineOf returns the line of the object of the given kind and name in a
// multi-document YAML file: the first line of its document's content.
func lineOf(t *testing.T, path, kind, name string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := 0
	hasKind, hasName := false, false
	for i := 0; i <= len(lines); i++ {
		if i == len(lines) || lines[i] == "---" {
			if hasKind && hasName {
				return start + 1
			}
			start, hasKind, hasName = i+1, false, false
			continue
		}
		if lines[i] == "kind: "+kind {
			hasKind = true
		}
		if lines[i] == "  name: "+name {
			hasName = true
		}
	}
	t.Fatalf("%s %s not found in %s", kind, name, path)
	return 0
}

// TestRealWorld lints Argo CD's published install manifest with an
// Application: the application controller runs in the namespace whose
// Applications it finalizes.
func TestRealWorld(t *testing.T) {
	r := nsguard(t, "", "lint", "--namespace", "argocd", "-o", "json", "testdata/realworld/argo-cd/")
	rep := parseJSON(t, r)
	if len(rep.Errors) > 0 {
		t.Fatalf("input errors: %+v", rep.Errors)
	}
	if rep.Summary.Objects != 60 || rep.Summary.Files != 2 {
		t.Errorf("read %d objects in %d files, want 60 in 2", rep.Summary.Objects, rep.Summary.Files)
	}
	wantLine := lineOf(t, filepath.Join(root, "testdata/realworld/argo-cd/argo-cd-install.yaml"), "StatefulSet", "argocd-application-controller")
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "controller-in-namespace" && f.Kind == "StatefulSet" && f.Name == "argocd-application-controller" {
			found = true
			if f.File != "testdata/realworld/argo-cd/argo-cd-install.yaml" || f.Line != wantLine || f.Namespace != "argocd" || f.Severity != "deny" {
				t.Errorf("finding at %s:%d in %q (%s), want testdata/realworld/argo-cd/argo-cd-install.yaml:%d in argocd (deny)", f.File, f.Line, f.Namespace, f.Severity, wantLine)
			}
		}
	}
	if !found {
		t.Fatalf("no controller-in-namespace finding for the application controller: %+v", rep.Findings)
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}

	// The text report names the place the same way.
	r = nsguard(t, "", "lint", "-n", "argocd", "testdata/realworld/argo-cd/argo-cd-install.yaml", "testdata/realworld/argo-cd/argo-cd-application.yaml")
	want := fmt.Sprintf("testdata/realworld/argo-cd/argo-cd-install.yaml:%d: deny controller-in-namespace: ", wantLine)
	if !strings.Contains(r.stdout, want) || r.code != 1 {
		t.Errorf("text report (exit %d) lacks %q:\n%s", r.code, want, r.stdout)
	}
}

// TestMalformedInput: a malformed file is exit 2 with file:line, and the
// findings of the other files (and of the other documents of the same
// file) are still reported.
func TestMalformedInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "good.yaml", finalizerObject)
	writeFile(t, dir, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: [oops\n---\n"+strings.Replace(finalizerObject, "pinned", "after", 1))
	writeFile(t, dir, "notk8s.yaml", "foo: bar\n")
	r := nsguardIn(t, dir, "", "lint", "-o", "json", ".")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	for _, want := range []string{"bad.yaml:5: ", "notk8s.yaml:1: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	rep := parseJSON(t, r)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, fmt.Sprintf("%s:%d %s %s", f.File, f.Line, f.Rule, f.Name))
	}
	want := []string{"bad.yaml:7 hardcoded-finalizer after", "good.yaml:1 hardcoded-finalizer pinned"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rep.Errors) != 2 {
		t.Errorf("errors in the report: %+v, want 2", rep.Errors)
	}

	// A file that does not exist is an input error too.
	r = nsguardIn(t, dir, "", "lint", "good.yaml", "missing.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "missing.yaml") || !strings.Contains(r.stdout, "good.yaml:1: warn hardcoded-finalizer") {
		t.Errorf("missing file: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestStdin(t *testing.T) {
	r := nsguard(t, "---\n"+finalizerObject, "lint", "-o", "json", "-")
	rep := parseJSON(t, r)
	if r.code != 0 || len(rep.Findings) != 1 || rep.Findings[0].File != "<stdin>" || rep.Findings[0].Line != 2 {
		t.Fatalf("exit %d, findings %+v; want one at <stdin>:2 and exit 0", r.code, rep.Findings)
	}
	// JSON on standard input.
	r = nsguard(t, `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j", "namespace": "x", "finalizers": ["example.com/keep"]}}]}`, "lint", "-o", "json", "-")
	rep = parseJSON(t, r)
	if len(rep.Findings) != 1 || rep.Findings[0].Line != 2 {
		t.Fatalf("JSON stdin: findings %+v, want one at line 2", rep.Findings)
	}
}

// TestConcatenatedFiles runs `cat a.yaml b.yaml | nsguard lint -` on files
// that do not start with "---": the two objects become one mapping with
// duplicate keys, which yaml.v3 and kustomize refuse. Lint must say so at
// the line of the second object and exit 2, not read one object with the
// last values; the other inputs are still read and reported.
func TestConcatenatedFiles(t *testing.T) {
	a := finalizerObject
	b := strings.Replace(finalizerObject, "pinned", "second", 1)
	r := nsguard(t, a+b, "lint", "-o", "json", "-")
	if r.code != 2 {
		t.Errorf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	want := `<stdin>:8: mapping key "apiVersion" already defined at line 1`
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	rep := parseJSON(t, r)
	if len(rep.Findings) != 0 || rep.Summary.Objects != 0 {
		t.Errorf("findings %+v, %d objects; want none from a refused document", rep.Findings, rep.Summary.Objects)
	}
	if len(rep.Errors) == 0 || rep.Errors[0].File != "<stdin>" || rep.Errors[0].Line != 8 {
		t.Errorf("errors %+v, want the first at <stdin>:8", rep.Errors)
	}

	// With the "---" kubectl expects between them, both objects are read.
	r = nsguard(t, a+"---\n"+b, "lint", "-o", "json", "-")
	if rep := parseJSON(t, r); r.code != 0 || len(rep.Errors) != 0 || len(rep.Findings) != 2 {
		t.Errorf("with ---: exit %d, errors %+v, findings %+v; want 0, none, 2", r.code, rep.Errors, rep.Findings)
	}

	// In a directory, the other documents and files are still read.
	dir := t.TempDir()
	writeFile(t, dir, "cat.yaml", a+b+"---\n"+strings.Replace(finalizerObject, "pinned", "third", 1))
	writeFile(t, dir, "good.yaml", finalizerObject)
	r = nsguardIn(t, dir, "", "lint", "-o", "json", ".")
	if r.code != 2 || !strings.Contains(r.stderr, `cat.yaml:8: mapping key "apiVersion" already defined at line 1`) {
		t.Errorf("directory: exit %d, want 2 and the error at cat.yaml:8\nstderr:\n%s", r.code, r.stderr)
	}
	var got []string
	for _, f := range parseJSON(t, r).Findings {
		got = append(got, fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Name))
	}
	if w := []string{"cat.yaml:16 third", "good.yaml:1 pinned"}; strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
}

func TestNamespaceFlag(t *testing.T) {
	obj := strings.Replace(finalizerObject, "  namespace: shop\n", "", 1)
	// Without -n the object lands in "default", which Kubernetes never
	// deletes: nothing can block its deletion.
	if rep := parseJSON(t, nsguard(t, obj, "lint", "-o", "json", "-")); len(rep.Findings) != 0 {
		t.Errorf("object in default: findings %+v, want none", rep.Findings)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "team-a"}, "team-a"},
		{[]string{"--namespace", "team-b"}, "team-b"},
	} {
		args := append([]string{"lint", "-o", "json"}, tc.args...)
		rep := parseJSON(t, nsguard(t, obj, append(args, "-")...))
		if len(rep.Findings) != 1 || rep.Findings[0].ObjectNamespace != tc.want {
			t.Errorf("%v: findings %+v, want the object in %s", tc.args, rep.Findings, tc.want)
		}
	}
	if r := nsguard(t, obj, "lint", "-n", "Not_A_Namespace", "-"); r.code != 2 {
		t.Errorf("invalid namespace: exit %d, want 2", r.code)
	}
}

func TestSARIF(t *testing.T) {
	r := nsguard(t, "", "lint", "-n", "argocd", "-o", "sarif", "testdata/realworld/argo-cd/")
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name           string `json:"name"`
					InformationURI string `json:"informationUri"`
					Rules          []struct {
						ID   string `json:"id"`
						Help struct {
							Text     string `json:"text"`
							Markdown string `json:"markdown"`
						} `json:"help"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif") || len(log.Runs) != 1 {
		t.Fatalf("bad SARIF envelope: %s", r.stdout[:min(len(r.stdout), 400)])
	}
	d := log.Runs[0].Tool.Driver
	if d.Name != "nsguard" || d.InformationURI == "" || len(d.Rules) == 0 {
		t.Fatalf("bad driver: %+v", d)
	}
	for _, ru := range d.Rules {
		if ru.ID == "" || ru.Help.Text == "" || ru.Help.Markdown == "" {
			t.Errorf("rule without help: %+v", ru)
		}
	}
	if len(log.Runs[0].Results) == 0 {
		t.Fatal("no results")
	}
	for _, res := range log.Runs[0].Results {
		loc := res.Locations[0].PhysicalLocation
		if d.Rules[res.RuleIndex].ID != res.RuleID || (res.Level != "error" && res.Level != "warning") || res.Message.Text == "" ||
			!strings.HasPrefix(loc.ArtifactLocation.URI, "testdata/realworld/argo-cd/") || loc.Region.StartLine < 1 {
			t.Errorf("bad result: %+v", res)
		}
	}
}

func TestJUnit(t *testing.T) {
	r := nsguard(t, "", "lint", "-n", "argocd", "-o", "junit", "testdata/realworld/argo-cd/")
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &suites); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(suites.Suites) != 2 || suites.Failures < 1 || suites.Tests < 60 {
		t.Errorf("junit: %d suites, %d tests, %d failures", len(suites.Suites), suites.Tests, suites.Failures)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"lint", "-o", "yaml", "testdata/realworld/argo-cd/"},
		{"lint", "--fail-on", "error", "testdata/realworld/argo-cd/"},
		{"lint", "--kube-version", "one.two", "testdata/realworld/argo-cd/"},
		{"lint", "--no-such-flag", "testdata/realworld/argo-cd/"},
		{"lint"},
		{"lint", "--policy", "does/not/exist", "testdata/realworld/argo-cd/"},
	} {
		r := nsguard(t, "", args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, r.code, r.stderr)
		}
		if len(args) > 1 && args[1] == "-o" && !strings.Contains(r.stderr, "unknown output format") {
			t.Errorf("%v: stderr %q", args, r.stderr)
		}
	}
}

func TestFailOn(t *testing.T) {
	// finalizerObject gives a warning only.
	for _, tc := range []struct {
		failOn string
		want   int
	}{{"", 0}, {"deny", 0}, {"warn", 1}, {"never", 0}} {
		args := []string{"lint"}
		if tc.failOn != "" {
			args = append(args, "--fail-on", tc.failOn)
		}
		if r := nsguard(t, finalizerObject, append(args, "-")...); r.code != tc.want {
			t.Errorf("warning with --fail-on %q: exit %d, want %d", tc.failOn, r.code, tc.want)
		}
	}
	// Argo CD's bundle has a deny finding.
	for _, tc := range []struct {
		failOn string
		want   int
	}{{"deny", 1}, {"warn", 1}, {"never", 0}} {
		if r := nsguard(t, "", "lint", "-n", "argocd", "--fail-on", tc.failOn, "testdata/realworld/argo-cd/"); r.code != tc.want {
			t.Errorf("deny with --fail-on %q: exit %d, want %d", tc.failOn, r.code, tc.want)
		}
	}
}

func TestKubeVersion(t *testing.T) {
	for _, v := range []string{"1.33", "v1.33.2", "1.37"} {
		if r := nsguard(t, finalizerObject, "lint", "--kube-version", v, "-"); r.code != 0 {
			t.Errorf("--kube-version %s: exit %d, stderr %s", v, r.code, r.stderr)
		}
	}
}
