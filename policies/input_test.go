package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nsguard/nsguard/inventory"
)

func inputJSON(t *testing.T, s *inventory.Snapshot) any {
	t.Helper()
	v, err := InputValue(s)
	if err != nil {
		t.Fatalf("InputValue: %v", err)
	}
	raw, err := ast.JSON(v)
	if err != nil {
		t.Fatalf("input to JSON: %v", err)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func inputSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "policy-input.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parse schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("policy-input.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("policy-input.schema.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// richSnapshot uses every field of the schema.
func richSnapshot() *inventory.Snapshot {
	s := clusterSnapshot()
	s.Complete = false
	s.Incomplete = []string{"deadline reached before listing 3 resource types"}
	grace := int64(30)
	s.add("apps/v1", "ReplicaSet", "apps", "web-7d9f", inventory.Metadata{
		UID: "9f0c", GenerateName: "web-", CreationTimestamp: "2025-01-01T00:00:00Z", DeletionGracePeriodSeconds: &grace,
		Labels:          map[string]string{"app": "web"},
		OwnerReferences: []inventory.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "1a2b", Controller: true, BlockOwnerDeletion: true}},
	}, map[string]any{"spec": map[string]any{"replicas": int64(2)}, "status": map[string]any{"readyReplicas": json.Number("2")}})
	s.Services["apps/web"] = &inventory.ServiceFact{Namespace: "apps", Name: "web", Exists: ptr(false), ObjectID: -1}
	s.Finalizers[0].Handlers = []*inventory.Handler{{
		Workload: s.Objects[len(s.Objects)-1].Ref, Namespace: "apps", ServiceAccount: "web",
		Via: []string{"rbac-wildcard"}, Liveness: inventory.LivenessDown, Evidence: []string{"0 of 2 replicas ready"},
	}}
	s.Finalizers[0].Expected = []int{0}
	return s.Snapshot
}

func TestInputMatchesSchema(t *testing.T) {
	sch := inputSchema(t)
	for name, s := range map[string]*inventory.Snapshot{
		"lint":    lintBundle(37).Snapshot,
		"cluster": richSnapshot(),
		"empty":   inventory.NewSnapshot(inventory.SourceManifests, inventory.KubeVersion{}),
		"bench":   benchSnapshot(inventory.SourceManifests, 500),
	} {
		if err := sch.Validate(inputJSON(t, s)); err != nil {
			t.Errorf("%s input does not match docs/policy-input.schema.json:\n%v", name, err)
		}
	}
}

func TestSchemaRejectsDrift(t *testing.T) {
	sch := inputSchema(t)
	doc := inputJSON(t, lintBundle(37).Snapshot).(map[string]any)
	doc["surprise"] = true
	if sch.Validate(doc) == nil {
		t.Error("schema accepts an unknown top-level field")
	}
}

func TestInputShape(t *testing.T) {
	s := richSnapshot()
	doc := inputJSON(t, s).(map[string]any)
	get := func(path ...any) any {
		var v any = doc
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	last := len(s.Objects) - 1
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"target"}, "apps"},
		{[]any{"kubeVersion", "minor"}, json.Number("37")},
		{[]any{"namespaces", "apps", "labels", "kubernetes.io/metadata.name"}, "apps"},
		{[]any{"objects", last, "ref", "id"}, json.Number(strconv.Itoa(last))},
		{[]any{"objects", last, "kind"}, "ReplicaSet"},
		{[]any{"objects", last, "spec", "replicas"}, json.Number("2")},
		{[]any{"objects", last, "status", "readyReplicas"}, json.Number("2")},
		{[]any{"objects", last, "metadata", "ownerReferences", 0, "controller"}, true},
		{[]any{"objects", last, "metadata", "deletionGracePeriodSeconds"}, json.Number("30")},
		{[]any{"index", "byKind", "ReplicaSet.apps", 0, "metadata", "name"}, "web-7d9f"},
		{[]any{"index", "byFinalizer", "finalizer.keda.sh", 0, "metadata", "name"}, "worker"},
		{[]any{"index", "counts", "apps", "ScaledObject.keda.sh"}, json.Number("1")},
		{[]any{"services", "apps/web", "exists"}, false},
		{[]any{"discovery", "failedGroupVersions", 0, "groupVersion"}, "metrics.k8s.io/v1beta1"},
	} {
		if got := get(c.path...); got != c.want {
			t.Errorf("input%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	if _, ok := get("services", "kube-system/metrics-server").(map[string]any)["exists"]; !ok {
		t.Error("known exists left out")
	}
	if _, ok := get("services", "apps/web").(map[string]any)["readyEndpoints"]; ok {
		t.Error("unknown readyEndpoints present")
	}
}

func TestBodyValueTypes(t *testing.T) {
	s := newTestSnapshot(inventory.SourceManifests, 37)
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.add("v1", "Pod", "apps", "p", inventory.Metadata{}, map[string]any{
		"spec": map[string]any{
			"a": float64(1.5), "b": int64(1 << 40), "c": 7, "d": int32(-3), "e": json.Number("12"),
			"f": []string{"x"}, "g": map[string]string{"k": "v"}, "h": ts, "i": nil, "j": true,
			"k": []any{map[string]any{"l": "m"}},
		},
		"metadata": map[string]any{"name": "ignored"}, // Body may not override metadata
	})
	doc := inputJSON(t, s.Snapshot).(map[string]any)
	obj := doc["objects"].([]any)[0].(map[string]any)
	spec := obj["spec"].(map[string]any)
	want := map[string]any{
		"a": json.Number("1.5"), "b": json.Number("1099511627776"), "c": json.Number("7"), "d": json.Number("-3"),
		"e": json.Number("12"), "h": "2025-01-02T03:04:05Z", "i": nil, "j": true,
	}
	for k, v := range want {
		if spec[k] != v {
			t.Errorf("spec.%s = %#v, want %#v", k, spec[k], v)
		}
	}
	if obj["metadata"].(map[string]any)["name"] != "p" {
		t.Error("Body overrode metadata")
	}

	s.Objects[0].Body["spec"] = map[string]any{"bad": struct{}{}}
	if _, err := InputValue(s.Snapshot); err == nil || !strings.Contains(err.Error(), "unsupported value") {
		t.Errorf("unsupported value: %v", err)
	}
}

// TestInputMatchesRegoTestingHelper checks that data.nsguard.lib.testing,
// which Rego tests use to build inputs, builds what the engine builds: the
// refs, the namespaces and the index.
func TestInputMatchesRegoTestingHelper(t *testing.T) {
	s := lintBundle(37).Snapshot
	want, err := InputValue(s)
	if err != nil {
		t.Fatal(err)
	}
	// The helper's argument: the same document without what it derives.
	wantObj := want.(ast.Object)
	objs := wantObj.Get(ast.StringTerm("objects")).Value.(*ast.Array)
	var manifests []*ast.Term
	objs.Foreach(func(o *ast.Term) {
		m, _ := o.Value.(ast.Object).Filter(ast.NewObject(
			ast.Item(ast.StringTerm("apiVersion"), ast.NullTerm()),
			ast.Item(ast.StringTerm("kind"), ast.NullTerm()),
			ast.Item(ast.StringTerm("metadata"), ast.NullTerm()),
			ast.Item(ast.StringTerm("spec"), ast.NullTerm()),
			ast.Item(ast.StringTerm("webhooks"), ast.NullTerm()),
			ast.Item(ast.StringTerm("data"), ast.NullTerm()),
		))
		manifests = append(manifests, ast.NewTerm(m))
	})
	partial := ast.NewObject(
		ast.Item(ast.StringTerm("objects"), ast.ArrayTerm(manifests...)),
		ast.Item(ast.StringTerm("finalizers"), wantObj.Get(ast.StringTerm("finalizers"))),
		ast.Item(ast.StringTerm("kubeVersion"), wantObj.Get(ast.StringTerm("kubeVersion"))),
	)

	mods, err := builtinModules(true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := compile(mods)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := loadData(nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rego.New(
		rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.CallTerm(ast.RefTerm(ast.VarTerm("data"), ast.StringTerm("nsguard"), ast.StringTerm("lib"), ast.StringTerm("testing"), ast.StringTerm("snapshot")), ast.NewTerm(partial))))),
		rego.Compiler(c),
		rego.Store(storeFor(data)),
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
	).Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := rs[0].Expressions[0].Value.(*ast.Term).Value.(ast.Object)
	for _, key := range []string{"objects", "namespaces", "index", "source", "target", "kubeVersion", "finalizers", "services", "complete", "schemaVersion"} {
		g, w := got.Get(ast.StringTerm(key)), wantObj.Get(ast.StringTerm(key))
		if g == nil || w == nil || g.Value.Compare(w.Value) != 0 {
			gj, wj := termJSON(g), termJSON(w)
			t.Errorf("input.%s differs between the engine and data.nsguard.lib.testing.snapshot:\nengine: %s\nhelper: %s", key, wj, gj)
		}
	}
}

func termJSON(t *ast.Term) string {
	if t == nil {
		return "<absent>"
	}
	v, err := ast.JSON(t.Value)
	if err != nil {
		return err.Error()
	}
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}
