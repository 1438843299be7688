// Package ci tests the container image's build, the release archives and
// the CI integrations of nsguard lint.
package ci

import (
	"archive/tar"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/nsguard/nsguard/test/chart"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chart.RemoveNsguard()
	os.Exit(code)
}

var (
	// Root is the repository's root; Nsguard builds cmd/nsguard once.
	Root    = chart.Root
	Nsguard = chart.Nsguard
)

// The container image, the release archives and the CI integrations of
// nsguard lint, exercised as far as a machine without a container engine
// or a CI service allows: the Dockerfile builds as make build does, the
// GitHub Action's shell steps and the GitLab job's script run against
// examples/, the pre-commit hook's command runs as pre-commit would run
// it, and make dist and make krew-manifest build and describe a release.

// shellWords splits a command line as sh would, for the quoting used in
// the Makefile and the Dockerfile (single and double quotes, no escapes).
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// goBuild describes a go build command: its environment assignments, its
// flags with their values, and its package.
type goBuild struct {
	env     map[string]string
	flags   map[string]string
	pkg     string
	ldflags []string
}

func parseGoBuild(t *testing.T, line string) goBuild {
	t.Helper()
	words := shellWords(line)
	b := goBuild{env: map[string]string{}, flags: map[string]string{}}
	i := 0
	for ; i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-"); i++ {
		k, v, _ := strings.Cut(words[i], "=")
		b.env[k] = v
	}
	if i+1 >= len(words) || filepath.Base(words[i]) != "go" || words[i+1] != "build" {
		t.Fatalf("not a go build command: %q", line)
	}
	for i += 2; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-o" || w == "-ldflags" || w == "-tags":
			b.flags[w] = words[i+1]
			i++
		case strings.HasPrefix(w, "-"):
			b.flags[w] = ""
		default:
			b.pkg = w
		}
	}
	b.ldflags = strings.Fields(b.flags["-ldflags"])
	delete(b.flags, "-o") // where the binary goes differs, by design
	return b
}

// The Dockerfile builds the binary with the same command as make build:
// the same environment, flags, ldflags (version stamping included) and
// package, compared after make and the shell have expanded them.
func TestDockerfileBuildsAsMakefile(t *testing.T) {
	root := Root(t)
	const version = "v9.9.9-test"
	out, err := exec.Command("make", "-C", root, "-n", "build", "VERSION="+version).Output()
	if err != nil {
		t.Fatalf("make -n build: %v", err)
	}
	var makeLine string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, " build ") && strings.Contains(l, "go") {
			makeLine = l
		}
	}
	if makeLine == "" {
		t.Fatalf("no go build in make -n build:\n%s", out)
	}
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var dockerLine string
	var froms []string
	stage := map[string]int{}
	for i, l := range strings.Split(string(df), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "FROM "):
			froms = append(froms, l)
		case strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build"):
			dockerLine = strings.TrimPrefix(l, "RUN ")
			stage["build"] = i
		case l == "RUN go mod download":
			stage["download"] = i
		case strings.HasPrefix(l, "COPY go.mod go.sum"):
			stage["copy-mod"] = i
		case strings.HasPrefix(l, "COPY . "):
			stage["copy-all"] = i
		case strings.HasPrefix(l, "USER "):
			if l != "USER 65532:65532" {
				t.Errorf("%s, want USER 65532:65532", l)
			}
			stage["user"] = i
		}
	}
	if dockerLine == "" {
		t.Fatal("no RUN go build in the Dockerfile")
	}
	// go mod download is a layer of its own, before the sources come in.
	if !(stage["copy-mod"] < stage["download"] && stage["download"] < stage["copy-all"] && stage["copy-all"] < stage["build"]) || stage["user"] == 0 {
		t.Errorf("Dockerfile order %v: want COPY go.mod go.sum, RUN go mod download, COPY ., RUN go build, and a USER", stage)
	}
	if len(froms) < 2 {
		t.Errorf("%d FROM lines: want a multi-stage build", len(froms))
	}
	final := froms[len(froms)-1]
	if !regexp.MustCompile(`^FROM gcr\.io/distroless/static-debian12:nonroot@sha256:[0-9a-f]{64}$`).MatchString(final) {
		t.Errorf("%q: want distroless static nonroot pinned by digest", final)
	}
	// The shell in the build stage expands the ARGs.
	expanded := strings.NewReplacer("${VERSION}", version, "${TARGETOS}", "linux", "${TARGETARCH}", "amd64").Replace(dockerLine)
	m, d := parseGoBuild(t, makeLine), parseGoBuild(t, expanded)
	delete(d.env, "GOOS")
	delete(d.env, "GOARCH")
	if fmt.Sprint(m.env) != fmt.Sprint(d.env) {
		t.Errorf("environment: make %v, Dockerfile %v", m.env, d.env)
	}
	if fmt.Sprint(m.flags) != fmt.Sprint(d.flags) {
		t.Errorf("flags: make %v, Dockerfile %v", m.flags, d.flags)
	}
	if !slices.Equal(m.ldflags, d.ldflags) {
		t.Errorf("ldflags: make %q, Dockerfile %q", m.ldflags, d.ldflags)
	}
	if !slices.Contains(d.ldflags, "github.com/nsguard/nsguard/internal/version.Version="+version) {
		t.Errorf("the Dockerfile does not stamp the version: %q", d.ldflags)
	}
	if m.pkg != d.pkg {
		t.Errorf("package: make %s, Dockerfile %s", m.pkg, d.pkg)
	}

	// make docker-build passes the version and the image name.
	out, err = exec.Command("make", "-C", root, "-n", "docker-build", "VERSION="+version, "IMAGE=example.test/nsguard:t").Output()
	if err != nil {
		t.Fatalf("make -n docker-build: %v", err)
	}
	if !strings.Contains(string(out), "docker build --build-arg VERSION="+version+" -t example.test/nsguard:t .") {
		t.Errorf("make -n docker-build:\n%s", out)
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"bin", ".git"} {
		if !slices.Contains(strings.Fields(string(ignore)), p) {
			t.Errorf(".dockerignore does not leave out %s", p)
		}
	}
}

