package policies

import (
	"context"
	"fmt"
	"testing"

	"github.com/nsguard/nsguard/inventory"
)

// benchSnapshot generates a bundle of about n objects with the mix of a
// real platform: namespaces with Deployments and their service accounts,
// Services, ConfigMaps, Roles and RoleBindings, custom resources with
// finalizers (one operator per namespace handles them), plus cluster-scoped
// CRDs (some with conversion webhooks), APIServices, webhook configurations
// and ClusterRoles.
func benchSnapshot(source string, n int) *inventory.Snapshot {
	s := newTestSnapshot(source, 37)
	const perNamespace = 200
	namespaces := n / perNamespace
	if namespaces == 0 {
		namespaces = 1
	}
	for i := range 40 {
		group := fmt.Sprintf("g%d.example.com", i)
		spec := map[string]any{
			"group": group,
			"names": map[string]any{"kind": fmt.Sprintf("Kind%d", i), "plural": fmt.Sprintf("kind%ds", i)},
			"scope": "Namespaced",
		}
		if i%5 == 0 {
			spec["conversion"] = map[string]any{"strategy": "Webhook", "webhook": map[string]any{
				"clientConfig": map[string]any{"service": map[string]any{"namespace": fmt.Sprintf("ns-%d", i%namespaces), "name": "conversion"}},
			}}
		}
		s.add("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", fmt.Sprintf("kind%ds.%s", i, group), inventory.Metadata{}, map[string]any{"spec": spec})
	}
	for i := range 10 {
		s.add("apiregistration.k8s.io/v1", "APIService", "", fmt.Sprintf("v1.api%d.example.com", i), inventory.Metadata{}, map[string]any{
			"spec": map[string]any{"group": fmt.Sprintf("api%d.example.com", i), "version": "v1", "service": map[string]any{"namespace": fmt.Sprintf("ns-%d", i), "name": "api"}},
		})
	}
	for i := range 6 {
		s.add("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", fmt.Sprintf("policy-%d", i), inventory.Metadata{}, map[string]any{
			"webhooks": []any{map[string]any{
				"name":              fmt.Sprintf("validate-%d.example.com", i),
				"clientConfig":      map[string]any{"service": map[string]any{"namespace": fmt.Sprintf("ns-%d", i), "name": "webhook"}},
				"rules":             []any{map[string]any{"apiGroups": []any{"*"}, "apiVersions": []any{"*"}, "operations": []any{"CREATE", "UPDATE", "DELETE"}, "resources": []any{"*"}}},
				"namespaceSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": "tier", "operator": "NotIn", "values": []any{"system"}}}},
				"objectSelector":    map[string]any{"matchExpressions": []any{map[string]any{"key": "app", "operator": "NotIn", "values": []any{"webhook"}}}},
			}},
		})
	}
	for i := range 50 {
		s.add("rbac.authorization.k8s.io/v1", "ClusterRole", "", fmt.Sprintf("role-%d", i), inventory.Metadata{}, map[string]any{
			"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get", "list"}}},
		})
	}

	for ni := 0; len(s.Objects) < n; ni++ {
		ns := fmt.Sprintf("ns-%d", ni%namespaces)
		if ni >= namespaces {
			ns = fmt.Sprintf("ns-extra-%d", ni)
		}
		s.add("v1", "Namespace", "", ns, inventory.Metadata{Labels: map[string]string{"team": fmt.Sprintf("team-%d", ni%7)}}, map[string]any{"spec": map[string]any{"finalizers": []any{"kubernetes"}}})
		var operator inventory.ObjectRef
		for d := range 20 {
			name := fmt.Sprintf("app-%d", d)
			labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "platform"}
			dep := s.add("apps/v1", "Deployment", ns, name, inventory.Metadata{Labels: labels, Annotations: map[string]string{"deployment.kubernetes.io/revision": "3"}}, map[string]any{
				"spec": map[string]any{
					"replicas": float64(2),
					"selector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": name}},
					"template": map[string]any{
						"metadata": map[string]any{"labels": map[string]any{"app.kubernetes.io/name": name}},
						"spec":     map[string]any{"serviceAccountName": name},
					},
				},
				"status": map[string]any{"replicas": float64(2), "readyReplicas": float64(2)},
			})
			if d == 0 {
				operator = dep.Ref
			}
			s.add("v1", "ServiceAccount", ns, name, inventory.Metadata{Labels: labels}, nil)
			s.add("v1", "Service", ns, name, inventory.Metadata{Labels: labels}, map[string]any{
				"spec": map[string]any{"type": "ClusterIP", "selector": map[string]any{"app.kubernetes.io/name": name}, "ports": []any{map[string]any{"port": float64(80), "targetPort": float64(8080)}}},
			})
			for c := range 3 {
				s.add("v1", "ConfigMap", ns, fmt.Sprintf("%s-config-%d", name, c), inventory.Metadata{Labels: labels}, nil)
			}
		}
		for r := range 10 {
			s.add("rbac.authorization.k8s.io/v1", "Role", ns, fmt.Sprintf("role-%d", r), inventory.Metadata{}, map[string]any{
				"rules": []any{map[string]any{"apiGroups": []any{fmt.Sprintf("g%d.example.com", r)}, "resources": []any{fmt.Sprintf("kind%ds", r)}, "verbs": []any{"get", "list", "watch", "update", "patch"}}},
			})
			s.add("rbac.authorization.k8s.io/v1", "RoleBinding", ns, fmt.Sprintf("role-%d", r), inventory.Metadata{}, map[string]any{
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": fmt.Sprintf("role-%d", r)},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "app-0", "namespace": ns}},
			})
		}
		// Custom resources: half carry the operator's finalizer.
		fact := &inventory.FinalizerFact{
			Finalizer: "g1.example.com/cleanup", Namespace: ns, Kinds: []string{"Kind1.g1.example.com"},
			Handlers: []*inventory.Handler{{Workload: operator, Namespace: ns, ServiceAccount: "app-0", Via: []string{"rbac"}, Liveness: inventory.LivenessUnknown}},
			Liveness: inventory.LivenessUnknown,
		}
		for c := range 20 {
			meta := inventory.Metadata{Labels: map[string]string{"app.kubernetes.io/name": "app-0"}}
			if c%2 == 0 {
				meta.Finalizers = []string{"g1.example.com/cleanup"}
			}
			if c == 0 {
				meta.Annotations = map[string]string{WaiverPrefix + "hardcoded-finalizer": "the operator adds it anyway"}
			}
			o := s.add("g1.example.com/v1", "Kind1", ns, fmt.Sprintf("cr-%d", c), meta, map[string]any{"spec": map[string]any{"size": float64(c)}})
			if c%2 == 0 {
				fact.Objects = append(fact.Objects, o.Ref.ID)
			} else {
				fact.Expected = append(fact.Expected, o.Ref.ID)
			}
		}
		s.Finalizers = append(s.Finalizers, fact)
	}
	return s.Snapshot
}

