// Package realworld lints the install manifests that well-known operators
// publish (testdata/realworld/<project>, verbatim) and compares what the
// rules say with what reading each operator's source says they should:
// the findings that must be reported, with a reason each, and the rules
// that must stay silent. Expectations live in
// testdata/<project>/expected.yaml; a subdirectory there is a scenario whose
// manifests are linted together with the project's (run-time state written
// as manifests, or the project's own examples).
//
// A finding marked wrong (crying wolf) is logged while it still appears and
// never fails the test; one marked pending (right, but not reported yet) is
// logged while it is missing. Anything else that differs fails.
//
// The repository holds the manifests it may redistribute as they came to
// it (testdata/README.md); the others are read from $NSGUARD_REALWORLD
// (default .cache/realworld: manifests/<project> and
// scenarios/<project>/<name>), where testdata/README.md says how to put
// them, and a project whose manifests are not there is skipped, saying so.
package realworld

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/lint"
	"github.com/nsguard/nsguard/policies"
)

// manifestRoot holds one directory of published manifests per project.
var manifestRoot = filepath.Join("..", "..", "testdata", "realworld")

// localRoot holds the published manifests kept out of the repository.
func localRoot() string {
	if d := os.Getenv("NSGUARD_REALWORLD"); d != "" {
		return d
	}
	return filepath.Join("..", "..", ".cache", "realworld")
}

// manifestDir finds a project's published manifests: in the repository,
// else in localRoot; "" when neither has them.
func manifestDir(project string) string {
	for _, d := range []string{filepath.Join(manifestRoot, project), filepath.Join(localRoot(), "manifests", project)} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// scenarioDir finds a scenario's manifests: written for this project in
// testdata/<project>/<name>, or a project's own sample in localRoot.
func scenarioDir(project, name string) string {
	for _, d := range []string{filepath.Join("testdata", project, name), filepath.Join(localRoot(), "scenarios", project, name)} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// expectation is testdata/<project>/expected.yaml.
type expectation struct {
	// Namespace is --namespace: where the project's docs install it.
	Namespace string    `json:"namespace"`
	Findings  []finding `json:"findings"`
	Silent    []silent  `json:"silent"`
	// Scenarios are linted with the project's manifests plus those in
	// testdata/<project>/<name>/. Their findings and silent rules add to
	// the project's (a finding of the same object and rule replaces it).
	Scenarios []scenario `json:"scenarios,omitempty"`
}

type finding struct {
	Rule string `json:"rule"`
	Kind string `json:"kind"`
	// Namespace of the object; empty for cluster-scoped objects.
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Severity  string `json:"severity"`
	Reason    string `json:"reason"`
	// Wrong: the rules report it, but they should not.
	Wrong bool `json:"wrong,omitempty"`
	// Pending: the rules should report it, and do not yet.
	Pending bool `json:"pending,omitempty"`
}

type silent struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

type scenario struct {
	Name     string    `json:"name"`
	Reason   string    `json:"reason"`
	Findings []finding `json:"findings,omitempty"`
	Silent   []silent  `json:"silent,omitempty"`
}

func (f finding) key() string {
	return fmt.Sprintf("%s %s %s/%s", f.Rule, f.Kind, f.Namespace, f.Name)
}

var (
	engineOnce sync.Once
	engine     *policies.Engine
	engineErr  error
)

func loadEngine(t *testing.T) *policies.Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = policies.New(context.Background(), policies.Options{}) })
	if engineErr != nil {
		t.Fatalf("load policies: %v", engineErr)
	}
	return engine
}

