// Package population builds and creates what the cluster benchmarks measure
// against: CRDs, and namespaces filled with custom resources and built-in
// objects in the proportions of an application namespace, some of the
// custom resources with finalizers that no controller handles.
package population

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nsguard/nsguard/hack/bench/corpus"
)

// GroupSuffix ends the API group of every CRD built here.
const GroupSuffix = ".bench.example.io"

// Item is one namespaced object and the resource it is created through.
type Item struct {
	GVR schema.GroupVersionResource
	Obj *unstructured.Unstructured
}

// Finalizers of the custom resources: handled by no controller in the
// cluster, as in a namespace whose operator was uninstalled first.
var crFinalizers = []string{"widgets.example.io/cleanup", "storage.example.io/release", "dns.example.io/delete-record"}

var (
	crdGroups = []string{"apps", "data", "storage", "network", "security", "observability", "messaging", "platform", "billing", "identity"}
	crdNouns  = []string{"Widget", "Gadget", "Bucket", "Topic", "Queue", "Cache", "Gateway", "Route", "Policy", "Backup", "Cluster", "Database", "Index", "Stream", "Tenant"}
)

type crdName struct{ group, kind, plural string }

func crdNames(n int) []crdName {
	out := make([]crdName, n)
	for i := range out {
		noun := crdNouns[i%len(crdNouns)]
		kind := fmt.Sprintf("%s%d", noun, i/len(crdNouns)+1)
		out[i] = crdName{
			group:  crdGroups[i%len(crdGroups)] + GroupSuffix,
			kind:   kind,
			plural: strings.ToLower(kind) + "s",
		}
	}
	return out
}

// CRDs returns n namespaced CRDs in 10 API groups. largeSchemas gives them
// schemas of the size operators ship (tens of KiB each): a client that
// lists CRDs in full pays for them, as it does on a real cluster.
func CRDs(n int, largeSchemas bool) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, n)
	for i, c := range crdNames(n) {
		out = append(out, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1",
			"kind":       "CustomResourceDefinition",
			"metadata":   map[string]any{"name": c.plural + "." + c.group},
			"spec": map[string]any{
				"group": c.group,
				"names": map[string]any{"kind": c.kind, "listKind": c.kind + "List", "plural": c.plural, "singular": strings.ToLower(c.kind)},
				"scope": "Namespaced",
				"versions": []any{map[string]any{
					"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": crdSchema(i, c.kind, largeSchemas)},
				}},
			},
		}})
	}
	return out
}

