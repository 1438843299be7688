package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies/catalog"
	"github.com/nsguard/nsguard/test/controlplane"
)

// The liveness model on the real control plane (docs/liveness.md): every
// setup in which a live controller could be taken for absent, or an
// orphaned finalizer for handled, with the verdict nsguard must give. Each
// case puts one Gadget with a finalizer in a namespace of its own and the
// would-be controller in another, then takes a snapshot.

const (
	gadgetGroup     = "liveness.e2e.nsguard.io"
	gadgetFinalizer = gadgetGroup + "/cleanup"
)

const gadgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.liveness.e2e.nsguard.io
spec:
  group: liveness.e2e.nsguard.io
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// livenessCase sets up a controller (or none) in ops for the Gadget in ns.
type livenessCase struct {
	name     string
	setup    func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string)
	liveness string
	evidence string
}

// caseEnv is where a liveness case grants its controller rights: on the
// Gadgets of one API group, through RoleBindings in the Gadget's namespace
// (so that cases running side by side grant each other nothing), or
// through ClusterRoleBindings, which outlive the namespace's deletion (the
// remediator's tests delete it).
type caseEnv struct {
	group       string
	clusterWide bool
}

// role is a ClusterRole that may update the group's Gadgets.
func (e caseEnv) role(name string) string {
	return `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ` + name + `}
rules:
  - apiGroups: [` + e.group + `]
    resources: [gadgets]
    verbs: [get, list, watch, update, patch]`
}

func (e caseEnv) bindSA(t *testing.T, cp *controlplane.ControlPlane, ns, role, saNamespace, sa string) {
	t.Helper()
	e.bind(t, cp, ns, role, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: saNamespace})
}

func (e caseEnv) bind(t *testing.T, cp *controlplane.ControlPlane, ns, role string, subject rbacv1.Subject) {
	t.Helper()
	if !e.clusterWide {
		bind(t, cp, ns, role, subject)
		return
	}
	crbs := cp.Client.RbacV1().ClusterRoleBindings()
	crb, err := crbs.Create(t.Context(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: role + "-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{subject},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = crbs.Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
		_ = cp.Client.RbacV1().ClusterRoles().Delete(context.Background(), role, metav1.DeleteOptions{})
	})
}

