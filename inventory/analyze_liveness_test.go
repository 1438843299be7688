package inventory

import (
	"strings"
	"testing"
	"time"

	"github.com/nsguard/nsguard/policies/catalog"
)

// operatorPod is a pod of Deployment deploy (ReplicaSet deploy-hash), as
// the deployment controller names it, running as sa.
func operatorPod(deploy, hash, suffix, sa string, ready bool) string {
	return ownedPod(deploy+"-"+hash+"-"+suffix, "widgets", "apps/v1", "ReplicaSet", deploy+"-"+hash, hash, sa, ready)
}

func ownedPod(name, ns, ownerAPIVersion, ownerKind, owner, hash, sa string, ready bool) string {
	doc := `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
  namespace: ` + ns + `
  labels: {app: something, pod-template-hash: "` + hash + `"}`
	if owner != "" {
		doc += `
  ownerReferences:
    - {apiVersion: ` + ownerAPIVersion + `, kind: ` + ownerKind + `, name: ` + owner + `, uid: u-` + owner + `, controller: true}`
	}
	status := "False"
	if ready {
		status = "True"
	}
	return doc + `
spec: {serviceAccountName: ` + sa + `}
status:
  phase: Running
  conditions: [{type: Ready, status: "` + status + `"}]`
}

const gadget = `apiVersion: example.com/v1
kind: Gadget
metadata:
  name: g1
  namespace: widgets
  finalizers: [gadgets.example.com/finalizer]`

// clusterRoleFor grants rules to a service account cluster-wide.
func clusterRoleFor(name, rules, subject string) string {
	return `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ` + name + `}
rules:
` + rules + `
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ` + name + `}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ` + name + `}
subjects:
  - ` + subject
}

const gadgetRules = `  - apiGroups: [example.com]
    resources: [gadgets]
    verbs: [get, list, watch, update, patch]`

// editRole is the edit ClusterRole as the aggregation controller fills it
// in on a live cluster, with the gadget CRD's role aggregated into it.
const editRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: edit
  labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}
aggregationRule:
  clusterRoleSelectors:
    - matchLabels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
