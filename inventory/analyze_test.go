package inventory

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsguard/nsguard/policies/catalog"
	"sigs.k8s.io/yaml"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

const testCatalog = `
finalizers:
  - id: example-widgets
    name: widgets.example.com/cleanup
    project: Example
    handledBy: the widget operator
    controller:
      workloadLabels:
        - app.kubernetes.io/name: widget-operator
      leases: [widgets.example.com]
    addedTo:
      - {group: example.com, kind: Widget}
    protects: the widget's cloud resources
    leaks: true
    removal: leaks the cloud resources
  - id: kubernetes-pvc-protection
    name: kubernetes.io/pvc-protection
    project: Kubernetes
    builtin: true
    handledBy: kube-controller-manager
    protects: a claim in use
    leaks: false
    removal: safe once unused
`

func mustCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Parse([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// snapshotOf builds a snapshot from YAML documents separated by "---".
func snapshotOf(t *testing.T, source string, docs string) *Snapshot {
	t.Helper()
	s := NewSnapshot(source, KubeVersion{Major: 1, Minor: 37})
	m := NewMapper()
	for _, doc := range strings.Split(docs, "\n---\n") {
		var u map[string]any
		if err := yaml.Unmarshal([]byte(doc), &u); err != nil {
			t.Fatalf("bad test YAML: %v\n%s", err, doc)
		}
		o, err := NewObject(u)
		if err != nil {
			t.Fatal(err)
		}
		m.AddCRD(o)
		o.Ref.Resource, _, _ = m.Lookup(o.Ref.Group, o.Ref.Kind)
		s.Add(o)
	}
	return s
}

const operatorRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: widget-operator, namespace: widgets}
rules:
  - apiGroups: [example.com]
    resources: [widgets]
    verbs: [get, list, watch, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: widget-operator, namespace: widgets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: widget-operator}
subjects:
  - {kind: ServiceAccount, name: widget-operator}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: widgets
  finalizers: [widgets.example.com/cleanup]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2, namespace: widgets}`

func operator(replicas, ready int) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: widget-operator
  namespace: widgets
  labels: {app.kubernetes.io/name: widget-operator}
spec:
  replicas: ` + strconv.Itoa(replicas) + `
  template:
    metadata:
      labels: {app: widget-operator}
    spec:
      serviceAccountName: widget-operator
status:
  readyReplicas: ` + strconv.Itoa(ready)
}

// analyzedFact analyzes the snapshot of docs and returns its one fact, about
// finalizer.
func analyzedFact(t *testing.T, source, docs, finalizer string) *FinalizerFact {
	t.Helper()
	s := snapshotOf(t, source, docs)
	Analyze(s, mustCatalog(t), testNow)
	return onlyFact(t, s, finalizer)
}

func onlyFact(t *testing.T, s *Snapshot, finalizer string) *FinalizerFact {
	t.Helper()
	for _, f := range s.Finalizers {
		if f.Finalizer == finalizer {
			return f
		}
	}
	t.Fatalf("no fact for %s in %+v", finalizer, s.Finalizers)
	return nil
}

func TestAnalyzeFindsControllerByCatalogAndRBAC(t *testing.T) {
	f := analyzedFact(t, SourceManifests, operatorRBAC+"\n---\n"+operator(1, 0), "widgets.example.com/cleanup")
	if f.Namespace != "widgets" || f.Catalog != "example-widgets" || f.Builtin {
		t.Errorf("fact = %+v", f)
	}
	if len(f.Objects) != 1 || len(f.Expected) != 1 {
		t.Errorf("objects %v expected %v, want one carrying and one that will get it", f.Objects, f.Expected)
	}
	if len(f.Handlers) != 1 {
		t.Fatalf("handlers = %+v", f.Handlers)
	}
	h := f.Handlers[0]
	if h.Workload.Name != "widget-operator" || h.Namespace != "widgets" || h.ServiceAccount != "widget-operator" {
		t.Errorf("handler = %+v", h)
	}
	if strings.Join(h.Via, ",") != "catalog,rbac" {
		t.Errorf("via = %v", h.Via)
	}
	if f.Liveness != LivenessUnknown || h.Liveness != LivenessUnknown {
		t.Errorf("lint must not conclude liveness: %s/%s", f.Liveness, h.Liveness)
	}
	if f.Kinds[0] != "Widget.example.com" {
		t.Errorf("kinds = %v", f.Kinds)
	}
}

