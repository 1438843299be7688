package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/test/controlplane"
)

// TestDiagnoseOperatorInItsNamespace: an operator (a Deployment whose pod
// the test reports ready, with a leader-election Lease the test renews)
// runs in the namespace of the custom resources it finalizes, with a Role
// that lets it update them.
//
// Before deletion, diagnose (the pre-flight check) says deleting the
// namespace would hang: controller-in-namespace, the controller alive with
// its evidence, and a plan that deletes the resources first. Then the
// namespace is deleted: the operator goes first and its resource keeps the
// namespace Terminating; diagnose now finds the finalizer orphaned.
func TestDiagnoseOperatorInItsNamespace(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "dg-operator")
	if err := cp.Apply(ctx, fmt.Sprintf(operatorManifest, ns)); err != nil {
		t.Fatal(err)
	}
	pod := markDeploymentReady(t, cp, ns, "operator")
	stopLease := renewLease(t, cp, ns, "operator-lock", pod+"_7c1e2a")
	defer stopLease()
	waitReadyReplicas(t, cp, ns, "operator", 1)

	// Pre-flight: the namespace is Active, the operator alive.
	res := runDiagnose(t, cp.Config, ns)
	requireComplete(t, res.Snapshot)
	r := res.Report
	if r.State != diagnose.StateActive || !r.Blocked {
		t.Errorf("state %s, blocked %v; want Active, and blocked (deleting it would hang)", r.State, r.Blocked)
	}
	requireRule(t, r, "controller-in-namespace")
	fin := finalizerOf(t, r, operatorFinalizer)
	if fin.Liveness != inventory.LivenessAlive || fin.Removal != diagnose.RemovalUnsafe {
		t.Errorf("finalizer %s: liveness %s, removal %s; want alive and unsafe to remove", operatorFinalizer, fin.Liveness, fin.Removal)
	}
	var ctrl *diagnose.Controller
	for i, c := range fin.Controllers {
		if c.Workload.Kind == "Deployment" && c.Workload.Name == "operator" {
			ctrl = &fin.Controllers[i]
		}
	}
	if ctrl == nil {
		t.Fatalf("the operator Deployment is not among the controllers of %s: %+v", operatorFinalizer, fin.Controllers)
	}
	evidence := strings.Join(ctrl.Evidence, "; ")
	if !ctrl.InNamespace || ctrl.Liveness != inventory.LivenessAlive ||
		!strings.Contains(evidence, "1 pod(s) running and ready") || !strings.Contains(evidence, "Lease "+ns+"/operator-lock") {
		t.Errorf("controller: in namespace %v, liveness %s, evidence %q; want alive in the namespace, with its replicas and Lease as evidence",
			ctrl.InNamespace, ctrl.Liveness, evidence)
	}
	if _, cmd, _ := stepWith(r, "kubectl delete widgets.operator.e2e.nsguard.io --all -n "+ns); cmd == "" {
		t.Errorf("the pre-flight plan does not delete the widgets first: %+v", r.Plan)
	}
	requireNoForbiddenAdvice(t, r)

	// Delete it: the pods go first, then the operator's Deployment, Role and
	// Lease; the Widget stays with its finalizer.
	deleteNamespace(t, cp, ns)
	waitHangs(t, cp, ns, corev1.NamespaceFinalizersRemaining)
	res = runDiagnose(t, cp.Config, ns)
	requireComplete(t, res.Snapshot)
	r = res.Report
	if r.State != diagnose.StateTerminating || !r.Blocked {
		t.Errorf("state %s, blocked %v; want Terminating and blocked", r.State, r.Blocked)
	}
	requireRule(t, r, "orphaned-finalizer")
	if fin := finalizerOf(t, r, operatorFinalizer); fin.Liveness != inventory.LivenessAbsent || !fin.GoneForGood {
		t.Errorf("after the deletion, finalizer %s: liveness %s, gone for good %v; want absent", operatorFinalizer, fin.Liveness, fin.GoneForGood)
	}
	_, cmd, _ := stepWith(r, "kubectl patch widgets.operator.e2e.nsguard.io w1 ", operatorFinalizer)
	if cmd == "" {
		t.Fatalf("no plan step removes %s: %+v", operatorFinalizer, r.Plan)
	}
	runPlanCommand(t, cp, cmd)
	waitGone(t, cp, ns)
}

const operatorFinalizer = "operator.e2e.nsguard.io/cleanup"

const operatorManifest = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.operator.e2e.nsguard.io}
spec:
  group: operator.e2e.nsguard.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: operator, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: widget-operator, namespace: %[1]s}
rules:
- apiGroups: [operator.e2e.nsguard.io]
  resources: [widgets]
  verbs: [get, list, watch, update, patch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: widget-operator, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: widget-operator}
subjects:
- {kind: ServiceAccount, name: operator, namespace: %[1]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator, namespace: %[1]s, labels: {app: operator}}
spec:
  replicas: 1
  selector: {matchLabels: {app: operator}}
  template:
    metadata: {labels: {app: operator}}
    spec:
      serviceAccountName: operator
      containers: [{name: manager, image: registry.example/widget-operator:1}]
---
apiVersion: operator.e2e.nsguard.io/v1
kind: Widget
metadata:
  name: w1
  namespace: %[1]s
  finalizers: [operator.e2e.nsguard.io/cleanup]
spec: {size: 3}
`

// markDeploymentReady reports the Deployment's pod Running and Ready (there
// is no kubelet) and returns the pod's name.
func markDeploymentReady(t *testing.T, cp *controlplane.ControlPlane, ns, app string) string {
	t.Helper()
	pod, err := cp.ReportPodReady(t.Context(), ns, "app="+app)
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// waitReadyReplicas waits until the Deployment's status counts ready
// replicas.
func waitReadyReplicas(t *testing.T, cp *controlplane.ControlPlane, ns, name string, want int32) {
	t.Helper()
	if err := cp.WaitReadyReplicas(t.Context(), ns, name, want); err != nil {
		t.Fatal(err)
	}
}

// renewLease plays the operator's leader election: it creates a Lease held
// by holder and renews it every second, as controller-runtime does (lease
// duration 15 s), until stopped or until the Lease is deleted with its
// namespace. It returns once the Lease exists.
func renewLease(t *testing.T, cp *controlplane.ControlPlane, ns, name, holder string) (stop func()) {
	t.Helper()
	leases := cp.Client.CoordinationV1().Leases(ns)
	duration := int32(15)
	now := metav1.NewMicroTime(time.Now())
	_, err := leases.Create(t.Context(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: &holder, LeaseDurationSeconds: &duration, AcquireTime: &now, RenewTime: &now,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Lease %s/%s: %v", ns, name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			l, err := leases.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return // deleted with its namespace, as the operator was
			}
			if err != nil {
				continue
			}
			renewed := metav1.NewMicroTime(time.Now())
			l.Spec.RenewTime = &renewed
			_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
	}()
	return func() { cancel(); wg.Wait() }
}