// lintPaths runs what nsguard lint runs: read the paths, place objects
// without a namespace in ns, evaluate every rule.
func lintPaths(t *testing.T, ns string, paths ...string) []finding {
	t.Helper()
	e := loadEngine(t)
	ctx := context.Background()
	read, err := lint.Read(ctx, paths, lint.ReadOptions{})
	if err != nil {
		t.Fatalf("read %v: %v", paths, err)
	}
	for _, ie := range read.Errors {
		t.Errorf("published manifests must read without errors: %v", ie)
	}
	if len(read.Objects) == 0 {
		t.Fatalf("no objects read from %v", paths)
	}
	snap, err := inventory.FromManifests(read.Objects, inventory.ManifestOptions{
		DefaultNamespace: ns,
		KubeVersion:      inventory.LatestKubeVersion,
		Catalog:          e.Catalog(),
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	fs, err := e.Evaluate(ctx, snap)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	out := make([]finding, 0, len(fs))
	for _, f := range fs {
		out = append(out, finding{
			Rule:      f.Rule,
			Kind:      f.Object.Kind,
			Namespace: f.Object.Namespace,
			Name:      f.Object.Name,
			Severity:  f.Severity,
			Reason:    f.Message,
		})
	}
	return out
}

func TestRealWorld(t *testing.T) {
	projects, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadDir(manifestRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range committed {
		if _, err := os.Stat(filepath.Join("testdata", c.Name(), "expected.yaml")); c.IsDir() && err != nil {
			t.Errorf("%s/%s has no expectations in testdata/%s/expected.yaml", manifestRoot, c.Name(), c.Name())
		}
	}
	checked := 0
	for _, p := range projects {
		if !p.IsDir() {
			continue
		}
		if manifestDir(p.Name()) != "" {
			checked++
		}
		t.Run(p.Name(), func(t *testing.T) { testProject(t, p.Name()) })
	}
	t.Logf("%d of %d projects' published manifests checked", checked, len(projects))
}

func testProject(t *testing.T, project string) {
	exp := readExpectation(t, project)
	rules := ruleIDs(t)
	validate(t, "expected.yaml", exp.Findings, exp.Silent, rules)
	if exp.Namespace == "" {
		t.Fatal("expected.yaml: namespace is required")
	}
	dir := manifestDir(project)
	if dir == "" {
		t.Skipf("the published manifests of %s are not in this checkout (testdata/README.md says where they come from; put them in %s)",
			project, filepath.Join(localRoot(), "manifests", project))
	}
	got := lintPaths(t, exp.Namespace, dir)
	compare(t, exp.Findings, exp.Silent, got)
	accounted(t, exp.Findings, exp.Silent, rules)

	scenarioDirs := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join("testdata", project))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			scenarioDirs[e.Name()] = true
		}
	}
	for _, sc := range exp.Scenarios {
		delete(scenarioDirs, sc.Name)
		t.Run(sc.Name, func(t *testing.T) {
			if strings.TrimSpace(sc.Reason) == "" {
				t.Error("scenario without a reason")
			}
			validate(t, "scenario "+sc.Name, sc.Findings, sc.Silent, rules)
			scDir := scenarioDir(project, sc.Name)
			if scDir == "" {
				t.Skipf("scenario %s: its manifests are neither in testdata/%s/%s nor in %s", sc.Name, project, sc.Name, filepath.Join(localRoot(), "scenarios", project, sc.Name))
			}
			findings, silents := merge(exp, sc)
			got := lintPaths(t, exp.Namespace, dir, scDir)
			compare(t, findings, silents, got)
		})
	}
	for name := range scenarioDirs {
		t.Errorf("testdata/%s/%s has no scenario in expected.yaml", project, name)
	}
}

func readExpectation(t *testing.T, project string) *expectation {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", project, "expected.yaml"))
	if err != nil {
		t.Fatalf("every project in %s needs expectations: %v", manifestRoot, err)
	}
	var exp expectation
	if err := yaml.UnmarshalStrict(data, &exp); err != nil {
		t.Fatalf("expected.yaml: %v", err)
	}
	return &exp
}

func ruleIDs(t *testing.T) map[string]policies.Rule {
	t.Helper()
	m := map[string]policies.Rule{}
	for _, r := range loadEngine(t).Rules() {
		m[r.ID] = r
	}
	return m
}

// validate checks an expectation list on its own: known rules, a reason
// for every entry, no entry twice, no rule both expected and silent.
func validate(t *testing.T, where string, fs []finding, ss []silent, rules map[string]policies.Rule) {
	t.Helper()
	seen := map[string]bool{}
	expected := map[string]bool{}
	for _, f := range fs {
		if _, ok := rules[f.Rule]; !ok {
			t.Errorf("%s: unknown rule %q", where, f.Rule)
		}
		if f.Kind == "" || f.Name == "" {
			t.Errorf("%s: %s: kind and name are required", where, f.key())
		}
		if f.Severity != "deny" && f.Severity != "warn" {
			t.Errorf("%s: %s: severity %q, want deny or warn", where, f.key(), f.Severity)
		}
		if strings.TrimSpace(f.Reason) == "" {
			t.Errorf("%s: %s: a reason is required", where, f.key())
		}
		if f.Wrong && f.Pending {
			t.Errorf("%s: %s: wrong and pending exclude each other", where, f.key())
		}
		if seen[f.key()] {
			t.Errorf("%s: %s listed twice", where, f.key())
		}
		seen[f.key()] = true
		if !f.Wrong {
			expected[f.Rule] = true
		}
	}
	for _, s := range ss {
		if _, ok := rules[s.Rule]; !ok {
			t.Errorf("%s: unknown silent rule %q", where, s.Rule)
		}
		if strings.TrimSpace(s.Reason) == "" {
			t.Errorf("%s: silent %s: a reason is required", where, s.Rule)
		}
		if expected[s.Rule] {
			t.Errorf("%s: rule %s is both expected to report and to stay silent", where, s.Rule)
		}
	}
}

