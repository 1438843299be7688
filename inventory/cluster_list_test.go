package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/test/controlplane"
)

// pageTestObjects has, in namespace page-test, objects of every built-in
// kind whose body rules read, with the fields the trimmers keep set (ports
// by name and number, template labels, aggregation rules, conditions with
// timestamps once the controllers have written them), and enough of some
// kinds to span several pages. A Pod in another namespace is what the
// cluster-wide Pod list (which leaves the target namespace to its own list)
// finds.
const pageTestObjects = `
apiVersion: v1
kind: Namespace
metadata: {name: page-test}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: op, namespace: page-test, labels: {app: op}, finalizers: [example.com/keep]}
spec:
  replicas: 2
  selector: {matchLabels: {app: op}}
  template:
    metadata: {labels: {app: op, tier: control}}
    spec:
      serviceAccountName: op
      containers: [{name: op, image: example.com/op:1, ports: [{containerPort: 8443}]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: page-test}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {serviceAccount: db, containers: [{name: db, image: example.com/db:1}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: page-test}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: example.com/agent:1}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: standalone, namespace: page-test}
spec: {replicas: 0, selector: {matchLabels: {app: standalone}},
  template: {metadata: {labels: {app: standalone}}, spec: {containers: [{name: c, image: example.com/c:1}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: page-test, annotations: {note: kept}}
spec:
  serviceAccountName: default
  nodeName: node-a
  containers: [{name: c, image: example.com/c:1}]
---
apiVersion: v1
kind: Namespace
metadata: {name: page-elsewhere}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: page-elsewhere, labels: {app: agent}}
spec:
  serviceAccountName: default
  nodeName: node-a
  containers: [{name: c, image: example.com/agent:1}]
---
apiVersion: v1
kind: Service
metadata: {name: webhook, namespace: page-test}
spec:
  selector: {app: op}
  ports:
  - {name: https, port: 443, targetPort: webhook}
  - {name: metrics, port: 8080, targetPort: 8080, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: external, namespace: page-test}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: op, namespace: page-test}
rules:
- {apiGroups: [example.com], resources: [widgets, widgets/finalizers], verbs: [get, list, update, patch]}
- {apiGroups: [""], resources: [configmaps], resourceNames: [lock], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: op, namespace: page-test}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: op}
subjects:
- {kind: ServiceAccount, name: op, namespace: page-test}
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: "system:serviceaccounts:page-test"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: page-test-aggregate}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {page-test/aggregate: "true"}}]
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: page-test-widgets, labels: {page-test/aggregate: "true"}}
rules:
- {apiGroups: [example.com], resources: ["*"], verbs: [update]}
- {nonResourceURLs: [/healthz], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: page-test}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: page-test-aggregate}
subjects: [{kind: ServiceAccount, name: op, namespace: page-test}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: op-leader, namespace: page-test}
spec: {holderIdentity: op-1, leaseDurationSeconds: 15, leaseTransitions: 3, renewTime: "2026-01-02T03:04:05.678901Z"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: page-test}
webhooks:
- name: validate.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  clientConfig:
    service: {namespace: page-test, name: webhook, path: /validate, port: 443}
    caBundle: Y2EtYnVuZGxl
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [configmaps], scope: Namespaced}]
  namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: page-test}
webhooks:
- {name: mutate.example.com, admissionReviewVersions: [v1], sideEffects: NoneOnDryRun, failurePolicy: Ignore,
   reinvocationPolicy: IfNeeded, clientConfig: {url: "https://example.com/mutate"},
   rules: [{apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE], resources: ["*/*"]}]}
`

// TestProtobufPagesMatchJSON holds protoPage to the JSON path it replaces
// for built-in kinds: against a real API server, every object that rules see
// must be the same whichever encoding it was read in, page by page.
func TestProtobufPagesMatchJSON(t *testing.T) {
	cp := controlplane.StartForTest(t, controlplane.Options{})
	if err := cp.Apply(t.Context(), pageTestObjects); err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // several pages of Leases at pageSize 2
		lease := fmt.Sprintf("apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: extra-%d, namespace: page-test}\nspec: {holderIdentity: h-%d}\n", i, i)
		if err := cp.Apply(t.Context(), lease); err != nil {
			t.Fatal(err)
		}
	}
	clients, err := newClusterClients(cp.Config, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatherer{c: clients, pageSize: 2}

	lists := clusterLists("page-test")
	for _, r := range []struct{ group, resource, kind string }{
		{"", "pods", "Pod"}, {"", "services", "Service"}, {"apps", "replicasets", "ReplicaSet"},
		{"rbac.authorization.k8s.io", "roles", "Role"}, {"rbac.authorization.k8s.io", "rolebindings", "RoleBinding"},
	} {
		lists = append(lists, fullList{gvr: gvr(r.group, "v1", r.resource), kind: r.kind, namespace: "page-test"})
	}
	for _, l := range lists {
		if l.kind == "CustomResourceDefinition" {
			continue // read by listCRDs, in protobuf with its own client
		}
		t.Run(l.kind, func(t *testing.T) {
			if l.kind == "APIService" {
				if builtinKind(l.gvr, l.kind) {
					t.Fatal("APIService is not in client-go's scheme, so its pages must be read in JSON")
				}
				return
			}
			if !builtinKind(l.gvr, l.kind) {
				t.Fatalf("%s is in client-go's scheme but would be read in JSON", l.kind)
			}
			read := func(page listPage) ([]*Object, int) {
				c := countPages(page)
				objs, err := g.readPages(t.Context(), l, c.page, nil)
				if err != nil {
					t.Fatal(err)
				}
				return objs, c.n
			}
			// The controllers keep writing (a Deployment gets its revision
			// annotation, status changes): compare only reads of one state,
			// the protobuf read between two JSON reads that agree.
			for attempt := 1; ; attempt++ {
				fromJSON, jsonPages := read(g.jsonPage)
				fromProto, protoPages := read(g.protoPage)
				again, _ := read(g.jsonPage)
				if !reflect.DeepEqual(fromJSON, again) {
					if attempt == 20 {
						t.Fatal("the objects kept changing between reads")
					}
					time.Sleep(250 * time.Millisecond)
					continue
				}
				if len(fromProto) == 0 {
					t.Fatal("no objects listed")
				}
				if jsonPages != protoPages {
					t.Errorf("pages: JSON %d, protobuf %d", jsonPages, protoPages)
				}
				if !reflect.DeepEqual(fromJSON, fromProto) {
					j, _ := json.MarshalIndent(fromJSON, "", "  ")
					p, _ := json.MarshalIndent(fromProto, "", "  ")
					t.Errorf("objects differ\nJSON:\n%s\nprotobuf:\n%s", j, p)
				}
				return
			}
		})
	}
}

// pageCounter counts the pages a listPage reads.
type pageCounter struct {
	read listPage
	n    int
}

func countPages(read listPage) *pageCounter { return &pageCounter{read: read} }

func (c *pageCounter) page(ctx context.Context, l fullList, opts metav1.ListOptions) ([]map[string]any, string, error) {
	c.n++
	return c.read(ctx, l, opts)
}
