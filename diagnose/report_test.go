package diagnose

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/nsguard/nsguard/actions"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

const testCatalog = `
finalizers:
- id: safe-done
  name: safe.example.com/done
  project: Example
  handledBy: the example operator
  protects: nothing outside the cluster
  leaks: false
  removal: Safe once the operator is uninstalled.
- id: cloud-lb
  name: cloud.example.com/lb
  project: Example cloud
  handledBy: the example cloud controller
  protects: a cloud load balancer
  leaks: true
  removal: The load balancer stays and keeps costing; delete it in the cloud console.
- id: pvc-protection
  name: kubernetes.io/pvc-protection
  project: Kubernetes
  builtin: true
  handledBy: kube-controller-manager
  protects: a claim that a pod still mounts
  leaks: false
  removal: Delete the pods that mount the claim.
`

func testCat(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Parse([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func obj(group, version, kind, resource, ns, name string, finalizers []string, body map[string]any) *inventory.Object {
	apiVersion := version
	if group != "" {
		apiVersion = group + "/" + version
	}
	return &inventory.Object{
		Ref:      inventory.ObjectRef{ID: -1, APIVersion: apiVersion, Group: group, Version: version, Kind: kind, Resource: resource, Namespace: ns, Name: name},
		Metadata: inventory.Metadata{Name: name, Namespace: ns, Finalizers: finalizers},
		Body:     body,
	}
}

func bptr(b bool) *bool { return &b }
func iptr(i int) *int   { return &i }

// terminatingShop is a namespace stuck for several reasons at once: an
// unavailable APIService (stalls every namespace), a fail-closed webhook
// whose Service went with the namespace, finalizers whose controllers are
// gone (one safe, one unknown, one that leaks) and one whose controller is
// alive.
func terminatingShop(t *testing.T) (*inventory.Snapshot, []policies.Finding) {
	t.Helper()
	s := inventory.NewSnapshot(inventory.SourceCluster, inventory.KubeVersion{Major: 1, Minor: 37, GitVersion: "v1.37.2"})
	s.Target = "shop"
	s.Discovery = &inventory.Discovery{ResourceTypes: 42}
	nsObj := obj("", "v1", "Namespace", "namespaces", "", "shop", nil, map[string]any{
		"spec": map[string]any{"finalizers": []any{"kubernetes"}},
		"status": map[string]any{"phase": "Terminating", "conditions": []any{
			map[string]any{"type": "NamespaceDeletionDiscoveryFailure", "status": "True", "reason": "DiscoveryFailed", "message": "Discovery failed for some groups, 1 failing: metrics.k8s.io/v1beta1: stale GroupVersion discovery"},
			map[string]any{"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "SomeFinalizersRemain", "message": "Some content in the namespace has finalizers remaining"},
		}},
	})
	nsObj.Metadata.DeletionTimestamp = "2026-11-27T11:45:30Z"
	s.Add(nsObj)
	api := obj("apiregistration.k8s.io", "v1", "APIService", "apiservices", "", "v1beta1.metrics.k8s.io", nil, map[string]any{
		"spec":   map[string]any{"group": "metrics.k8s.io", "version": "v1beta1", "service": map[string]any{"namespace": "kube-system", "name": "metrics-server"}},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Available", "status": "False", "reason": "ServiceNotFound"}}},
	})
	s.Add(api)
	hook := obj("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "", "policy", nil, map[string]any{
		"webhooks": []any{map[string]any{"name": "v.policy.example.com", "failurePolicy": "Fail",
			"clientConfig": map[string]any{"service": map[string]any{"namespace": "shop", "name": "policy"}}}},
	})
	s.Add(hook)
	ctrl := obj("apps", "v1", "Deployment", "deployments", "ops", "gadget-controller", nil, map[string]any{"spec": map[string]any{"replicas": int64(1)}})
	s.Add(ctrl)
	w1 := obj("example.com", "v1", "Widget", "widgets", "shop", "w1", []string{"example.com/keep", "safe.example.com/done", "cloud.example.com/lb"}, nil)
	w1.Metadata.DeletionTimestamp = "2026-11-27T11:45:35Z"
	s.Add(w1)
	g1 := obj("example.com", "v1", "Gadget", "gadgets", "shop", "g1", []string{"alive.example.com/x"}, nil)
	s.Add(g1)
	s.Services["kube-system/metrics-server"] = &inventory.ServiceFact{Namespace: "kube-system", Name: "metrics-server", Exists: bptr(false), ReadyEndpoints: iptr(0), ObjectID: -1}
	s.Services["shop/policy"] = &inventory.ServiceFact{Namespace: "shop", Name: "policy", Exists: bptr(false), ReadyEndpoints: iptr(0), ObjectID: -1}

	absent := func(fin string) *inventory.FinalizerFact {
		return &inventory.FinalizerFact{Finalizer: fin, Namespace: "shop", Objects: []int{w1.Ref.ID}, Kinds: []string{"Widget.example.com"},
			Handlers: []*inventory.Handler{}, Liveness: inventory.LivenessAbsent,
			Evidence: []string{"no workload's service account may update Widget.example.com in namespace shop"}}
	}
	keep, done, lb := absent("example.com/keep"), absent("safe.example.com/done"), absent("cloud.example.com/lb")
	done.Catalog, lb.Catalog = "safe-done", "cloud-lb"
	alive := &inventory.FinalizerFact{Finalizer: "alive.example.com/x", Namespace: "shop", Objects: []int{g1.Ref.ID}, Kinds: []string{"Gadget.example.com"},
		Liveness: inventory.LivenessAlive, Evidence: []string{"Deployment ops/gadget-controller can remove it and is running"},
		Handlers: []*inventory.Handler{{Workload: ctrl.Ref, Namespace: "ops", ServiceAccount: "gadget-controller", Via: []string{"rbac"},
			Liveness: inventory.LivenessAlive, Evidence: []string{"Deployment ops/gadget-controller has 1 of 1 replicas ready"}}}}
	s.Finalizers = []*inventory.FinalizerFact{alive, lb, keep, done}

	cm := inventory.ObjectRef{ID: -1, APIVersion: "v1", Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "shop", Name: "settings"}
	findings := []policies.Finding{
		{Rule: "namespace-deletion-failure", Severity: "deny", Message: "Namespace shop is Terminating and the namespace controller reports NamespaceDeletionDiscoveryFailure.", Object: nsObj.Ref, Namespace: "shop"},
		{Rule: "unavailable-apiservice", Severity: "deny", Message: "APIService v1beta1.metrics.k8s.io is unavailable: no namespace in the cluster can finish its deletion.", Actions: []actions.Action{{Type: actions.DeleteAPIService, Target: actions.TargetOf(api.Ref, "")}}, Object: api.Ref, Namespace: "shop"},
		{Rule: "admission-webhook-unavailable", Severity: "deny", Message: "ValidatingWebhookConfiguration policy fails closed and its Service shop/policy does not exist.", Object: hook.Ref, Namespace: "shop"},
		{Rule: "orphaned-finalizer", Severity: "deny", Message: "Widget shop/w1 keeps finalizer example.com/keep and its controller is gone.", Object: w1.Ref, Namespace: "shop"},
		{Rule: "custom-owner", Severity: "deny", Message: "The namespace's owner must sign off its deletion: delete its settings.", Actions: []actions.Action{{Type: actions.DeleteObject, Target: actions.TargetOf(cm, "")}}, Object: nsObj.Ref, Namespace: "shop"},
		{Rule: "custom-shortcut", Severity: "deny", Message: "A shortcut someone wrote.", Actions: []actions.Action{{Type: actions.DeleteObject, Target: actions.Target{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings", Kind: "ClusterRoleBinding", Name: "guard"}}}, Object: cm, Namespace: "shop"},
		{Rule: "custom-hint", Severity: "warn", Message: "Warnings are reported, not planned for.", Actions: []actions.Action{{Type: actions.DeleteObject, Target: actions.TargetOf(cm, "")}}, Object: cm, Namespace: "shop"},
		{Rule: "other-namespace", Severity: "deny", Message: "About another namespace.", Object: inventory.ObjectRef{ID: -1, Kind: "ConfigMap", Namespace: "else", Name: "x"}, Namespace: "else"},
	}
	return s, findings
}

func TestBuildTerminating(t *testing.T) {
	s, findings := terminatingShop(t)
	r := Build(s, findings, Options{Catalog: testCat(t), Now: func() time.Time { return now }})

	if r.State != StateTerminating || r.TerminatingSeconds != 870 || !r.Blocked {
		t.Errorf("state %s for %ds, blocked %v", r.State, r.TerminatingSeconds, r.Blocked)
	}
	if len(r.Findings) != 7 {
		t.Errorf("the finding about another namespace must be left out: %d findings", len(r.Findings))
	}
	verdicts := map[string]string{}
	for _, f := range r.Finalizers {
		verdicts[f.Name] = f.Removal
	}
	wantVerdicts := map[string]string{
		"example.com/keep": RemovalCaution, "safe.example.com/done": RemovalSafe,
		"cloud.example.com/lb": RemovalUnsafe, "alive.example.com/x": RemovalUnsafe,
	}
	for k, v := range wantVerdicts {
		if verdicts[k] != v {
			t.Errorf("removal of %s: %s, want %s", k, verdicts[k], v)
		}
	}

	// Safe steps first, cluster-wide causes before the namespace's own.
	var titles []string
	for _, st := range r.Plan {
		titles = append(titles, "["+st.Safety+"] "+st.Title)
	}
	wantOrder := []string{
		"[safe] Delete APIService v1beta1.metrics.k8s.io",
		"[caution] Delete ValidatingWebhookConfiguration policy",
		"[safe] Wait for the controller of alive.example.com/x",
		"[caution] The namespace's owner must sign off its deletion",
		"[caution] A shortcut someone wrote.",
		"[safe] Remove finalizer safe.example.com/done",
		"[caution] Remove finalizer example.com/keep",
		"[unsafe] Only after cleaning up what it protects by hand, remove finalizer cloud.example.com/lb",
		"[safe] Watch shop go",
	}
	if len(titles) != len(wantOrder) {
		t.Fatalf("plan:\n%s", strings.Join(titles, "\n"))
	}
	for i, w := range wantOrder {
		if !strings.HasPrefix(titles[i], w) {
			t.Errorf("step %d = %q, want %q…", i+1, titles[i], w)
		}
	}

	// Each removal is computed against the list left by the ones before it.
	var patches []string
	for _, st := range r.Plan {
		for _, c := range st.Commands {
			if strings.HasPrefix(c, "kubectl patch widgets.example.com w1 ") {
				patches = append(patches, c)
			}
		}
	}
	wantPatches := []string{
		`kubectl patch widgets.example.com w1 -n shop --type=json -p '[{"op":"test","path":"/metadata/finalizers/1","value":"safe.example.com/done"},{"op":"remove","path":"/metadata/finalizers/1"}]'`,
		`kubectl patch widgets.example.com w1 -n shop --type=json -p '[{"op":"test","path":"/metadata/finalizers/0","value":"example.com/keep"},{"op":"remove","path":"/metadata/finalizers/0"}]'`,
		`kubectl patch widgets.example.com w1 -n shop --type=json -p '[{"op":"test","path":"/metadata/finalizers/0","value":"cloud.example.com/lb"},{"op":"remove","path":"/metadata/finalizers/0"}]'`,
	}
	if strings.Join(patches, "\n") != strings.Join(wantPatches, "\n") {
		t.Errorf("patches:\n%s\nwant:\n%s", strings.Join(patches, "\n"), strings.Join(wantPatches, "\n"))
	}

	// The custom rule's action on RBAC does not validate: it is left out,
	// and its step says so.
	for _, st := range r.Plan {
		for _, c := range st.Commands {
			if strings.Contains(c, "clusterrolebinding") {
				t.Errorf("forbidden command in the plan: %s", c)
			}
		}
		if st.Title == "A shortcut someone wrote." && (len(st.Actions) != 0 || !strings.Contains(st.Why, "nsguard does not delete")) {
			t.Errorf("step of the forbidden action: actions %v, why %q", st.Actions, st.Why)
		}
	}

	// Root cause: the cluster-wide cause first, the namespace's symptom last.
	pos := func(prefix string) int {
		for i, c := range r.RootCause {
			if strings.HasPrefix(c, prefix) {
				return i
			}
		}
		return -1
	}
	if len(r.RootCause) != 6 || pos("APIService") != 0 || pos("Namespace shop is Terminating") < pos("Widget shop/w1") {
		t.Errorf("root cause = %q", r.RootCause)
	}
}

func TestBuildActivePreflight(t *testing.T) {
	s := inventory.NewSnapshot(inventory.SourceCluster, inventory.KubeVersion{Major: 1, Minor: 37})
	s.Target = "ops"
	nsObj := obj("", "v1", "Namespace", "namespaces", "", "ops", nil, map[string]any{"status": map[string]any{"phase": "Active"}})
	s.Add(nsObj)
	op := obj("apps", "v1", "Deployment", "deployments", "ops", "operator", nil, nil)
	s.Add(op)
	w := obj("example.com", "v1", "Widget", "widgets", "ops", "w1", []string{"example.com/cleanup"}, nil)
	s.Add(w)
	s.Finalizers = []*inventory.FinalizerFact{{Finalizer: "example.com/cleanup", Namespace: "ops", Objects: []int{w.Ref.ID},
		Kinds: []string{"Widget.example.com"}, Liveness: inventory.LivenessAlive,
		Handlers: []*inventory.Handler{{Workload: op.Ref, Namespace: "ops", Via: []string{"rbac"}, Liveness: inventory.LivenessAlive}}}}
	findings := []policies.Finding{{Rule: "controller-in-namespace", Severity: "deny", Message: "Deployment ops/operator runs in the namespace whose finalizers it removes.", Object: op.Ref, Namespace: "ops"}}

	r := Build(s, findings, Options{Catalog: testCat(t), Now: func() time.Time { return now }})
	if r.State != StateActive || !r.Blocked || r.TerminatingSeconds != 0 {
		t.Errorf("state %s blocked %v", r.State, r.Blocked)
	}
	if len(r.Plan) != 2 || r.Plan[0].Commands[0] != "kubectl delete widgets.example.com --all -n ops --wait=true" ||
		r.Plan[1].Commands[0] != "kubectl nsguard diagnose ops" {
		t.Errorf("plan = %+v", r.Plan)
	}
	if !r.Finalizers[0].Controllers[0].InNamespace || r.Finalizers[0].Removal != RemovalUnsafe {
		t.Errorf("finalizer = %+v", r.Finalizers[0])
	}

	// Nothing found: no plan, not blocked.
	r = Build(s, nil, Options{Catalog: testCat(t)})
	if r.Blocked || len(r.Plan) != 0 || len(r.RootCause) != 0 {
		t.Errorf("clean namespace: blocked %v, plan %+v, root cause %q", r.Blocked, r.Plan, r.RootCause)
	}
}

func TestGoneForGood(t *testing.T) {
	in := &inventory.Handler{Namespace: "ns", Liveness: inventory.LivenessDown}
	out := &inventory.Handler{Namespace: "other", Liveness: inventory.LivenessDown}
	cases := []struct {
		name        string
		fact        inventory.FinalizerFact
		terminating bool
		want        bool
	}{
		{"absent", inventory.FinalizerFact{Liveness: inventory.LivenessAbsent}, false, true},
		{"alive", inventory.FinalizerFact{Liveness: inventory.LivenessAlive}, true, false},
		{"unknown", inventory.FinalizerFact{Liveness: inventory.LivenessUnknown}, true, false},
		{"down in the terminating namespace", inventory.FinalizerFact{Liveness: inventory.LivenessDown, Handlers: []*inventory.Handler{in}}, true, true},
		{"down in an active namespace", inventory.FinalizerFact{Liveness: inventory.LivenessDown, Handlers: []*inventory.Handler{in}}, false, false},
		{"down elsewhere", inventory.FinalizerFact{Liveness: inventory.LivenessDown, Handlers: []*inventory.Handler{in, out}}, true, false},
	}
	for _, c := range cases {
		if got := goneForGood(&c.fact, "ns", c.terminating); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNewRenderer(t *testing.T) {
	if _, err := NewRenderer("yaml", false); err == nil {
		t.Error("an unknown format must be an error")
	}
}

// TestRenderGolden checks the text (plain and coloured) and JSON output
// against testdata/; run with -update to rewrite them.
func TestRenderGolden(t *testing.T) {
	s, findings := terminatingShop(t)
	s.Complete = false
	s.Incomplete = []string{"objects of 1 resource type not listed: forbidden (secrets)"}
	r := Build(s, findings, Options{Catalog: testCat(t), Now: func() time.Time { return now }})
	for _, c := range []struct {
		file   string
		format string
		color  bool
	}{
		{"terminating.txt", "text", false},
		{"terminating.color.txt", "text", true},
		{"terminating.json", "json", false},
	} {
		rd, err := NewRenderer(c.format, c.color)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := rd.Render(&buf, r); err != nil {
			t.Fatal(err)
		}
		golden(t, c.file, buf.Bytes())
	}
	var decoded map[string]any
	var buf bytes.Buffer
	_ = JSONRenderer{}.Render(&buf, r)
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"namespace", "state", "findings", "plan", "complete", "incomplete", "rootCause", "objects", "finalizers"} {
		if _, ok := decoded[key]; !ok {
			t.Errorf("JSON report has no %q", key)
		}
	}
	if !regexp.MustCompile(`\x1b\[`).Match(mustRender(t, r, true)) || regexp.MustCompile(`\x1b\[`).Match(mustRender(t, r, false)) {
		t.Error("colour must appear when asked for, and only then")
	}
}

func mustRender(t *testing.T, r *Report, color bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&TextRenderer{Color: color, Width: 100}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diagnose -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test ./diagnose -update to accept):\n%s", path, got)
	}
}
