package policies

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nsguard/nsguard/inventory"
)

// lintBundle is a bundle with one case of every lint rule.
func lintBundle(minor int) *testSnapshot {
	s := newTestSnapshot(inventory.SourceManifests, minor)
	s.add("v1", "Namespace", "", "apps", inventory.Metadata{}, nil)
	op := s.add("apps/v1", "Deployment", "apps", "widget-operator", inventory.Metadata{Labels: map[string]string{"app": "widget-operator"}},
		map[string]any{"spec": map[string]any{
			"replicas": float64(1),
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "widget-operator"}}, "spec": map[string]any{"serviceAccountName": "widget-operator"}},
		}})
	w := s.add("example.com/v1", "Widget", "apps", "w1", inventory.Metadata{Finalizers: []string{"example.com/cleanup"}}, map[string]any{"spec": map[string]any{"size": int64(3)}})
	w2 := s.add("example.com/v1", "Widget", "apps", "w2", inventory.Metadata{}, nil)
	s.add("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com", inventory.Metadata{}, map[string]any{
		"spec": map[string]any{
			"group": "example.com",
			"names": map[string]any{"kind": "Widget", "plural": "widgets"},
			"scope": "Namespaced",
			"conversion": map[string]any{"strategy": "Webhook", "webhook": map[string]any{
				"clientConfig":             map[string]any{"service": map[string]any{"namespace": "apps", "name": "widget-webhook", "port": int64(443)}},
				"conversionReviewVersions": []any{"v1"},
			}},
		},
	})
	s.add("apiregistration.k8s.io/v1", "APIService", "", "v1beta1.metrics.k8s.io", inventory.Metadata{}, map[string]any{
		"spec": map[string]any{"group": "metrics.k8s.io", "version": "v1beta1", "service": map[string]any{"namespace": "monitoring", "name": "metrics-server"}},
	})
	s.add("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", "policy", inventory.Metadata{}, map[string]any{
		"webhooks": []any{map[string]any{
			"name":         "validate.policy.example.com",
			"clientConfig": map[string]any{"service": map[string]any{"namespace": "policy", "name": "policy-webhook"}},
			"rules":        []any{map[string]any{"apiGroups": []any{"*"}, "apiVersions": []any{"*"}, "operations": []any{"DELETE"}, "resources": []any{"*"}}},
		}},
	})
	s.add("v1", "Namespace", "", "team", inventory.Metadata{}, map[string]any{"spec": map[string]any{"finalizers": []any{"kubernetes", "example.com/ns-cleanup"}}})
	s.add("v1", "ConfigMap", "apps", "settings", inventory.Metadata{Annotations: map[string]string{WaiverPrefix + "hardcoded-finalizer": " "}}, map[string]any{"data": nil})
	s.Finalizers = []*inventory.FinalizerFact{{
		Finalizer: "example.com/cleanup",
		Namespace: "apps",
		Objects:   []int{w.Ref.ID},
		Expected:  []int{w2.Ref.ID},
		Kinds:     []string{"Widget.example.com"},
		Handlers: []*inventory.Handler{{
			Workload: op.Ref, Namespace: "apps", ServiceAccount: "widget-operator",
			Via: []string{"rbac"}, Liveness: inventory.LivenessUnknown,
		}},
		Liveness: inventory.LivenessUnknown,
	}}
	return s
}