// expr replaces the GitHub expressions ${{ … }} the action uses.
func expr(t *testing.T, s string, values map[string]string) string {
	t.Helper()
	return regexp.MustCompile(`\$\{\{\s*([^}]+?)\s*\}\}`).ReplaceAllStringFunc(s, func(m string) string {
		key := strings.TrimSpace(m[3 : len(m)-2])
		v, ok := values[key]
		if !ok {
			t.Fatalf("the test does not know the expression %s", m)
		}
		return v
	})
}

// actionStep is a step of a composite action.
type actionStep struct {
	Name  string            `json:"name"`
	ID    string            `json:"id"`
	If    string            `json:"if"`
	Uses  string            `json:"uses"`
	Shell string            `json:"shell"`
	Run   string            `json:"run"`
	Env   map[string]string `json:"env"`
	With  map[string]string `json:"with"`
}

// The GitHub Action's shell steps, run as the runner runs them (bash
// --noprofile --norc -eo pipefail), against examples/; the uses steps
// (setup-go, upload-sarif) are checked, not run.
func TestGitHubAction(t *testing.T) {
	root := Root(t)
	b, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Default string `json:"default"`
		} `json:"inputs"`
		Runs struct {
			Using string       `json:"using"`
			Steps []actionStep `json:"steps"`
		} `json:"runs"`
	}
	if err := yaml.Unmarshal(b, &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "composite" {
		t.Fatalf("runs.using %q, want composite", action.Runs.Using)
	}
	upload := false
	for _, s := range action.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q pastes an expression into its script; pass it through env", s.Name)
		}
		if strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@") {
			upload = s.With["sarif_file"] == "${{ inputs.sarif-file }}" && strings.Contains(s.If, "always()")
		}
	}
	if !upload {
		t.Error("no upload-sarif step that uploads the SARIF file even after findings")
	}

	// One runner.temp for the three runs: the build step runs once (the
	// runner's temporary directory is new for every job in real life).
	temp := t.TempDir()
	built := false
	run := func(t *testing.T, inputs map[string]string) (outputs map[string]string, failed string) {
		t.Helper()
		work := t.TempDir()
		values := map[string]string{"github.action_path": root, "runner.temp": temp}
		for k, in := range action.Inputs {
			values["inputs."+k] = in.Default
		}
		for k, v := range inputs {
			values["inputs."+k] = v
		}
		outputs = map[string]string{}
		ghOutput, ghPath := filepath.Join(temp, "output"), filepath.Join(temp, "path")
		for _, s := range action.Runs.Steps {
			if s.Run == "" || s.Name == "Build nsguard" && built {
				continue
			}
			built = built || s.Name == "Build nsguard"
			if s.Shell != "bash" {
				t.Fatalf("step %q: shell %q", s.Name, s.Shell)
			}
			if err := os.WriteFile(ghOutput, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			for k, v := range outputs {
				values["steps."+k] = v
			}
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+ghOutput, "GITHUB_PATH="+ghPath, "CGO_ENABLED=0")
			for k, v := range s.Env {
				cmd.Env = append(cmd.Env, k+"="+expr(t, v, values))
			}
			out, err := cmd.CombinedOutput()
			t.Logf("step %q: %v\n%s", s.Name, err, out)
			o, _ := os.ReadFile(ghOutput)
			for _, l := range strings.Split(strings.TrimSpace(string(o)), "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					outputs[s.ID+".outputs."+k] = v
				}
			}
			if err != nil {
				return outputs, s.Name
			}
		}
		return outputs, ""
	}
	examples := filepath.Join(root, "examples")

	t.Run("findings: SARIF written, the job fails after the upload", func(t *testing.T) {
		sarif := filepath.Join(t.TempDir(), "out.sarif")
		outputs, failed := run(t, map[string]string{
			"path":       filepath.Join(examples, "controller-in-namespace.yaml") + " " + filepath.Join(examples, "clean.yaml"),
			"sarif-file": sarif,
		})
		if outputs["lint.outputs.exit-code"] != "1" || failed != "Fail on findings" {
			t.Errorf("exit-code %q, failed at %q: want 1, failing at the last step", outputs["lint.outputs.exit-code"], failed)
		}
		var report struct {
			Version string `json:"version"`
			Runs    []struct {
				Results []struct {
					RuleID string `json:"ruleId"`
				} `json:"results"`
			} `json:"runs"`
		}
		b, err := os.ReadFile(sarif)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &report); err != nil {
			t.Fatal(err)
		}
		if report.Version != "2.1.0" || len(report.Runs) != 1 || len(report.Runs[0].Results) == 0 || report.Runs[0].Results[0].RuleID != "controller-in-namespace" {
			t.Errorf("SARIF report %+v: want 2.1.0 with the controller-in-namespace finding", report)
		}
	})
	t.Run("clean manifests pass", func(t *testing.T) {
		outputs, failed := run(t, map[string]string{"path": filepath.Join(examples, "clean.yaml"), "namespace": "shop"})
		if outputs["lint.outputs.exit-code"] != "0" || failed != "" {
			t.Errorf("exit-code %q, failed at %q: want 0 and no failure", outputs["lint.outputs.exit-code"], failed)
		}
	})
	t.Run("unreadable input fails at once", func(t *testing.T) {
		outputs, failed := run(t, map[string]string{"path": filepath.Join(examples, "custom-policy", "data.yaml")})
		if outputs["lint.outputs.exit-code"] != "2" || failed != "Lint" {
			t.Errorf("exit-code %q, failed at %q: want 2, failing at Lint", outputs["lint.outputs.exit-code"], failed)
		}
	})
}