// merge returns a scenario's expectations: the project's, with the
// scenario's findings added (replacing those of the same rule and object)
// and its silent rules added; a rule that the scenario expects to report
// is no longer silent.
func merge(exp *expectation, sc scenario) ([]finding, []silent) {
	byKey := map[string]finding{}
	var order []string
	for _, f := range append(append([]finding{}, exp.Findings...), sc.Findings...) {
		if _, ok := byKey[f.key()]; !ok {
			order = append(order, f.key())
		}
		byKey[f.key()] = f
	}
	fs := make([]finding, 0, len(order))
	reporting := map[string]bool{}
	for _, k := range order {
		fs = append(fs, byKey[k])
		if !byKey[k].Wrong {
			reporting[byKey[k].Rule] = true
		}
	}
	var ss []silent
	for _, s := range append(append([]silent{}, exp.Silent...), sc.Silent...) {
		if !reporting[s.Rule] {
			ss = append(ss, s)
		}
	}
	return fs, ss
}

// compare fails on a finding nobody expects, on an expected finding that is
// missing, on a severity that differs, and on any finding of a silent rule
// that is not a known wrong one. Several findings on one object by one rule
// (one per webhook of a configuration) count as one.
func compare(t *testing.T, want []finding, silents []silent, got []finding) {
	t.Helper()
	wantBy := map[string]finding{}
	for _, f := range want {
		wantBy[f.key()] = f
	}
	silentRule := map[string]string{}
	for _, s := range silents {
		silentRule[s.Rule] = s.Reason
	}
	gotBy := map[string][]finding{}
	var keys []string
	for _, f := range got {
		if _, ok := gotBy[f.key()]; !ok {
			keys = append(keys, f.key())
		}
		gotBy[f.key()] = append(gotBy[f.key()], f)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := gotBy[k][0]
		w, ok := wantBy[k]
		switch {
		case ok && w.Wrong:
			t.Logf("known wrong, being fixed: %s (%s): %s", k, g.Severity, w.Reason)
		case ok && w.Severity != g.Severity:
			t.Errorf("%s: severity %s, want %s (%s)\n  message: %s", k, g.Severity, w.Severity, w.Reason, g.Reason)
		case ok:
		case silentRule[g.Rule] != "":
			t.Errorf("rule %s must stay silent (%s), but reports %s (%s)\n  message: %s", g.Rule, silentRule[g.Rule], k, g.Severity, g.Reason)
		default:
			t.Errorf("unexpected finding %s (%s)\n  message: %s", k, g.Severity, g.Reason)
		}
	}
	for _, w := range want {
		if _, ok := gotBy[w.key()]; ok {
			continue
		}
		switch {
		case w.Wrong:
			t.Logf("known wrong finding no longer reported: %s", w.key())
		case w.Pending:
			t.Logf("expected, not reported yet: %s (%s): %s", w.key(), w.Severity, w.Reason)
		default:
			t.Errorf("missing expected finding %s (%s): %s", w.key(), w.Severity, w.Reason)
		}
	}
}

// accounted logs lint rules that a project's expectations neither expect
// nor list as silent, so a new rule shows up in every project's log.
func accounted(t *testing.T, fs []finding, ss []silent, rules map[string]policies.Rule) {
	t.Helper()
	listed := map[string]bool{}
	for _, f := range fs {
		listed[f.Rule] = true
	}
	for _, s := range ss {
		listed[s.Rule] = true
	}
	var missing []string
	for id, r := range rules {
		if !r.Live && !listed[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Logf("lint rules neither expected nor listed silent: %s", strings.Join(missing, ", "))
	}
}