func TestEvaluateLintBundle(t *testing.T) {
	e := mustEngine(t)
	got := summarize(mustEvaluate(t, e, lintBundle(37).Snapshot))
	want := []summary{
		{"conversion-webhook-in-namespace", "deny", "CustomResourceDefinition", "widgets.example.com", "apps"},
		{"controller-in-namespace", "deny", "Deployment", "widget-operator", "apps"},
		{"apiservice-in-namespace", "deny", "APIService", "v1beta1.metrics.k8s.io", "monitoring"},
		{"admission-webhook-in-namespace", "deny", "ValidatingWebhookConfiguration", "policy", "policy"},
		{"namespace-spec-finalizer", "deny", "Namespace", "team", "team"},
		{"waiver-without-reason", "warn", "ConfigMap", "settings", "apps"},
		{"hardcoded-finalizer", "warn", "Widget", "w1", "apps"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %+v\nwant %+v", got, want)
	}
}

func TestControllerInNamespaceBefore134IsAWarning(t *testing.T) {
	e := mustEngine(t)
	for _, f := range mustEvaluate(t, e, lintBundle(33).Snapshot) {
		if f.Rule == "controller-in-namespace" {
			if f.Severity != SeverityWarn {
				t.Errorf("severity on 1.33 = %s, want warn", f.Severity)
			}
			if !strings.Contains(f.Message, "races") {
				t.Errorf("message does not explain the race: %s", f.Message)
			}
			if got := strings.Join(f.Commands(), "\n"); got != "kubectl delete widgets.example.com --all -n apps --wait=true" {
				t.Errorf("fix = %q", got)
			}
			return
		}
	}
	t.Fatal("controller-in-namespace did not fire")
}

func TestFindingFields(t *testing.T) {
	e := mustEngine(t)
	for _, f := range mustEvaluate(t, e, lintBundle(37).Snapshot) {
		if f.Rule != "apiservice-in-namespace" {
			continue
		}
		want := inventory.ObjectRef{ID: 5, APIVersion: "apiregistration.k8s.io/v1", Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService", Name: "v1beta1.metrics.k8s.io"}
		if f.Object != want {
			t.Errorf("object = %+v, want %+v", f.Object, want)
		}
		if got := strings.Join(f.Commands(), "\n"); got != "kubectl delete apiservices.apiregistration.k8s.io v1beta1.metrics.k8s.io" {
			t.Errorf("fix = %q", got)
		}
		return
	}
	t.Fatal("apiservice-in-namespace did not fire")
}

func TestWaivers(t *testing.T) {
	e := mustEngine(t)
	s := lintBundle(37)
	// A reason waives; the CRD's conversion finding goes.
	s.Objects[4].Metadata.Annotations = map[string]string{WaiverPrefix + "conversion-webhook-in-namespace": "the webhook moves to a system namespace before teardown"}
	// A waiver of another rule does not waive this one.
	s.Objects[5].Metadata.Annotations = map[string]string{WaiverPrefix + "hardcoded-finalizer": "not this rule"}
	// An empty reason does not waive and is itself a finding.
	s.Objects[6].Metadata.Annotations = map[string]string{WaiverPrefix + "admission-webhook-in-namespace": ""}
	got := mustEvaluate(t, e, s.Snapshot)
	rules := map[string]int{}
	for _, f := range got {
		rules[f.Rule]++
	}
	if rules["conversion-webhook-in-namespace"] != 0 {
		t.Error("a waiver with a reason did not waive")
	}
	if rules["apiservice-in-namespace"] != 1 {
		t.Error("a waiver of another rule waived apiservice-in-namespace")
	}
	if rules["admission-webhook-in-namespace"] != 1 {
		t.Error("a waiver without reason waived")
	}
	if rules["waiver-without-reason"] != 2 {
		t.Errorf("waiver-without-reason fired %d times, want 2", rules["waiver-without-reason"])
	}
}

func TestLiveRulesNeverRunInLint(t *testing.T) {
	e := mustEngine(t)
	s := clusterSnapshot()
	s.Source = inventory.SourceManifests
	for _, f := range mustEvaluate(t, e, s.Snapshot) {
		for _, r := range e.Rules() {
			if r.ID == f.Rule && r.Live {
				t.Errorf("live rule %s fired in lint: %s", f.Rule, f.Message)
			}
		}
	}
}

// clusterSnapshot is a terminating namespace with every live cause.
func clusterSnapshot() *testSnapshot {
	s := newTestSnapshot(inventory.SourceCluster, 37)
	s.Target = "apps"
	ns := s.add("v1", "Namespace", "", "apps", inventory.Metadata{DeletionTimestamp: "2025-01-01T00:00:00Z"}, map[string]any{
		"spec": map[string]any{"finalizers": []any{"kubernetes"}},
	})
	n := s.Namespaces["apps"]
	n.Phase, n.DeletionTimestamp = "Terminating", ns.Metadata.DeletionTimestamp
	n.Conditions = []inventory.Condition{
		{Type: "NamespaceDeletionDiscoveryFailure", Status: "True", Reason: "DiscoveryFailed", Message: "Discovery failed for some groups, 1 failing: metrics.k8s.io/v1beta1: stale GroupVersion discovery"},
		{Type: "NamespaceFinalizersRemaining", Status: "True", Message: "Some content in the namespace has finalizers remaining: keda in 1 resource instances"},
	}
	so := s.add("keda.sh/v1alpha1", "ScaledObject", "apps", "worker", inventory.Metadata{Finalizers: []string{"finalizer.keda.sh"}, DeletionTimestamp: "2025-01-01T00:00:05Z"}, nil)
	s.Objects[so.Ref.ID].Ref.Resource = "scaledobjects"
	s.add("apiregistration.k8s.io/v1", "APIService", "", "v1beta1.metrics.k8s.io", inventory.Metadata{}, map[string]any{
		"spec":   map[string]any{"group": "metrics.k8s.io", "version": "v1beta1", "service": map[string]any{"namespace": "kube-system", "name": "metrics-server"}},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Available", "status": "False", "reason": "MissingEndpoints"}}},
	})
	s.Discovery = &inventory.Discovery{ResourceTypes: 90, FailedGroupVersions: []inventory.FailedGroupVersion{{GroupVersion: "metrics.k8s.io/v1beta1", Error: "stale GroupVersion discovery"}}}
	s.Services["kube-system/metrics-server"] = &inventory.ServiceFact{Namespace: "kube-system", Name: "metrics-server", Exists: ptr(true), ReadyEndpoints: ptr(0), ObjectID: -1}
	s.Finalizers = []*inventory.FinalizerFact{{
		Finalizer: "finalizer.keda.sh", Namespace: "apps", Objects: []int{so.Ref.ID}, Kinds: []string{"ScaledObject.keda.sh"},
		Catalog: "keda", Liveness: inventory.LivenessAbsent,
		Evidence: []string{"no workload matches app=keda-operator", "Lease keda/operator.keda.sh last renewed 2h ago"},
	}}
	return s
}

func TestEvaluateCluster(t *testing.T) {
	e := mustEngine(t)
	fs := mustEvaluate(t, e, clusterSnapshot().Snapshot)
	got := summarize(fs)
	want := []summary{
		{"namespace-deletion-failure", "deny", "Namespace", "apps", "apps"},
		{"unavailable-apiservice", "deny", "APIService", "v1beta1.metrics.k8s.io", "apps"},
		{"orphaned-finalizer", "deny", "ScaledObject", "worker", "apps"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("findings:\n got %+v\nwant %+v", got, want)
	}
	orphan := fs[2]
	wantFix := `kubectl patch scaledobjects.keda.sh worker -n apps --type=json -p '[{"op":"test","path":"/metadata/finalizers/0","value":"finalizer.keda.sh"},{"op":"remove","path":"/metadata/finalizers/0"}]'`
	if got := strings.Join(orphan.Commands(), "\n"); got != wantFix {
		t.Errorf("orphaned-finalizer fix:\n got %s\nwant %s", got, wantFix)
	}
	if !strings.Contains(fs[1].Message, "every namespace in the cluster") {
		t.Errorf("unavailable-apiservice does not say it stalls every namespace: %s", fs[1].Message)
	}
}

func TestRules(t *testing.T) {
	e := mustEngine(t)
	live := map[string]bool{}
	for _, r := range e.Rules() {
		live[r.ID] = r.Live
		if !r.Builtin || r.Title == "" || r.Description == "" || (r.Severity != SeverityDeny && r.Severity != SeverityWarn) {
			t.Errorf("incomplete rule metadata: %+v", r)
		}
		if !strings.HasPrefix(r.File, "policies/") {
			t.Errorf("%s: file %q", r.ID, r.File)
		}
	}
	for id, wantLive := range map[string]bool{
		"controller-in-namespace":         false,
		"conversion-webhook-in-namespace": false,
		"apiservice-in-namespace":         false,
		"admission-webhook-in-namespace":  false,
		"hardcoded-finalizer":             false,
		"namespace-spec-finalizer":        false,
		"waiver-without-reason":           false,
		"large-namespace":                 true,
		"controller-not-running":          true,
		"orphaned-finalizer":              true,
		"unavailable-apiservice":          true,
		"conversion-webhook-unavailable":  true,
		"admission-webhook-unavailable":   true,
		"namespace-deletion-failure":      true,
		"crd-deleted-before-resources":    true,
	} {
		got, ok := live[id]
		if !ok {
			t.Errorf("rule %s missing", id)
		} else if got != wantLive {
			t.Errorf("rule %s: live = %v, want %v", id, got, wantLive)
		}
	}
	ids := make([]string, 0, len(live))
	for _, r := range e.Rules() {
		ids = append(ids, r.ID)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("rules not sorted: %v", ids)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const teamPolicy = `# METADATA
# title: Team finalizers need an owner
# description: Objects with an acme.example.com finalizer must name their owning team.
# custom:
#   id: team-finalizer-owner
#   severity: warn
package nsguard.rules.acme.team_finalizer_owner

import data.nsguard.lib.k8s

findings contains f if {
	some obj in input.index.withFinalizers
	some x in obj.metadata.finalizers
	startswith(x, data.acme.prefix)
	not obj.metadata.labels.team
	f := {"msg": sprintf("%s: finalizer %s without a team label (%s)", [k8s.describe(obj.ref), x, data.nsguard.catalog.finalizers[count(data.nsguard.catalog.finalizers) - 1].project]), "object": obj.ref, "namespace": obj.ref.namespace}
}
`

func TestUserPolicyAndData(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "policies", "acme", "team.rego"), teamPolicy)
	// Tests and broken test files are not evaluated.
	writeFile(t, filepath.Join(dir, "policies", "acme", "team_test.rego"), "package x\n\ntest_broken if {\n")
	// Without metadata: id from the package, severity deny.
	writeFile(t, filepath.Join(dir, "policies", "plain.rego"), `package nsguard.rules.no_plain_configmaps

findings contains {"msg": "plain", "object": obj.ref} if {
	some obj in input.index.byKind.ConfigMap
	obj.metadata.name == "plain"
}
`)
	writeFile(t, filepath.Join(dir, "data.yaml"), `acme:
  prefix: acme.example.com/
---
nsguard:
  catalog:
    finalizers:
      - id: acme-cleanup
        name: acme.example.com/cleanup
        project: ACME platform
        handledBy: acme-operator
        protects: ACME records
        leaks: false
        removal: Safe.
      - id: kubernetes-orphan
        name: orphan
        project: Kubernetes (overridden)
        builtin: true
        handledBy: garbage collector
        protects: nothing
        leaks: false
        removal: Safe.
`)
	e, err := New(context.Background(), Options{PolicyDirs: []string{filepath.Join(dir, "policies")}, DataFiles: []string{filepath.Join(dir, "data.yaml")}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var team, plain *Rule
	for _, r := range e.Rules() {
		switch r.ID {
		case "team-finalizer-owner":
			team = &r
		case "no-plain-configmaps":
			plain = &r
		}
	}
	if team == nil || team.Severity != SeverityWarn || team.Builtin || team.Package != "nsguard.rules.acme.team_finalizer_owner" {
		t.Errorf("team rule = %+v", team)
	}
	if plain == nil || plain.Severity != SeverityDeny || plain.Title != "no-plain-configmaps" {
		t.Errorf("rule without metadata = %+v", plain)
	}
	cat := e.Catalog()
	if x := cat.Lookup("acme.example.com/cleanup"); x == nil || x.ID != "acme-cleanup" {
		t.Errorf("catalog not extended: %+v", x)
	}
	if x := cat.Lookup("orphan"); x == nil || x.Project != "Kubernetes (overridden)" {
		t.Errorf("catalog entry not overridden: %+v", x)
	}

	s := newTestSnapshot(inventory.SourceManifests, 37)
	s.add("v1", "ConfigMap", "apps", "plain", inventory.Metadata{}, nil)
	s.add("v1", "ConfigMap", "apps", "x", inventory.Metadata{Finalizers: []string{"acme.example.com/cleanup"}}, nil)
	got := summarize(mustEvaluate(t, e, s.Snapshot))
	want := []summary{
		{"no-plain-configmaps", "deny", "ConfigMap", "plain", ""},
		{"hardcoded-finalizer", "warn", "ConfigMap", "x", "apps"},
		{"team-finalizer-owner", "warn", "ConfigMap", "x", "apps"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %+v\nwant %+v", got, want)
	}
}

func TestCompileErrorNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.rego")
	writeFile(t, bad, "package nsguard.rules.bad\n\nfindings contains f if {\n\tf := undefined_function(1)\n}\n")
	_, err := New(context.Background(), Options{PolicyDirs: []string{dir}})
	if err == nil {
		t.Fatal("New accepted a policy that does not compile")
	}
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Errorf("error is %T, want *CompileError", err)
	}
	if !strings.Contains(err.Error(), bad+":4: ") {
		t.Errorf("error does not name %s:4: %v", bad, err)
	}

	syntax := filepath.Join(dir, "syntax.rego")
	writeFile(t, syntax, "package nsguard.rules.syntax\n\nfindings contains f if {\n\tf := [1,, 2]\n}\n")
	_, err = New(context.Background(), Options{PolicyDirs: []string{syntax}})
	if err == nil || !strings.Contains(err.Error(), syntax+":4: rego_parse_error") {
		t.Errorf("parse error does not name %s:4: %v", syntax, err)
	}
}

func TestMetadataValidation(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "sev.rego")
	writeFile(t, f, "# METADATA\n# title: x\n# custom:\n#   severity: error\npackage nsguard.rules.sev\n\nfindings contains {\"msg\": \"x\"} if false\n")
	_, err := New(context.Background(), Options{PolicyDirs: []string{dir}})
	if err == nil || !strings.Contains(err.Error(), f+":1: custom.severity must be deny or warn") {
		t.Errorf("bad severity: %v", err)
	}

	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "dup.rego"), "# METADATA\n# custom:\n#   id: hardcoded-finalizer\npackage nsguard.rules.dup\n\nfindings contains {\"msg\": \"x\"} if false\n")
	_, err = New(context.Background(), Options{PolicyDirs: []string{dir}})
	if err == nil || !strings.Contains(err.Error(), `rule id "hardcoded-finalizer" is already used`) {
		t.Errorf("duplicate id: %v", err)
	}
}

func TestBadFindingIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "nomsg.rego"), "package nsguard.rules.nomsg\n\nfindings contains {\"object\": input.objects[0].ref} if count(input.objects) > 0\n")
	e, err := New(context.Background(), Options{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSnapshot(inventory.SourceManifests, 37)
	s.add("v1", "ConfigMap", "apps", "c", inventory.Metadata{}, nil)
	_, err = e.Evaluate(context.Background(), s.Snapshot)
	if err == nil || !strings.Contains(err.Error(), "rule nomsg") || !strings.Contains(err.Error(), "without msg") {
		t.Errorf("finding without msg: %v", err)
	}
}

func TestMissingPolicyDirAndDataFile(t *testing.T) {
	if _, err := New(context.Background(), Options{PolicyDirs: []string{"/does/not/exist"}}); err == nil {
		t.Error("missing policy directory accepted")
	}
	if _, err := New(context.Background(), Options{DataFiles: []string{"/does/not/exist.yaml"}}); err == nil {
		t.Error("missing data file accepted")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "cat.yaml")
	writeFile(t, bad, "nsguard:\n  catalog:\n    finalizers:\n      - id: x\n        nam: typo\n")
	if _, err := New(context.Background(), Options{DataFiles: []string{bad}}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("catalog entry with an unknown field: %v", err)
	}
}

func TestSortFindings(t *testing.T) {
	fs := []Finding{
		{Rule: "b", Severity: "warn", Namespace: "a", Message: "1"},
		{Rule: "b", Severity: "deny", Namespace: "b", Message: "1"},
		{Rule: "a", Severity: "deny", Namespace: "b", Message: "1"},
		{Rule: "a", Severity: "deny", Namespace: "a", Object: inventory.ObjectRef{Kind: "Z"}},
		{Rule: "a", Severity: "deny", Namespace: "a", Object: inventory.ObjectRef{Kind: "A"}},
	}
	SortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Severity+"/"+f.Namespace+"/"+f.Object.Kind+"/"+f.Rule)
	}
	want := []string{"deny/a/A/a", "deny/a/Z/a", "deny/b//a", "deny/b//b", "warn/a//b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted = %v, want %v", got, want)
	}
}

func TestEvaluateIsSafeForConcurrentUse(t *testing.T) {
	e := mustEngine(t)
	s := lintBundle(37).Snapshot
	want := mustEvaluate(t, e, s)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := e.Evaluate(context.Background(), s)
			if err == nil && !reflect.DeepEqual(got, want) {
				err = errors.New("different findings")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestUserFileWithBuiltinPath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// The source tree itself: the same files are skipped.
	src, err := builtinFS.ReadFile("lib/k8s.rego")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "policies", "lib", "k8s.rego"), string(src))
	if _, err := New(context.Background(), Options{PolicyDirs: []string{"policies"}}); err != nil {
		t.Errorf("the built-in file itself: %v", err)
	}
	// A different file would replace a built-in one: an error.
	writeFile(t, filepath.Join(dir, "policies", "lib", "k8s.rego"), "package mine\n")
	if _, err := New(context.Background(), Options{PolicyDirs: []string{"policies"}}); err == nil || !strings.Contains(err.Error(), "path of a built-in policy") {
		t.Errorf("shadowing file: %v", err)
	}
}
