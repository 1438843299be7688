package policies

import (
	"context"
	"path/filepath"
	"testing"
)

func TestVetoes(t *testing.T) {
	e := mustEngine(t)
	if v, err := e.Vetoes(context.Background(), map[string]any{}); err != nil || v != nil {
		t.Fatalf("without a veto policy: %v, %v; want none", v, err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "veto.rego"), `package nsguard.remediation

veto contains "never in production namespaces" if input.namespace.labels.tier == "prod"

veto contains sprintf("%s needs a person", [input.action.type]) if input.action.type == "delete-apiservice"
`)
	e, err := New(context.Background(), Options{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tier, action string
		want         int
	}{
		{"prod", "remove-finalizer", 1},
		{"dev", "remove-finalizer", 0},
		{"prod", "delete-apiservice", 2},
	} {
		v, err := e.Vetoes(context.Background(), map[string]any{
			"action":    map[string]any{"type": tc.action},
			"namespace": map[string]any{"name": "shop", "labels": map[string]any{"tier": tc.tier}},
		})
		if err != nil || len(v) != tc.want {
			t.Errorf("%s/%s: vetoes %q, %v; want %d", tc.tier, tc.action, v, err, tc.want)
		}
	}
}
