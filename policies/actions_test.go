package policies

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A policy cannot make nsguard suggest or take a step outside the typed
// actions: a free-form fix, an unknown action type or a field that would
// carry a command is an evaluation error naming the rule; an action on
// what nsguard never changes is left out, and the finding says why.
func TestPoliciesCannotSneakStepsThrough(t *testing.T) {
	s := clusterSnapshot().Snapshot
	for name, tc := range map[string]struct {
		finding string
		wantErr string
	}{
		"free-form fix through the finalize subresource": {
			finding: `{"msg": "x", "object": input.objects[0].ref, "fix": "kubectl replace --raw /api/v1/namespaces/apps/finalize -f -"}`,
			wantErr: "not a free-form fix",
		},
		"unknown action type": {
			finding: `{"msg": "x", "object": input.objects[0].ref, "actions": [{"type": "shell", "object": input.objects[0].ref}]}`,
			wantErr: `unknown action type "shell"`,
		},
		"a command smuggled in an action": {
			finding: `{"msg": "x", "object": input.objects[0].ref, "actions": [{"type": "delete-object", "object": input.objects[0].ref, "command": "kubectl proxy"}]}`,
			wantErr: `unknown field "command"`,
		},
		"an action without an object": {
			finding: `{"msg": "x", "object": input.objects[0].ref, "actions": [{"type": "delete-apiservice"}]}`,
			wantErr: "has no object",
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "sneak.rego"), "package nsguard.rules.sneak\n\n# METADATA\n# custom:\n#   live: true\nfindings contains "+tc.finding+" if true\n")
			e, err := New(context.Background(), Options{PolicyDirs: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Evaluate(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "sneak") {
				t.Fatalf("evaluate: %v, want an error about rule sneak: %s", err, tc.wantErr)
			}
		})
	}

	// Typed, but outside what nsguard does: emptying the namespace's
	// spec.finalizers is not a remove-finalizer (it only patches
	// metadata.finalizers), and deleting a Namespace, a CRD or RBAC is
	// refused. Such actions are left out and the finding says why.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sneak.rego"), `package nsguard.rules.sneak

findings contains {"msg": "spec finalizer", "summary": "s", "object": ns.ref, "actions": [{"type": "remove-finalizer", "object": ns.ref, "finalizer": "kubernetes"}]} if {
	some ns in input.objects
	ns.ref.kind == "Namespace"
}

findings contains {"msg": "namespace", "summary": "n", "object": ns.ref, "actions": [{"type": "delete-object", "object": ns.ref}]} if {
	some ns in input.objects
	ns.ref.kind == "Namespace"
}
`)
	e, err := New(context.Background(), Options{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.Evaluate(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range fs {
		if f.Rule != "sneak" {
			continue
		}
		seen++
		switch f.Summary {
		case "s":
			if len(f.Actions) != 0 || !strings.Contains(f.Message, "does not carry finalizer kubernetes") {
				t.Errorf("spec finalizer: actions %v, message %q", f.Actions, f.Message)
			}
		case "n":
			if len(f.Actions) != 0 || !strings.Contains(f.Message, "nsguard does not delete namespaces") {
				t.Errorf("namespace: actions %v, message %q", f.Actions, f.Message)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d findings of rule sneak, want 2", seen)
	}
}

// Every built-in finding has a summary of at most MaxSummary characters.
func TestBuiltinSummaries(t *testing.T) {
	e := mustEngine(t)
	for _, s := range []struct {
		name string
		fs   []Finding
	}{
		{"lint", mustEvaluate(t, e, lintBundle(37).Snapshot)},
		{"cluster", mustEvaluate(t, e, clusterSnapshot().Snapshot)},
	} {
		if len(s.fs) == 0 {
			t.Fatalf("%s: no findings", s.name)
		}
		for _, f := range s.fs {
			if f.Summary == "" || len([]rune(f.Summary)) > MaxSummary || strings.Contains(f.Summary, "\n") {
				t.Errorf("%s: %s: summary %q (%d characters)", s.name, f.Rule, f.Summary, len([]rune(f.Summary)))
			}
		}
	}
}