func TestAnalyzeLiveness(t *testing.T) {
	cases := []struct {
		name     string
		docs     string
		liveness string
		evidence string
	}{
		{"ready operator", operatorRBAC + "\n---\n" + operator(1, 1), LivenessAlive, "has 1 of 1 replicas ready"},
		{"scaled to zero", operatorRBAC + "\n---\n" + operator(0, 0), LivenessDown, "scaled to 0"},
		{"crashing", operatorRBAC + "\n---\n" + operator(2, 0), LivenessDown, "0 of 2 replicas ready"},
		{"uninstalled", operatorRBAC, LivenessAbsent, "no workload in the cluster matches the catalog's description of the widget operator"},
		{"fresh lease, no workload", operatorRBAC + "\n---\n" + lease("widgets.example.com", "other-host_1", testNow.Add(-5*time.Second)), LivenessAlive, "renewed 5s ago"},
		{"stale lease, no workload", operatorRBAC + "\n---\n" + lease("widgets.example.com", "gone_1", testNow.Add(-2*time.Hour)), LivenessAbsent, "its holder is gone"},
		{"ready but lost its lease", operatorRBAC + "\n---\n" + operator(1, 1) + "\n---\n" + operatorPod("widget-operator", "5d8f", "abcde", "widget-operator", true) + "\n---\n" + lease("other", "widget-operator-5d8f-abcde_1", testNow.Add(-time.Hour)), LivenessDown, "last renewed 1h0m0s ago"},
		{"external user", operatorRBAC + "\n---\n" + userBinding, LivenessUnknown, "user alice may update widgets.example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := analyzedFact(t, SourceCluster, tc.docs, "widgets.example.com/cleanup")
			all := strings.Join(f.Evidence, "\n")
			for _, h := range f.Handlers {
				all += "\n" + strings.Join(h.Evidence, "\n")
			}
			if f.Liveness != tc.liveness {
				t.Errorf("liveness = %s, want %s; evidence:\n%s", f.Liveness, tc.liveness, all)
			}
			if !strings.Contains(all, tc.evidence) {
				t.Errorf("evidence lacks %q:\n%s", tc.evidence, all)
			}
		})
	}
}

func lease(name, holder string, renewed time.Time) string {
	return `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: ` + name + `, namespace: widgets}
spec:
  holderIdentity: ` + holder + `
  leaseDurationSeconds: 15
  renewTime: "` + renewed.Format(time.RFC3339Nano) + `"`
}

const userBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice, namespace: widgets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: widget-operator}
subjects:
  - {kind: User, name: alice}`

func TestAnalyzeWildcardRBACIsWeakEvidence(t *testing.T) {
	docs := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}
subjects:
  - {kind: ServiceAccount, name: runner, namespace: ci}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: runner, namespace: ci}
spec:
  template:
    spec: {serviceAccountName: runner}
status: {readyReplicas: 1}
---
apiVersion: example.com/v1
kind: Gadget
metadata:
  name: g1
  namespace: widgets
  finalizers: [gadgets.example.com/finalizer]`
	f := analyzedFact(t, SourceCluster, docs, "gadgets.example.com/finalizer")
	if len(f.Handlers) != 1 || f.Handlers[0].Via[0] != ViaRBACWildcard {
		t.Fatalf("handlers = %+v", f.Handlers)
	}
	if f.Liveness != LivenessAbsent {
		t.Errorf("a running cluster-admin workload must not make the finalizer look handled: %s %v", f.Liveness, f.Evidence)
	}
}

func TestAnalyzeAggregatedClusterRole(t *testing.T) {
	docs := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widget-edit}
aggregationRule:
  clusterRoleSelectors:
    - matchLabels: {widgets.example.com/aggregate: "true"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widget-edit-rules
  labels: {widgets.example.com/aggregate: "true"}
rules:
  - apiGroups: [example.com]
    resources: [widgets]
    verbs: [patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: widget-edit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: widget-edit}
subjects:
  - {kind: ServiceAccount, name: op, namespace: ops}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: op, namespace: ops}