func BenchmarkEvaluate(b *testing.B) {
	e := mustEngine(b)
	s := benchSnapshot(inventory.SourceManifests, 10000)
	fs := mustEvaluate(b, e, s)
	b.ReportMetric(float64(len(s.Objects)), "objects")
	b.ReportMetric(float64(len(fs)), "findings")
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Evaluate(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.Objects))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

func BenchmarkEvaluateCluster(b *testing.B) {
	e := mustEngine(b)
	s := benchSnapshot(inventory.SourceCluster, 10000)
	s.Target = "ns-3"
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Evaluate(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInputValue(b *testing.B) {
	s := benchSnapshot(inventory.SourceManifests, 10000)
	for b.Loop() {
		if _, err := InputValue(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(context.Background(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchSnapshotFindings(t *testing.T) {
	e := mustEngine(t)
	s := benchSnapshot(inventory.SourceManifests, 10000)
	if len(s.Objects) < 10000 {
		t.Fatalf("generated %d objects", len(s.Objects))
	}
	counts := map[string]int{}
	for _, f := range mustEvaluate(t, e, s) {
		counts[f.Rule]++
	}
	// Per namespace: one operator, 9 hardcoded finalizers (the 10th is
	// waived); 8 conversion webhooks, 10 APIServices, 6 webhooks.
	namespaces := len(s.Namespaces)
	want := map[string]int{
		"controller-in-namespace":         namespaces,
		"hardcoded-finalizer":             9 * namespaces,
		"conversion-webhook-in-namespace": 8,
		"apiservice-in-namespace":         10,
		"admission-webhook-in-namespace":  6,
	}
	for rule, n := range want {
		if counts[rule] != n {
			t.Errorf("%s: %d findings, want %d", rule, counts[rule], n)
		}
	}
}
