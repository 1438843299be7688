package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nsguard/nsguard/test/controlplane"
)

// Two remediators share a leader-election Lease: only the leader looks at
// stuck namespaces, and killing it hands over to the other.
func TestRemediatorLeaderElection(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	state := cp.NewNamespace(t, "rm-le-state")
	// A group of its own: the other remediator tests allow-list only theirs.
	group := "le.e2e.nsguard.io"
	apply(t, cp, strings.ReplaceAll(gadgetCRD, gadgetGroup, group))
	start := func() *remediator {
		return startRemediatorAs(t, cp, cp.Kubeconfig(), state, "--remediation", "dryrun", "--remediation-actions", "remove-finalizer", "--allow-finalizer", group+"/cleanup")
	}
	a, b := start(), start()
	ns := cp.NewNamespace(t, "rm-le")
	enableRemediation(t, cp, ns)
	apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s/cleanup]}", group, ns, group))
	t.Cleanup(func() { removeFinalizersOf(t, cp, ns, group) })
	deleteNamespace(t, cp, ns)

	passes := func(r *remediator) int { return strings.Count(r.logs.String(), `"msg":"pass","namespace":"`+ns+`"`) }
	var leader, follower *remediator
	err := cp.WaitFor(t.Context(), 60*time.Second, 500*time.Millisecond, func(context.Context) (bool, error) {
		switch {
		case passes(a) > 0:
			leader, follower = a, b
		case passes(b) > 0:
			leader, follower = b, a
		}
		return leader != nil, nil
	})
	if err != nil {
		t.Fatal("neither remediator looked at the stuck namespace")
	}
	time.Sleep(3 * time.Second) // several passes of the leader
	if n := passes(follower); n != 0 {
		t.Fatalf("the follower looked at the namespace %d times while the other led", n)
	}
	// A crash: no chance to release the Lease. The follower takes over once
	// it expires (controller-runtime: 15 s).
	_ = leader.cmd.Process.Signal(syscall.SIGKILL)
	<-leader.done
	killed := time.Now()
	err = cp.WaitFor(t.Context(), 60*time.Second, 500*time.Millisecond, func(context.Context) (bool, error) {
		return passes(follower) > 0, nil
	})
	if err != nil {
		t.Fatal("the follower never took over")
	}
	t.Logf("the follower took over %s after the leader was killed", time.Since(killed).Round(time.Second))
	waitEvent(t, cp, ns, "WouldRemediate", "would remove finalizer "+group+"/cleanup")
}

// startRemediatorAs starts a remediator with another identity and state
// namespace than startRemediator's.
func startRemediatorAs(t *testing.T, cp *controlplane.ControlPlane, kubeconfig, state string, args ...string) *remediator {
	t.Helper()
	return startRemediatorWith(t, cp, append([]string{"--kubeconfig", kubeconfig, "--state-namespace", state}, args...))
}

// An aggregated APIService whose Service is gone stalls every namespace's
// deletion. The remediator deletes it only when delete-apiservice is
// allowed; then the stuck namespaces elsewhere, remediation enabled or
// not, finish on their own. On a control plane of its own: it breaks
// deletion cluster-wide.
func TestRemediatorDeletesAnAPIServiceWhoseServiceIsGone(t *testing.T) {
	t.Parallel()
	cp := controlplane.StartForTest(t, controlplane.Options{})
	ctx := t.Context()
	apply(t, cp, `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.ghost.e2e.nsguard.io}
spec:
  group: ghost.e2e.nsguard.io
  version: v1beta1
  service: {namespace: ghost, name: ghost-api}
  groupPriorityMinimum: 1000
  versionPriority: 15
  insecureSkipTLSVerify: true`)
	victim := cp.NewNamespace(t, "rm-api-victim")
	enableRemediation(t, cp, victim)
	bystander := cp.NewNamespace(t, "rm-api-bystander")
	for _, ns := range []string{victim, bystander} {
		deleteNamespace(t, cp, ns)
		waitHangs(t, cp, ns, corev1.NamespaceDeletionDiscoveryFailure)
	}
	state := cp.NewNamespace(t, "rm-api-state")

	// Not allowed: it stays, and the Event says why.
	r := startRemediatorWith(t, cp, []string{"--kubeconfig", cp.Kubeconfig(), "--state-namespace", state, "--remediation", "on", "--remediation-actions", "remove-finalizer"})
	waitEvent(t, cp, victim, "RemediationRefused", "will not delete apiservice", "not allowed")
	apiServices := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	if _, err := cp.Dynamic.Resource(apiServices).Get(ctx, "v1beta1.ghost.e2e.nsguard.io", metav1.GetOptions{}); err != nil {
		t.Fatalf("the APIService went although delete-apiservice was not allowed: %v", err)
	}
	r.stop()

	startRemediatorWith(t, cp, []string{"--kubeconfig", cp.Kubeconfig(), "--state-namespace", state, "--remediation", "on", "--remediation-actions", "delete-apiservice"})
	waitEvent(t, cp, victim, "Remediated", "did delete apiservice")
	for _, ns := range []string{victim, bystander} {
		waitGone(t, cp, ns)
	}
}