// The GitLab job's script, run in one shell as GitLab's runner does (with
// -e), with nsguard on PATH in place of its before_script's go install.
func TestGitLabSnippet(t *testing.T) {
	root := Root(t)
	b, err := os.ReadFile(filepath.Join(root, "ci", "gitlab", "nsguard-lint.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]struct {
		Variables    map[string]string `json:"variables"`
		BeforeScript []string          `json:"before_script"`
		Script       []string          `json:"script"`
		Artifacts    struct {
			When    string            `json:"when"`
			Reports map[string]string `json:"reports"`
		} `json:"artifacts"`
	}
	if err := yaml.Unmarshal(b, &jobs); err != nil {
		t.Fatal(err)
	}
	job, ok := jobs[".nsguard-lint"]
	if !ok {
		t.Fatal("no .nsguard-lint job")
	}
	if job.Artifacts.When != "always" || job.Artifacts.Reports["junit"] != "nsguard-junit.xml" {
		t.Errorf("artifacts %+v: want the JUnit report, always", job.Artifacts)
	}
	if !strings.Contains(strings.Join(job.BeforeScript, "\n"), "go install github.com/nsguard/nsguard/cmd/nsguard@") {
		t.Errorf("before_script does not install nsguard: %v", job.BeforeScript)
	}
	bin := filepath.Dir(Nsguard(t))
	run := func(t *testing.T, vars map[string]string) (string, int) {
		t.Helper()
		work := t.TempDir()
		cmd := exec.Command("bash", "-e", "-c", strings.Join(job.Script, "\n"))
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		for k, v := range job.Variables {
			if o, ok := vars[k]; ok {
				v = o
			}
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("exit %d\n%s", code, out)
		return work, code
	}
	work, code := run(t, map[string]string{"NSGUARD_PATHS": filepath.Join(root, "examples", "controller-in-namespace.yaml")})
	if code != 1 {
		t.Errorf("exit %d on a deny finding, want 1", code)
	}
	x, err := os.ReadFile(filepath.Join(work, "nsguard-junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(x, &suites); err != nil || suites.Failures == 0 {
		t.Errorf("JUnit report: %v, %d failures; want the finding as a failure\n%s", err, suites.Failures, x)
	}
	if s, err := os.ReadFile(filepath.Join(work, "nsguard.sarif")); err != nil || !json.Valid(s) {
		t.Errorf("SARIF artifact: %v", err)
	}
	if _, code := run(t, map[string]string{"NSGUARD_PATHS": filepath.Join(root, "examples", "clean.yaml"), "NSGUARD_NAMESPACE": "shop"}); code != 0 {
		t.Errorf("exit %d on clean manifests, want 0", code)
	}
}

// The pre-commit hook: its entry names the binary that language golang
// installs from this repository (go install ./...), and it runs as
// pre-commit runs it, with the matching files as arguments.
func TestPreCommitHook(t *testing.T) {
	root := Root(t)
	b, err := os.ReadFile(filepath.Join(root, ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID            string   `json:"id"`
		Entry         string   `json:"entry"`
		Language      string   `json:"language"`
		TypesOr       []string `json:"types_or"`
		PassFilenames *bool    `json:"pass_filenames"`
	}
	if err := yaml.Unmarshal(b, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 || hooks[0].ID != "nsguard-lint" || hooks[0].Language != "golang" {
		t.Fatalf("hooks %+v: want nsguard-lint, language golang", hooks)
	}
	h := hooks[0]
	entry := strings.Fields(h.Entry)
	out, err := exec.Command("go", "list", "-C", root, "-f", "{{.Name}} {{.ImportPath}}", "./cmd/"+entry[0]).Output()
	if err != nil || !strings.HasPrefix(string(out), "main ") {
		t.Fatalf("entry %q: no main package cmd/%s for go install to build (%v)", h.Entry, entry[0], err)
	}
	if h.PassFilenames != nil && !*h.PassFilenames {
		t.Fatal("the hook does not take the files pre-commit passes")
	}
	bin := filepath.Dir(Nsguard(t))
	hook := func(files ...string) int {
		cmd := exec.Command(filepath.Join(bin, entry[0]), append(entry[1:], files...)...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			t.Logf("%s %v: exit %d\n%s", h.Entry, files, ee.ExitCode(), out)
			return ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	// What files: ^examples/[^/]+\.yaml$ selects.
	files, _ := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	for i := range files {
		files[i], _ = filepath.Rel(root, files[i])
	}
	if code := hook(files...); code != 1 {
		t.Errorf("the hook on examples/*.yaml exits %d, want 1 (deny findings)", code)
	}
	if code := hook("examples/clean.yaml"); code != 0 {
		t.Errorf("the hook on examples/clean.yaml exits %d, want 0", code)
	}
}

// krewManifest is what the test reads of plugins/krew/nsguard.yaml.
type krewManifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

func readKrew(t *testing.T, path string) krewManifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m krewManifest
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// checkKrew: a complete manifest whose URLs follow the release scheme of
// its version, one per platform of make dist.
func checkKrew(t *testing.T, m krewManifest, sums map[string]string) {
	t.Helper()
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "nsguard" {
		t.Errorf("manifest %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m.Spec.Version) || m.Spec.Homepage == "" || m.Spec.ShortDescription == "" || m.Spec.Description == "" {
		t.Errorf("spec: version %q, homepage %q, shortDescription %q", m.Spec.Version, m.Spec.Homepage, m.Spec.ShortDescription)
	}
	var platforms []string
	for _, p := range m.Spec.Platforms {
		os, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		platforms = append(platforms, os+"/"+arch)
		want := fmt.Sprintf("https://github.com/nsguard/nsguard/releases/download/%[1]s/kubectl-nsguard_%[1]s_%s_%s.tar.gz", m.Spec.Version, os, arch)
		if p.URI != want {
			t.Errorf("%s/%s: uri %s, want %s", os, arch, p.URI, want)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(p.SHA256) || strings.Trim(p.SHA256, "0") == "" {
			t.Errorf("%s/%s: sha256 %q", os, arch, p.SHA256)
		}
		if sum, ok := sums[os+"/"+arch]; ok && p.SHA256 != sum {
			t.Errorf("%s/%s: sha256 %s, the archive's is %s", os, arch, p.SHA256, sum)
		}
		bin := "kubectl-nsguard"
		if os == "windows" {
			bin += ".exe"
		}
		if p.Bin != bin {
			t.Errorf("%s/%s: bin %q, want %q", os, arch, p.Bin, bin)
		}
	}
	if want := []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"}; !slices.Equal(platforms, want) {
		t.Errorf("platforms %v, want make dist's %v", platforms, want)
	}
}

func TestKrewManifest(t *testing.T) {
	root := Root(t)
	checkKrew(t, readKrew(t, filepath.Join(root, "plugins", "krew", "nsguard.yaml")), nil)
}

// make dist builds a release archive that holds kubectl-nsguard, stamped
// with the version, and make krew-manifest writes its sha256 and URL into
// the manifest; a missing archive stops it.
func TestReleaseArchivesAndKrewManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nsguard for a release archive")
	}
	root := Root(t)
	const version = "v9.9.9"
	dist := t.TempDir()
	out, err := exec.Command("make", "-C", root, "dist", "VERSION="+version, "DIST="+dist, "PLATFORMS=linux/amd64").CombinedOutput()
	if err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	archive := filepath.Join(dist, "kubectl-nsguard_"+version+"_linux_amd64.tar.gz")
	bin := filepath.Join(t.TempDir(), "kubectl-nsguard")
	extract(t, archive, "kubectl-nsguard", bin)
	v, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), version) {
		t.Errorf("kubectl-nsguard version from the archive: %v %s; want %s", err, v, version)
	}

	// The other platforms' archives: stand-ins, enough for the sums.
	sums := map[string]string{"linux/amd64": sha256File(t, archive)}
	for _, p := range []string{"linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"} {
		os_, arch, _ := strings.Cut(p, "/")
		data := make([]byte, 64)
		_, _ = rand.Read(data)
		f := filepath.Join(dist, fmt.Sprintf("kubectl-nsguard_%s_%s_%s.tar.gz", version, os_, arch))
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sums[p] = sha256File(t, f)
	}
	manifest := filepath.Join(t.TempDir(), "nsguard.yaml")
	src, err := os.ReadFile(filepath.Join(root, "plugins", "krew", "nsguard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, src, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("make", "-C", root, "-s", "krew-manifest", "VERSION="+version, "DIST="+dist, "KREW_MANIFEST="+manifest).CombinedOutput()
	if err != nil {
		t.Fatalf("make krew-manifest: %v\n%s", err, out)
	}
	m := readKrew(t, manifest)
	if m.Spec.Version != version {
		t.Errorf("version %s, want %s", m.Spec.Version, version)
	}
	checkKrew(t, m, sums)

	if err := os.Remove(filepath.Join(dist, "kubectl-nsguard_"+version+"_darwin_arm64.tar.gz")); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("make", "-C", root, "-s", "krew-manifest", "VERSION="+version, "DIST="+dist, "KREW_MANIFEST="+manifest).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "darwin_arm64.tar.gz is missing") {
		t.Errorf("make krew-manifest with an archive missing: %v\n%s", err, out)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// extract copies one file of a .tar.gz out, and fails t when it is not
// an executable at the archive's root.
func extract(t *testing.T, archive, name, to string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no %s at its root", archive, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Clean(h.Name) != name {
			continue
		}
		if h.Mode&0o111 == 0 {
			t.Errorf("%s in %s is not executable (%o)", name, archive, h.Mode)
		}
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
}