rules:
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [create, delete, patch, update]
  - apiGroups: [example.com]
    resources: [gadgets]
    verbs: [create, delete, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: gadgets-editor
  labels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
rules:
  - apiGroups: [example.com]
    resources: [gadgets]
    verbs: [create, delete, patch, update]`

// The cases of the liveness model (docs/liveness.md): every way a live
// controller can look absent, or an orphan can look handled, with the
// verdict nsguard must give.
func TestLivenessModel(t *testing.T) {
	sa := func(name, ns string) string {
		return "{kind: ServiceAccount, name: " + name + ", namespace: " + ns + "}"
	}
	cases := []struct {
		name     string
		docs     []string
		liveness string
		evidence string
	}{
		{
			name: "wildcard inside the operator's own API group is a grant",
			docs: []string{gadget, clusterRoleFor("gadget-operator", "  - apiGroups: [example.com]\n    resources: [\"*\"]\n    verbs: [\"*\"]", sa("gadget-operator", "ops")),
				ownedPod("gadget-operator-7f9-x1", "ops", "apps/v1", "ReplicaSet", "gadget-operator-7f9", "7f9", "gadget-operator", true)},
			liveness: LivenessAlive, evidence: "ReplicaSet ops/gadget-operator-7f9 has 1 pod(s) running and ready",
		},
		{
			name: "cluster-wide */* proves nothing",
			docs: []string{gadget, clusterRoleFor("everything", "  - apiGroups: [\"*\"]\n    resources: [\"*\"]\n    verbs: [\"*\"]", sa("runner", "ci")),
				ownedPod("runner-0", "ci", "apps/v1", "StatefulSet", "runner", "", "runner", true)},
			liveness: LivenessAbsent, evidence: "may update anything through wildcard RBAC; not counted",
		},
		{
			name:     "a bare Pod is a controller",
			docs:     []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, sa("gadget-operator", "ops")), ownedPod("gadget-operator", "ops", "", "", "", "", "gadget-operator", true)},
			liveness: LivenessAlive, evidence: "Pod ops/gadget-operator has 1 pod(s) running and ready",
		},
		{
			name:     "a Job's pod is a controller",
			docs:     []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, sa("gadget-operator", "ops")), ownedPod("cleanup-x7k2p", "ops", "batch/v1", "Job", "cleanup", "", "gadget-operator", true)},
			liveness: LivenessAlive, evidence: "Job ops/cleanup has 1 pod(s) running and ready",
		},
		{
			name: "an Argo Rollout's pod is a controller",
			docs: []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, sa("gadget-operator", "ops")),
				ownedPod("gadget-operator-6c8b9-abcde", "ops", "apps/v1", "ReplicaSet", "gadget-operator-6c8b9", "6c8b9", "gadget-operator", true)},
			liveness: LivenessAlive, evidence: "ReplicaSet ops/gadget-operator-6c8b9 has 1 pod(s) running and ready",
		},
		{
			name: "a service account written as a system: User subject",
			docs: []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, "{kind: User, name: \"system:serviceaccount:ops:gadget-operator\"}"),
				ownedPod("gadget-operator", "ops", "", "", "", "", "gadget-operator", true)},
			liveness: LivenessAlive, evidence: "its service account may update gadgets.example.com",
		},
		{
			name: "a Group of every service account of a namespace",
			docs: []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, "{kind: Group, name: \"system:serviceaccounts:ops\"}"),
				ownedPod("gadget-operator", "ops", "", "", "", "", "default", true)},
			liveness: LivenessAlive, evidence: "Pod ops/gadget-operator has 1 pod(s) running and ready",
		},
		{
			name: "the finalizers subresource is enough",
			docs: []string{gadget, clusterRoleFor("gadget-operator", "  - apiGroups: [example.com]\n    resources: [gadgets/finalizers]\n    verbs: [update]", sa("gadget-operator", "ops")),
				ownedPod("gadget-operator", "ops", "", "", "", "", "gadget-operator", true)},
			liveness: LivenessAlive, evidence: "may update gadgets.example.com",
		},
		{
			name: "resourceNames that name the object",
			docs: []string{gadget, clusterRoleFor("gadget-operator", "  - apiGroups: [example.com]\n    resources: [gadgets]\n    resourceNames: [g1]\n    verbs: [update]", sa("gadget-operator", "ops")),
				ownedPod("gadget-operator", "ops", "", "", "", "", "gadget-operator", true)},
			liveness: LivenessAlive, evidence: "may update gadgets.example.com",
		},
		{
			name: "resourceNames that name other objects grant nothing here",
			docs: []string{gadget, clusterRoleFor("gadget-operator", "  - apiGroups: [example.com]\n    resources: [gadgets]\n    resourceNames: [g2]\n    verbs: [update]", sa("gadget-operator", "ops")),
				ownedPod("gadget-operator", "ops", "", "", "", "", "gadget-operator", true)},
			liveness: LivenessAbsent, evidence: "no running pod's service account",
		},
		{
			name:     "a human group bound to edit does not hide an orphan",
			docs:     []string{gadget, editRole, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: devs-edit}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\nsubjects:\n  - {kind: Group, name: developers}"},
			liveness: LivenessAbsent, evidence: "no running pod's service account, and no person or outside identity",
		},
		{
			name:     "a human group bound to a role that aggregates into edit does not either",
			docs:     []string{gadget, editRole, "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: devs, namespace: widgets}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gadgets-editor}\nsubjects:\n  - {kind: Group, name: developers}"},
			liveness: LivenessAbsent, evidence: "no running pod's service account",
		},
		{
			name: "a ready CI runner bound to edit is not the controller",
			docs: []string{gadget, editRole, "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ci, namespace: widgets}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\nsubjects:\n  - {kind: ServiceAccount, name: runner, namespace: ci}",
				ownedPod("runner-0", "ci", "apps/v1", "StatefulSet", "runner", "", "runner", true)},
			liveness: LivenessAbsent, evidence: "no running pod's service account",
		},
		{
			name:     "a person with a role naming the resource may run the controller elsewhere",
			docs:     []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, "{kind: User, name: alice}")},
			liveness: LivenessUnknown, evidence: "user alice may update gadgets.example.com",
		},
		{
			name:     "a grant to every authenticated identity",
			docs:     []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, "{kind: Group, name: \"system:authenticated\"}")},
			liveness: LivenessUnknown, evidence: "group system:authenticated may update gadgets.example.com",
		},
		{
			name: "a pod that runs but is not ready is down, not absent",
			docs: []string{gadget, clusterRoleFor("gadget-operator", gadgetRules, sa("gadget-operator", "ops")),
				ownedPod("gadget-operator", "ops", "", "", "", "", "gadget-operator", false)},
			liveness: LivenessDown, evidence: "running but none ready",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := analyzedFact(t, SourceCluster, strings.Join(tc.docs, "\n---\n"), "gadgets.example.com/finalizer")
			all := strings.Join(f.Evidence, "\n")
			for _, h := range f.Handlers {
				all += "\n" + h.Workload.Kind + " " + h.Workload.Name + " via " + strings.Join(h.Via, ",") + ": " + strings.Join(h.Evidence, "; ")
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

// A Lease is matched to the pod that holds it, not to a workload whose
// name starts like the holder's.
func TestLeaseHolderIsAPodNotANamePrefix(t *testing.T) {
	webhook := `apiVersion: apps/v1
kind: Deployment
metadata: {name: widget-operator-webhook, namespace: widgets}
spec:
  replicas: 1
  template:
    spec: {serviceAccountName: widget-operator-webhook}
status: {readyReplicas: 1}`
	docs := strings.Join([]string{
		operatorRBAC, operator(1, 1),
		operatorPod("widget-operator", "5d8f", "abcde", "widget-operator", true),
		webhook,
		operatorPod("widget-operator-webhook", "7c9", "xyz12", "widget-operator-webhook", true),
		// The sibling's stale Lease: its holder starts with the operator's name.
		lease("webhook-leader", "widget-operator-webhook-7c9-xyz12_0f3a", testNow.Add(-time.Hour)),
	}, "\n---\n")
	f := analyzedFact(t, SourceCluster, docs, "widgets.example.com/cleanup")
	if f.Liveness != LivenessAlive {
		t.Errorf("liveness = %s, want alive: the stale Lease is the webhook's; evidence %v", f.Liveness, f.Evidence)
	}
	for _, h := range f.Handlers {
		for _, e := range h.Evidence {
			if strings.Contains(e, "webhook-leader") {
				t.Errorf("the sibling's Lease is counted for %s: %s", h.Workload.Name, e)
			}
		}
	}
}

// A Terminating namespace held only by its own metadata.finalizers has a
// finalizer fact of its own, with its controller and liveness; a spec
// finalizer too, judged on the finalize subresource.
func TestNamespaceOwnFinalizers(t *testing.T) {
	docs := `apiVersion: v1
kind: Namespace
metadata:
  name: team
  finalizers: [controller.cattle.io/namespace-auth]
  deletionTimestamp: "2026-11-27T11:00:00Z"
spec:
  finalizers: [kubernetes, example.com/ns-cleanup]
---
` + clusterRoleFor("ns-cleaner", "  - apiGroups: [\"\"]\n    resources: [namespaces/finalize]\n    verbs: [update]", "{kind: ServiceAccount, name: cleaner, namespace: ops}") + `
---
` + ownedPod("cleaner", "ops", "", "", "", "", "cleaner", true)
	s := snapshotOf(t, SourceCluster, docs)
	Analyze(s, mustCatalog(t), testNow)
	var meta, spec *FinalizerFact
	for _, f := range s.Finalizers {
		switch f.Finalizer {
		case "controller.cattle.io/namespace-auth":
			meta = f
		case "example.com/ns-cleanup":
			spec = f
		case "kubernetes":
			t.Errorf("the namespace controller's own spec finalizer has a fact: %+v", f)
		}
	}
	if meta == nil || meta.Namespace != "team" || meta.Spec || len(meta.Objects) != 1 || meta.Liveness != LivenessAbsent {
		t.Fatalf("metadata finalizer fact = %+v", meta)
	}
	if spec == nil || spec.Namespace != "team" || !spec.Spec || spec.Liveness != LivenessAlive {
		t.Fatalf("spec finalizer fact = %+v", spec)
	}
}

// One finalizer name that several controllers share, each for its own
// kinds, gets one fact per controller: a dead one is not hidden by a live
// one, and a live one is not blamed for a dead one's objects.
func TestSharedFinalizerSplitsByHandler(t *testing.T) {
	cat := mustCatalogOf(t, `
finalizers:
  - id: flux
    name: finalizers.fluxcd.io
    project: Flux
    handledBy: a Flux controller
    handlers:
      - groups: [kustomize.toolkit.fluxcd.io]
        handledBy: kustomize-controller
        controller: {workloadLabels: [{app: kustomize-controller}]}
      - groups: [source.toolkit.fluxcd.io]
        handledBy: source-controller
        controller: {workloadLabels: [{app: source-controller}]}
    protects: what the object applied
    leaks: true
    removal: leaks
`)
	docs := `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system, finalizers: [finalizers.fluxcd.io]}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo, namespace: flux-system, finalizers: [finalizers.fluxcd.io]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: source-controller, namespace: flux-system, labels: {app: source-controller}}
spec: {replicas: 1, template: {spec: {serviceAccountName: source-controller}}}
status: {readyReplicas: 1}`
	s := snapshotOf(t, SourceCluster, docs)
	Analyze(s, cat, testNow)
	got := map[string]string{}
	for _, f := range s.Finalizers {
		got[f.HandledBy] = f.Liveness + " " + strings.Join(f.Kinds, ",")
	}
	if got["kustomize-controller"] != "absent Kustomization.kustomize.toolkit.fluxcd.io" || got["source-controller"] != "alive GitRepository.source.toolkit.fluxcd.io" || len(got) != 2 {
		t.Errorf("facts by handler = %v", got)
	}
}

func mustCatalogOf(t *testing.T, doc string) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