spec:
  template:
    spec: {serviceAccountName: op}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: widgets
  finalizers: [widgets.example.com/cleanup]`
	f := analyzedFact(t, SourceManifests, docs, "widgets.example.com/cleanup")
	if len(f.Handlers) != 1 || f.Handlers[0].Namespace != "ops" || f.Handlers[0].Via[0] != ViaRBAC {
		t.Fatalf("handlers = %+v", f.Handlers)
	}
}

func TestAnalyzeBuiltinFinalizer(t *testing.T) {
	docs := `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: app
  finalizers: [kubernetes.io/pvc-protection]`
	f := analyzedFact(t, SourceCluster, docs, "kubernetes.io/pvc-protection")
	if !f.Builtin || len(f.Handlers) != 0 || f.Liveness != LivenessUnknown {
		t.Errorf("fact = %+v", f)
	}
}

func TestNewObjectTrims(t *testing.T) {
	var u map[string]any
	doc := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: "{}"
    team: a
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  conversion:
    strategy: Webhook
    webhook:
      clientConfig:
        caBundle: AAAA
        service: {name: conv, namespace: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object}}`
	if err := yaml.Unmarshal([]byte(doc), &u); err != nil {
		t.Fatal(err)
	}
	o, err := NewObject(u)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := o.Metadata.Annotations[lastApplied]; ok || o.Metadata.Annotations["team"] != "a" {
		t.Errorf("annotations = %v", o.Metadata.Annotations)
	}
	spec := o.Body["spec"].(map[string]any)
	cc := spec["conversion"].(map[string]any)["webhook"].(map[string]any)["clientConfig"].(map[string]any)
	if _, ok := cc["caBundle"]; ok || cc["service"] == nil {
		t.Errorf("clientConfig = %v", cc)
	}
	if v := spec["versions"].([]any)[0].(map[string]any); v["schema"] != nil || v["name"] != "v1" {
		t.Errorf("versions = %v", v)
	}
	// The input must not be modified.
	if u["spec"].(map[string]any)["conversion"].(map[string]any)["webhook"].(map[string]any)["clientConfig"].(map[string]any)["caBundle"] != "AAAA" {
		t.Error("NewObject modified its input")
	}
	if _, err := NewObject(map[string]any{"kind": "Pod"}); err == nil || !strings.Contains(err.Error(), "no apiVersion") {
		t.Errorf("err = %v", err)
	}
}

func TestAnalyzeIncompleteControllerFactsNeverConcludeAbsent(t *testing.T) {
	s := snapshotOf(t, SourceCluster, operatorRBAC)
	s.Complete = false // e.g. an unavailable APIService: no effect on liveness
	Analyze(s, mustCatalog(t), testNow)
	if f := onlyFact(t, s, "widgets.example.com/cleanup"); f.Liveness != LivenessAbsent {
		t.Errorf("an unrelated gap changed liveness to %s", f.Liveness)
	}
	s = snapshotOf(t, SourceCluster, operatorRBAC)
	s.ControllerFactsIncomplete = true // e.g. Deployments could not be listed
	Analyze(s, mustCatalog(t), testNow)
	if f := onlyFact(t, s, "widgets.example.com/cleanup"); f.Liveness != LivenessUnknown {
		t.Errorf("liveness = %s with workloads unread, want unknown", f.Liveness)
	}
}

func TestKindsWords(t *testing.T) {
	for _, c := range []struct {
		kinds []string
		want  string
	}{
		{[]string{"Widget.example.com"}, "Widget.example.com"},
		{[]string{"A.x", "B.x", "C.x", "D.x"}, "A.x, B.x, C.x, D.x"},
		{[]string{"A.x", "B.x", "C.x", "D.x", "E.x"}, "any of 5 kinds (A.x, B.x, C.x and 2 more)"},
	} {
		if got := kindsWords(c.kinds); got != c.want {
			t.Errorf("kindsWords(%q) = %q, want %q", c.kinds, got, c.want)
		}
	}
}
