package policies

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsguard/nsguard/inventory"
)

// manifestSnapshot builds a lint snapshot from a manifest file the way the
// lint front end does (trim, place, analyse), without its reader.
func manifestSnapshot(t *testing.T, e *Engine, path string) *inventory.Snapshot {
	t.Helper()
	docs, err := readDataFile(path) // YAML documents as JSON-like maps
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var objs []*inventory.Object
	for _, d := range docs {
		o, err := inventory.NewObject(d)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		objs = append(objs, o)
	}
	s, err := inventory.FromManifests(objs, inventory.ManifestOptions{Catalog: e.Catalog(), Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// TestExamples checks that examples/<rule>.yaml triggers <rule> for every
// rule that runs in lint, and that examples/clean.yaml triggers nothing.
func TestExamples(t *testing.T) {
	e := mustEngine(t)
	for _, r := range e.Rules() {
		if r.Live {
			continue
		}
		t.Run(r.ID, func(t *testing.T) {
			path := filepath.Join("..", "examples", r.ID+".yaml")
			fs := mustEvaluate(t, e, manifestSnapshot(t, e, path))
			for _, f := range fs {
				if f.Rule == r.ID {
					return
				}
			}
			t.Errorf("%s does not trigger %s; findings: %+v", path, r.ID, fs)
		})
	}
	t.Run("clean", func(t *testing.T) {
		if fs := mustEvaluate(t, e, manifestSnapshot(t, e, filepath.Join("..", "examples", "clean.yaml"))); len(fs) > 0 {
			t.Errorf("examples/clean.yaml has findings: %+v", fs)
		}
	})
}

func TestCustomPolicyExample(t *testing.T) {
	dir := filepath.Join("..", "examples", "custom-policy")
	e, err := New(context.Background(), Options{PolicyDirs: []string{dir}, DataFiles: []string{filepath.Join(dir, "data.yaml")}})
	if err != nil {
		t.Fatalf("load the custom policy example: %v", err)
	}
	s := manifestSnapshot(t, e, filepath.Join(dir, "bundle.yaml"))
	got := summarize(mustEvaluate(t, e, s))
	want := []summary{
		{"team-finalizer-owner", "deny", "Cache", "sessions", "shop"},
		{"hardcoded-finalizer", "warn", "Cache", "sessions", "shop"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("findings = %+v, want %+v", got, want)
	}
	// The data file's catalog entry names the controller in the message.
	fs := mustEvaluate(t, e, s)
	if !strings.Contains(fs[1].Message, "cache-operator (team caching)") {
		t.Errorf("catalog entry from data.yaml not used: %s", fs[1].Message)
	}

	results, err := RunTests(context.Background(), TestOptions{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Errorf("ran %d tests of the example, want its 4", len(results))
	}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("%s.%s failed", r.Package, r.Name)
		}
	}
}

func TestRulesDocUpToDate(t *testing.T) {
	want := RulesMarkdown(mustEngine(t).Rules())
	got, err := os.ReadFile(filepath.Join("..", "docs", "rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("docs/rules.md is stale: run make docs (go run ./hack/gendocs)")
	}
}
