package policies

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nsguard/nsguard/inventory"
)

// testSnapshot builds snapshots by hand, the way the inventory does: refs
// get their index as ID and namespaces are registered from the objects.
type testSnapshot struct {
	*inventory.Snapshot
}

func newTestSnapshot(source string, minor int) *testSnapshot {
	s := inventory.NewSnapshot(source, inventory.KubeVersion{Major: 1, Minor: minor, GitVersion: "v1." + strconv.Itoa(minor) + ".0"})
	return &testSnapshot{s}
}

// add appends an object; body keys are merged at the top level in Rego.
func (t *testSnapshot) add(apiVersion, kind, ns, name string, meta inventory.Metadata, body map[string]any) *inventory.Object {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "", apiVersion
	}
	meta.Name, meta.Namespace = name, ns
	o := &inventory.Object{
		Ref: inventory.ObjectRef{
			ID: len(t.Objects), APIVersion: apiVersion, Group: group, Version: version,
			Kind: kind, Namespace: ns, Name: name,
		},
		Metadata: meta,
		Body:     body,
	}
	t.Objects = append(t.Objects, o)
	if ns != "" {
		t.namespace(ns)
	}
	if kind == "Namespace" && group == "" {
		n := t.namespace(name)
		n.Declared, n.ObjectID, n.Labels = true, o.Ref.ID, meta.Labels
	}
	return o
}

func (t *testSnapshot) namespace(name string) *inventory.Namespace {
	n := t.Namespaces[name]
	if n == nil {
		n = &inventory.Namespace{Name: name, Deletable: !inventory.ImmortalNamespaces[name], ObjectID: -1}
		t.Namespaces[name] = n
	}
	return n
}

// builtinEngine is compiled once for the package's tests.
var builtinEngine = sync.OnceValues(func() (*Engine, error) {
	return New(context.Background(), Options{})
})

func mustEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := builtinEngine()
	if err != nil {
		t.Fatalf("compile built-in policies: %v", err)
	}
	return e
}

func mustEvaluate(t testing.TB, e *Engine, s *inventory.Snapshot) []Finding {
	t.Helper()
	fs, err := e.Evaluate(context.Background(), s)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return fs
}

// summary is a finding reduced to what tests compare.
type summary struct {
	Rule, Severity, Kind, Name, Namespace string
}

func summarize(fs []Finding) []summary {
	out := make([]summary, len(fs))
	for i, f := range fs {
		out[i] = summary{f.Rule, f.Severity, f.Object.Kind, f.Object.Name, f.Namespace}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