// Namespace builds the objects of namespace ns: customResources custom
// resources spread evenly over the first crds CRDs of CRDs (in CRD order,
// one in six with a finalizer), then built-in objects until the namespace
// holds objects in total.
func Namespace(ns string, crds, customResources, objects int) []Item {
	var items []Item
	add := func(group, version, resource string, obj map[string]any) {
		u := &unstructured.Unstructured{Object: obj}
		u.SetNamespace(ns)
		items = append(items, Item{GVR: schema.GroupVersionResource{Group: group, Version: version, Resource: resource}, Obj: u})
	}
	md := func(name string, finalizer string) map[string]any {
		m := map[string]any{"name": name, "labels": map[string]any{"app.kubernetes.io/part-of": "nsguard-bench"}}
		if finalizer != "" {
			m["finalizers"] = []any{finalizer}
		}
		return m
	}
	customResources = min(customResources, objects)
	n := 0
	for i, c := range crdNames(crds) {
		count := customResources / crds
		if i < customResources%crds {
			count++
		}
		for j := range count {
			fin := ""
			if n%6 == 0 {
				fin = crFinalizers[(i+j)%len(crFinalizers)]
			}
			n++
			add(c.group, "v1", c.plural, map[string]any{
				"apiVersion": c.group + "/v1", "kind": c.kind, "metadata": md(fmt.Sprintf("%s-%d", strings.ToLower(c.kind), j), fin),
				"spec": map[string]any{"size": j, "tier": "standard"},
			})
		}
	}
	// Built-in kinds, in the proportions of an application namespace.
	builtin := []struct {
		group, version, resource string
		weight                   int
		obj                      func(i int) map[string]any
	}{
		{"", "v1", "configmaps", 30, func(i int) map[string]any {
			return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": md(fmt.Sprintf("config-%d", i), ""), "data": map[string]any{"app.conf": strings.Repeat("key = value\n", 20)}}
		}},
		{"", "v1", "secrets", 20, func(i int) map[string]any {
			return map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": md(fmt.Sprintf("secret-%d", i), ""), "stringData": map[string]any{"password": fmt.Sprintf("p%08d", i)}}
		}},
		{"", "v1", "services", 10, func(i int) map[string]any {
			return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": md(fmt.Sprintf("svc-%d", i), ""), "spec": map[string]any{
				"selector": map[string]any{"app": fmt.Sprintf("app-%d", i)},
				"ports":    []any{map[string]any{"port": int64(80), "targetPort": int64(8080)}},
			}}
		}},
		{"", "v1", "serviceaccounts", 6, func(i int) map[string]any {
			return map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": md(fmt.Sprintf("sa-%d", i), "")}
		}},
		{"rbac.authorization.k8s.io", "v1", "roles", 5, func(i int) map[string]any {
			return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": md(fmt.Sprintf("role-%d", i), ""), "rules": []any{
				map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get", "list", "watch"}},
			}}
		}},
		{"rbac.authorization.k8s.io", "v1", "rolebindings", 5, func(i int) map[string]any {
			return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": md(fmt.Sprintf("rb-%d", i), ""),
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": fmt.Sprintf("role-%d", i)},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": fmt.Sprintf("sa-%d", i), "namespace": ns}},
			}
		}},
		{"apps", "v1", "deployments", 3, func(i int) map[string]any {
			// No replicas: the control plane has no scheduler, and the
			// figure is about reading the namespace, not about pods.
			sel := map[string]any{"app": fmt.Sprintf("app-%d", i)}
			return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md(fmt.Sprintf("app-%d", i), ""), "spec": map[string]any{
				"replicas": int64(0),
				"selector": map[string]any{"matchLabels": sel},
				"template": map[string]any{"metadata": map[string]any{"labels": sel}, "spec": map[string]any{
					"serviceAccountName": fmt.Sprintf("sa-%d", i),
					"containers":         []any{map[string]any{"name": "app", "image": "registry.example.com/app:v1"}},
				}},
			}}
		}},
		{"", "v1", "persistentvolumeclaims", 2, func(i int) map[string]any {
			return map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md(fmt.Sprintf("data-%d", i), ""), "spec": map[string]any{
				"accessModes": []any{"ReadWriteOnce"},
				"resources":   map[string]any{"requests": map[string]any{"storage": "1Gi"}},
			}}
		}},
		{"coordination.k8s.io", "v1", "leases", 2, func(i int) map[string]any {
			return map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": md(fmt.Sprintf("lease-%d", i), ""), "spec": map[string]any{"holderIdentity": fmt.Sprintf("app-%d", i)}}
		}},
		{"networking.k8s.io", "v1", "networkpolicies", 1, func(i int) map[string]any {
			return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": md(fmt.Sprintf("np-%d", i), ""), "spec": map[string]any{"podSelector": map[string]any{}}}
		}},
		{"policy", "v1", "poddisruptionbudgets", 1, func(i int) map[string]any {
			return map[string]any{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": md(fmt.Sprintf("pdb-%d", i), ""), "spec": map[string]any{
				"minAvailable": int64(1), "selector": map[string]any{"matchLabels": map[string]any{"app": fmt.Sprintf("app-%d", i)}},
			}}
		}},
		{"batch", "v1", "cronjobs", 1, func(i int) map[string]any {
			return map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": md(fmt.Sprintf("cron-%d", i), ""), "spec": map[string]any{
				"schedule": "0 3 * * *", "suspend": true,
				"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
					"restartPolicy": "Never",
					"containers":    []any{map[string]any{"name": "job", "image": "registry.example.com/job:v1"}},
				}}}},
			}}
		}},
		{"", "v1", "podtemplates", 1, func(i int) map[string]any {
			return map[string]any{"apiVersion": "v1", "kind": "PodTemplate", "metadata": md(fmt.Sprintf("tmpl-%d", i), ""), "template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "app", "image": "registry.example.com/app:v1"}},
			}}}
		}},
	}
	total := 0
	for _, b := range builtin {
		total += b.weight
	}
	// Shares in proportion to the weights; what rounding leaves goes to
	// the first kind, so that the namespace holds exactly objects objects.
	left := max(objects-len(items), 0)
	shares := make([]int, len(builtin))
	sum := 0
	for k, b := range builtin {
		shares[k] = left * b.weight / total
		sum += shares[k]
	}
	shares[0] += left - sum
	for k, b := range builtin {
		for i := range shares[k] {
			add(b.group, b.version, b.resource, b.obj(i))
		}
	}
	return items
}

// Pods builds n bare pods in namespace ns, run by its default service
// account. They are never scheduled (the control plane has no scheduler)
// and stay Pending, which is what a cache of unfinished pods holds.
func Pods(ns string, n int) []Item {
	items := make([]Item, 0, n)
	for i := range n {
		items = append(items, Item{GVR: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Obj: &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": fmt.Sprintf("pod-%d", i), "namespace": ns,
				"labels": map[string]any{"app.kubernetes.io/part-of": "nsguard-bench", "app": fmt.Sprintf("app-%d", i%20)}},
			"spec": map[string]any{
				"automountServiceAccountToken": false,
				"containers": []any{map[string]any{"name": "app", "image": "registry.example.com/app:v1",
					"env": []any{map[string]any{"name": "INDEX", "value": fmt.Sprint(i)}}}},
			},
		}}})
	}
	return items
}

// crdSchema returns the openAPIV3Schema of the i-th CRD. The custom
// resources set a few spec fields of their own, so the schema keeps
// unknown fields in spec and requires nothing.
func crdSchema(i int, kind string, large bool) map[string]any {
	if !large {
		return map[string]any{
			"type":       "object",
			"properties": map[string]any{"spec": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
		}
	}
	s := corpus.OpenAPISchema(1, i, kind)
	dropRequired(s)
	if spec, ok := s["properties"].(map[string]any)["spec"].(map[string]any); ok {
		spec["x-kubernetes-preserve-unknown-fields"] = true
	}
	return s
}

func dropRequired(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "required")
		for _, x := range v {
			dropRequired(x)
		}
	case []any:
		for _, x := range v {
			dropRequired(x)
		}
	}
}