// livenessCases are the setups of the liveness model, each with its
// verdict; the remediator's tests reuse those whose controller is alive.
func livenessCases(env caseEnv) []livenessCase {
	return []livenessCase{
		{
			name: "group wildcard",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				apply(t, cp, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lv-group-wildcard-`+ops+`}
rules:
  - apiGroups: [`+env.group+`]
    resources: ["*"]
    verbs: ["*"]`)
				env.bindSA(t, cp, ns, "lv-group-wildcard-"+ops, ops, "operator")
				readyDeployment(t, cp, ops, "operator", "operator")
			},
			liveness: inventory.LivenessAlive, evidence: "pod(s) running and ready",
		},
		{
			name: "bare pod",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				apply(t, cp, env.role("lv-bare-"+ops))
				env.bindSA(t, cp, ns, "lv-bare-"+ops, ops, "operator")
				readyPod(t, cp, ops, "operator", "operator", nil)
			},
			liveness: inventory.LivenessAlive, evidence: "Pod " + "%OPS%" + "/operator has 1 pod(s) running and ready",
		},
		{
			name: "job",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				apply(t, cp, env.role("lv-job-"+ops))
				env.bindSA(t, cp, ns, "lv-job-"+ops, ops, "operator")
				// The job controller does not run here: the test creates
				// the pod as it would.
				job, err := cp.Client.BatchV1().Jobs(ops).Create(t.Context(), &batchv1.Job{
					ObjectMeta: metav1.ObjectMeta{Name: "cleanup", Namespace: ops},
					Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
						ServiceAccountName: "operator", RestartPolicy: corev1.RestartPolicyNever,
						Containers: []corev1.Container{{Name: "c", Image: "example.invalid/cleanup"}},
					}}},
				}, metav1.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				readyPod(t, cp, ops, "cleanup-x7k2p", "operator", &metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: "cleanup", UID: job.UID, Controller: ptrTo(true)})
			},
			liveness: inventory.LivenessAlive, evidence: "Job %OPS%/cleanup has 1 pod(s) running and ready",
		},
		{
			name: "service account as a system user",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				apply(t, cp, env.role("lv-sysuser-"+ops))
				env.bind(t, cp, ns, "lv-sysuser-"+ops, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccount:" + ops + ":operator"})
				readyDeployment(t, cp, ops, "operator", "operator")
			},
			liveness: inventory.LivenessAlive, evidence: "pod(s) running and ready",
		},
		{
			name: "sibling's stale lease",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				apply(t, cp, env.role("lv-sibling-"+ops))
				env.bindSA(t, cp, ns, "lv-sibling-"+ops, ops, "operator")
				readyDeployment(t, cp, ops, "operator", "operator")
				webhook := readyDeployment(t, cp, ops, "operator-webhook", "operator-webhook")
				staleLease(t, cp, ops, "webhook-leader", webhook+"_4f2a", time.Hour)
			},
			liveness: inventory.LivenessAlive, evidence: "Deployment %OPS%/operator can remove it and is running",
		},
		{
			name: "people bound to edit, into which the gadget role aggregates",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				aggregateIntoEdit(t, cp)
				env.bind(t, cp, ns, "edit", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "developers"})
			},
			liveness: inventory.LivenessAbsent, evidence: "no running pod's service account, and no person or outside identity",
		},
		{
			name: "a ready CI runner bound to edit",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				aggregateIntoEdit(t, cp)
				env.bind(t, cp, ns, "edit", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "runner", Namespace: ops})
				readyDeployment(t, cp, ops, "runner", "runner")
			},
			liveness: inventory.LivenessAbsent, evidence: "no running pod's service account",
		},
		{
			name: "a person with a role on gadgets may run it elsewhere",
			setup: func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {
				apply(t, cp, env.role("lv-alice-"+ops))
				env.bind(t, cp, ns, "lv-alice-"+ops, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice-" + ops})
			},
			liveness: inventory.LivenessUnknown, evidence: "user alice-%OPS% may update gadgets." + gadgetGroup,
		},
		{
			name:     "uninstalled",
			setup:    func(t *testing.T, cp *controlplane.ControlPlane, ns, ops string) {},
			liveness: inventory.LivenessAbsent, evidence: "no running pod's service account",
		},
	}
}

func TestLivenessOnARealControlPlane(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	if err := cp.Apply(t.Context(), gadgetCRD); err != nil {
		t.Fatal(err)
	}
	cases := livenessCases(caseEnv{group: gadgetGroup})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := cp.NewNamespace(t, "lv")
			ops := cp.NewNamespace(t, "lv-ops")
			tc.setup(t, cp, ns, ops)
			apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}", gadgetGroup, ns, gadgetFinalizer))
			t.Cleanup(func() { removeFinalizers(t, cp, ns) })

			s, err := inventory.FromCluster(t.Context(), cp.Config, ns, inventory.ClusterOptions{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			requireComplete(t, s)
			f := factOf(t, s, gadgetFinalizer)
			all := evidenceOf(f)
			if f.Liveness != tc.liveness {
				t.Errorf("liveness %s, want %s; evidence:\n%s", f.Liveness, tc.liveness, all)
			}
			if want := strings.ReplaceAll(tc.evidence, "%OPS%", ops); !strings.Contains(all, want) {
				t.Errorf("evidence lacks %q:\n%s", want, all)
			}
		})
	}
}

// A controller outside the cluster, seen only through the Lease the
// catalog names, stays alive for a client whose clock runs an hour ahead:
// Leases are judged on the API server's clock.
func TestLivenessOnTheServersClock(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	if err := cp.Apply(t.Context(), gadgetCRD); err != nil {
		t.Fatal(err)
	}
	ns := cp.NewNamespace(t, "lv-clock")
	ops := cp.NewNamespace(t, "lv-clock-ops")
	cat, err := catalog.Parse([]byte(`finalizers:
  - id: gadgets
    name: ` + gadgetFinalizer + `
    project: Example
    handledBy: the gadget controller, run outside the cluster
    controller: {leases: [gadget-controller-leader]}
    protects: nothing outside the cluster
    leaks: false
    removal: safe once the controller is gone
`))
	if err != nil {
		t.Fatal(err)
	}
	stop := renewLease(t, cp, ops, "gadget-controller-leader", "build-host-7_1b9e")
	defer stop()
	apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}", gadgetGroup, ns, gadgetFinalizer))
	t.Cleanup(func() { removeFinalizers(t, cp, ns) })

	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	s, err := inventory.FromCluster(t.Context(), cp.Config, ns, inventory.ClusterOptions{NoCache: true, Catalog: cat, Now: ahead})
	if err != nil {
		t.Fatal(err)
	}
	f := factOf(t, s, gadgetFinalizer)
	if f.Liveness != inventory.LivenessAlive || !strings.Contains(evidenceOf(f), "Lease "+ops+"/gadget-controller-leader") {
		t.Errorf("with the client's clock an hour ahead: liveness %s, want alive from the Lease; evidence:\n%s", f.Liveness, evidenceOf(f))
	}
	if now, err := time.Parse(time.RFC3339, s.Now); err != nil || now.Sub(time.Now()).Abs() > 5*time.Second {
		t.Errorf("snapshot judged at %q, want the API server's time (about now)", s.Now)
	}
}

// A Terminating namespace held only by its own metadata.finalizers
// (Rancher's controller.cattle.io/namespace-auth) is blocked, with the
// finalizer's controller and liveness: not "should finish within seconds".
func TestNamespaceHeldByItsOwnFinalizer(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "lv-own")
	nsObj, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Finalizers = append(nsObj.Finalizers, "controller.cattle.io/namespace-auth")
	if _, err := cp.Client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeFinalizers(t, cp, ns) })
	deleteNamespace(t, cp, ns)
	// The namespace controller empties it and removes its own finalizer;
	// the metadata finalizer stays.
	err = cp.WaitFor(ctx, hangTimeout, poll, func(ctx context.Context) (bool, error) {
		n, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return err == nil && len(n.Spec.Finalizers) == 0 && n.Status.Phase == corev1.NamespaceTerminating, err
	})
	if err != nil {
		t.Fatalf("namespace %s never lost its spec finalizer: %v", ns, err)
	}

	res := runDiagnose(t, cp.Config, ns)
	r := res.Report
	if r.State != diagnose.StateTerminating || !r.Blocked {
		t.Errorf("state %s, blocked %v; want Terminating and blocked", r.State, r.Blocked)
	}
	fin := finalizerOf(t, r, "controller.cattle.io/namespace-auth")
	if fin.Liveness != inventory.LivenessAbsent || fin.Objects != 1 {
		t.Errorf("finalizer: liveness %s on %d object(s), want absent on the namespace", fin.Liveness, fin.Objects)
	}
	for _, c := range r.RootCause {
		if strings.Contains(c, "should finish") {
			t.Errorf("root cause says it will finish on its own: %q", c)
		}
	}
	if _, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard diagnose "+ns); code != 1 {
		t.Errorf("nsguard diagnose %s: exit %d, want 1 (blocked)", ns, code)
	}
}

// diagnose exits 3, not 0, when it could not check everything and nothing
// it saw blocks: a namespace viewer cannot list Deployments cluster-wide.
func TestDiagnoseIncompleteExits3(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ns := cp.NewNamespace(t, "lv-partial")
	user := "viewer-" + ns
	bind(t, cp, ns, "view", rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user})
	_, kubeconfig, err := cp.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := runCLI(t, cp, kubeconfig, "nsguard diagnose "+ns)
	if code != 3 {
		t.Errorf("nsguard diagnose %s as a namespace viewer: exit %d, want 3 (incomplete)\n%s", ns, code, out)
	}
}

// apply applies a manifest.
func apply(t *testing.T, cp *controlplane.ControlPlane, manifest string) {
	t.Helper()
	if err := cp.Apply(t.Context(), manifest); err != nil {
		t.Fatalf("apply: %v\n%s", err, manifest)
	}
}

func bindSA(t *testing.T, cp *controlplane.ControlPlane, ns, role, saNamespace, sa string) {
	t.Helper()
	bind(t, cp, ns, role, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: saNamespace})
}

// bind grants ClusterRole role to subject in namespace ns only, so that
// the cases running side by side on one cluster do not grant each other
// anything.
func bind(t *testing.T, cp *controlplane.ControlPlane, ns, role string, subject rbacv1.Subject) {
	t.Helper()
	_, err := cp.Client.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: role + "-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{subject},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(role, "lv-") {
		t.Cleanup(func() {
			_ = cp.Client.RbacV1().ClusterRoles().Delete(context.Background(), role, metav1.DeleteOptions{})
		})
	}
}

// aggregateIntoEdit installs the gadgets editor role that aggregates into
// edit, and waits until the clusterrole-aggregation controller has copied
// its rules into edit.
func aggregateIntoEdit(t *testing.T, cp *controlplane.ControlPlane) {
	t.Helper()
	apply(t, cp, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: lv-gadgets-editor
  labels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
rules:
  - apiGroups: [liveness.e2e.nsguard.io]
    resources: [gadgets]
    verbs: [create, delete, patch, update]`)
	err := cp.WaitFor(t.Context(), 30*time.Second, poll, func(ctx context.Context) (bool, error) {
		edit, err := cp.Client.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, r := range edit.Rules {
			for _, g := range r.APIGroups {
				if g == gadgetGroup {
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the aggregation controller never added the gadget rules to edit: %v", err)
	}
}

// readyDeployment creates a Deployment running as sa, reports its pod
// ready and returns the pod's name.
func readyDeployment(t *testing.T, cp *controlplane.ControlPlane, ns, name, sa string) string {
	t.Helper()
	apply(t, cp, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      serviceAccountName: %s
      containers: [{name: c, image: example.invalid/%s}]`, name, ns, name, name, sa, name))
	return markDeploymentReady(t, cp, ns, name)
}

// readyPod creates a pod (owned by owner, or bare) and reports it running
// and ready, as a kubelet would.
func readyPod(t *testing.T, cp *controlplane.ControlPlane, ns, name, sa string, owner *metav1.OwnerReference) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{ServiceAccountName: sa, RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "example.invalid/" + name}}},
	}
	if owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	created, err := cp.Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	created.Status.Phase = corev1.PodRunning
	created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	if _, err := cp.Client.CoreV1().Pods(ns).UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// staleLease creates a Lease last renewed age ago.
func staleLease(t *testing.T, cp *controlplane.ControlPlane, ns, name, holder string, age time.Duration) {
	t.Helper()
	renewed := metav1.NewMicroTime(time.Now().Add(-age))
	d := int32(15)
	lease := fmt.Sprintf(`apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: %s, namespace: %s}
spec: {holderIdentity: %s, leaseDurationSeconds: %d, renewTime: "%s"}`, name, ns, holder, d, renewed.Format(metav1.RFC3339Micro))
	apply(t, cp, lease)
}

// removeFinalizers lets a test's namespace go: it strips the test's own
// finalizers from the namespace and its Gadgets.
func removeFinalizers(t *testing.T, cp *controlplane.ControlPlane, ns string) {
	removeFinalizersOf(t, cp, ns, gadgetGroup)
}

// removeFinalizersOf is removeFinalizers for the Gadgets of another group.
func removeFinalizersOf(t *testing.T, cp *controlplane.ControlPlane, ns, group string) {
	ctx := context.Background()
	out, _ := cp.Kubectl(ctx, "get", "gadgets."+group, "-n", ns, "-o", "name")
	for _, name := range strings.Fields(string(out)) {
		_, _ = cp.Kubectl(ctx, "patch", name, "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	}
	_, _ = cp.Kubectl(ctx, "patch", "namespace", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
}

func factOf(t *testing.T, s *inventory.Snapshot, finalizer string) *inventory.FinalizerFact {
	t.Helper()
	for _, f := range s.Finalizers {
		if f.Finalizer == finalizer && f.Namespace == s.Target {
			return f
		}
	}
	t.Fatalf("no fact for %s in %s", finalizer, s.Target)
	return nil
}

func evidenceOf(f *inventory.FinalizerFact) string {
	all := strings.Join(f.Evidence, "\n")
	for _, h := range f.Handlers {
		all += "\n" + h.Workload.Kind + " " + h.Workload.Namespace + "/" + h.Workload.Name + " via " + strings.Join(h.Via, ",") + ": " + strings.Join(h.Evidence, "; ")
	}
	return all
}

func ptrTo[T any](v T) *T { return &v }
