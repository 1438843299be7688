package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nsguard/nsguard/test/controlplane"
)

// The remediator on the real control plane, with kube-controller-manager
// deleting namespaces. It runs as nsguard serve --components remediator,
// impersonating a service account bound to the roles of
// docs/rbac/nsguard-serve.yaml only: least privilege is tested, not
// assumed. The scenarios label their namespaces nsguard.io/remediation=
// enabled; the other tests' stuck namespaces are left alone (the default is
// disabled).

const remediatorNS = "nsguard-e2e"

// remediatorIdentity installs the roles and the service account the
// remediator runs as, once, and returns a kubeconfig that impersonates it.
var (
	identityOnce       sync.Once
	identityKubeconfig string
	identityErr        error
)

func remediatorKubeconfig(t *testing.T, cp *controlplane.ControlPlane) string {
	t.Helper()
	identityOnce.Do(func() { identityKubeconfig, identityErr = installRemediatorIdentity(cp) })
	if identityErr != nil {
		t.Fatal(identityErr)
	}
	return identityKubeconfig
}

func installRemediatorIdentity(cp *controlplane.ControlPlane) (string, error) {
	ctx := context.Background()
	roles, err := os.ReadFile(filepath.Join("..", "..", "docs", "rbac", "nsguard-serve.yaml"))
	if err != nil {
		return "", err
	}
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: nsguard, namespace: %[1]s}
---
%[2]s`, remediatorNS, strings.ReplaceAll(string(roles), "NAMESPACE", remediatorNS))
	if err := cp.Apply(ctx, manifest); err != nil {
		return "", err
	}
	sa := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "nsguard", Namespace: remediatorNS}
	for _, role := range []string{"nsguard-read", "nsguard-remediator"} {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role + "-e2e"},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: []rbacv1.Subject{sa}}
		if _, err := cp.Client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", err
		}
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "nsguard-remediator", Namespace: remediatorNS},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "nsguard-remediator"}, Subjects: []rbacv1.Subject{sa}}
	if _, err := cp.Client.RbacV1().RoleBindings(remediatorNS).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	// The administrator's kubeconfig, impersonating the service account.
	cfg, err := clientcmd.LoadFromFile(cp.Kubeconfig())
	if err != nil {
		return "", err
	}
	for _, ai := range cfg.AuthInfos {
		ai.Impersonate = "system:serviceaccount:" + remediatorNS + ":nsguard"
		ai.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + remediatorNS, "system:authenticated"}
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("nsguard-e2e-remediator-%d.kubeconfig", os.Getpid()))
	return path, clientcmd.WriteToFile(*cfg, path)
}

// remediator is a running nsguard serve --components remediator.
type remediator struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRemediator starts a remediator as the chart's service account, its
// state and Lease in remediatorNS.
func startRemediator(t *testing.T, cp *controlplane.ControlPlane, args ...string) *remediator {
	t.Helper()
	return startRemediatorWith(t, cp, append([]string{"--kubeconfig", remediatorKubeconfig(t, cp), "--state-namespace", remediatorNS}, args...))
}

// startRemediatorWith starts nsguard serve --components remediator with
// short delays (the flags in args come after and win).
func startRemediatorWith(t *testing.T, cp *controlplane.ControlPlane, args []string) *remediator {
	t.Helper()
	probe, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"serve", "--components", "remediator", "--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:" + probe,
		"--stuck-after", "2s", "--controller-gone-after", "3s", "--recheck-interval", "2s", "-v", "1"}, args...)
	r := &remediator{cmd: exec.Command(filepath.Join(nsguardBinary(t), "nsguard"), all...), logs: &syncBuffer{}, done: make(chan struct{})}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("remediator log:\n%s", r.logs.String())
		}
	})
	return r
}

func (r *remediator) stop() { controlplane.Interrupt(r.cmd, r.done, 10*time.Second) }

// stuckNamespace creates a namespace with remediation enabled, holding one
// Gadget whose finalizer nothing removes, and deletes it.
func stuckNamespace(t *testing.T, cp *controlplane.ControlPlane, prefix string) string {
	t.Helper()
	if err := cp.Apply(t.Context(), gadgetCRD); err != nil {
		t.Fatal(err)
	}
	ns := cp.NewNamespace(t, prefix)
	enableRemediation(t, cp, ns)
	apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}", gadgetGroup, ns, gadgetFinalizer))
	t.Cleanup(func() { removeFinalizers(t, cp, ns) })
	deleteNamespace(t, cp, ns)
	return ns
}

func enableRemediation(t *testing.T, cp *controlplane.ControlPlane, ns string) {
	t.Helper()
	patch := `{"metadata":{"labels":{"nsguard.io/remediation":"enabled"}}}`
	if _, err := cp.Client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitEvent waits for an Event about ns with reason whose note contains
// every part.
func waitEvent(t *testing.T, cp *controlplane.ControlPlane, ns, reason string, parts ...string) string {
	t.Helper()
	var found string
	err := cp.WaitFor(t.Context(), 60*time.Second, 500*time.Millisecond, func(context.Context) (bool, error) {
		for _, note := range cp.NamespaceEvents(t, ns)[reason] {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(note, p)
			}
			if ok {
				found = note
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s Event about %s containing %q; Events: %v", reason, ns, parts, cp.NamespaceEvents(t, ns))
	}
	return found
}

func gadgetFinalizers(t *testing.T, cp *controlplane.ControlPlane, ns string) []string {
	t.Helper()
	return gadgetFinalizersOf(t, cp, ns, gadgetGroup)
}

func gadgetFinalizersOf(t *testing.T, cp *controlplane.ControlPlane, ns, group string) []string {
	t.Helper()
	out, err := cp.Kubectl(t.Context(), "get", "gadgets."+group, "g1", "-n", ns, "-o", "jsonpath={.metadata.finalizers}")
	if err != nil {
		return nil
	}
	return strings.Fields(strings.Trim(string(out), "[]\""))
}

func TestRemediator(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)

	// One remediator at a time: each acts on every namespace that enables
	// remediation.
	t.Run("dryrun says what it would do and does nothing", func(t *testing.T) {
		r := startRemediator(t, cp, "--remediation", "dryrun", "--remediation-actions", "remove-finalizer", "--allow-finalizer", gadgetFinalizer)
		ns := stuckNamespace(t, cp, "rm-dry")
		note := waitEvent(t, cp, ns, "WouldRemediate", "would remove finalizer "+gadgetFinalizer, "no controller has been able to handle it for")
		t.Logf("Event: %s", note)
		time.Sleep(5 * time.Second)
		if fins := gadgetFinalizers(t, cp, ns); len(fins) != 1 || namespacePhase(t, cp, ns) != "Terminating" {
			t.Errorf("in dryrun the finalizers became %v and the namespace %s", fins, namespacePhase(t, cp, ns))
		}
		r.stop()
	})

	t.Run("on, allowed: the orphaned finalizer goes and the namespace with it", func(t *testing.T) {
		r := startRemediator(t, cp, "--remediation", "on", "--remediation-actions", "remove-finalizer", "--allow-finalizer", gadgetFinalizer)
		ns := stuckNamespace(t, cp, "rm-on")
		waitEvent(t, cp, ns, "Remediating", "about to remove finalizer "+gadgetFinalizer, "its metadata before:", `"finalizers":["`+gadgetFinalizer+`"]`)
		waitGone(t, cp, ns)
		if !strings.Contains(r.logs.String(), `"msg":"remediated"`) {
			t.Errorf("no log line for the action:\n%s", r.logs.String())
		}
		r.stop()
	})

	t.Run("a leaking finalizer that is not allow-listed stays", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "catalog.yaml")
		if err := os.WriteFile(data, []byte(`nsguard:
  catalog:
    finalizers:
      - id: e2e-gadgets
        name: `+gadgetFinalizer+`
        project: e2e
        handledBy: the gadget controller
        protects: a cloud load balancer per gadget
        leaks: true
        removal: the load balancer stays and keeps costing
`), 0o600); err != nil {
			t.Fatal(err)
		}
		r := startRemediator(t, cp, "--remediation", "on", "--remediation-actions", "remove-finalizer", "--data", data)
		ns := stuckNamespace(t, cp, "rm-leak")
		waitEvent(t, cp, ns, "RemediationRefused", "removing it leaks a cloud load balancer per gadget")
		if fins := gadgetFinalizers(t, cp, ns); len(fins) != 1 {
			t.Errorf("the leaking finalizer was removed: %v", fins)
		}
		r.stop()
	})

	t.Run("controllers that look absent but are alive keep their finalizers", func(t *testing.T) {
		r := startRemediator(t, cp, "--remediation", "on", "--remediation-actions",
			"remove-finalizer,delete-object,delete-apiservice,delete-webhook-configuration,patch-webhook-failure-policy", "--allow-finalizer", "remediate.e2e.nsguard.io/cleanup")
		// Gadgets of a group of their own, granted through
		// ClusterRoleBindings: the grants outlive the namespaces' deletion,
		// as an operator's do, and no other test's Gadgets get them.
		env := caseEnv{group: "remediate.e2e.nsguard.io", clusterWide: true}
		apply(t, cp, strings.ReplaceAll(gadgetCRD, gadgetGroup, env.group))
		finalizer := env.group + "/cleanup"
		var namespaces []string
		for _, tc := range aliveCases(env) {
			ns := cp.NewNamespace(t, "rm-alive")
			ops := cp.NewNamespace(t, "rm-alive-ops")
			tc.setup(t, cp, ns, ops)
			enableRemediation(t, cp, ns)
			apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}", env.group, ns, finalizer))
			t.Cleanup(func() { removeFinalizersOf(t, cp, ns, env.group) })
			deleteNamespace(t, cp, ns)
			namespaces = append(namespaces, ns)
			t.Logf("%s: %s", ns, tc.name)
		}
		for _, ns := range namespaces {
			waitEvent(t, cp, ns, "RemediationRefused", "will not remove finalizer "+finalizer, "its controller is alive")
		}
		// Past --stuck-after and --controller-gone-after many times over.
		time.Sleep(10 * time.Second)
		for _, ns := range namespaces {
			if fins := gadgetFinalizersOf(t, cp, ns, env.group); len(fins) != 1 {
				t.Errorf("%s: the live controller's finalizer was removed: %v", ns, fins)
			}
		}
		if strings.Contains(r.logs.String(), `"msg":"remediated"`) {
			t.Errorf("the remediator acted:\n%s", r.logs.String())
		}
		r.stop()
	})
}

// aliveCases are the liveness cases whose controller is alive.
func aliveCases(env caseEnv) []livenessCase {
	var out []livenessCase
	for _, c := range livenessCases(env) {
		if c.liveness == "alive" {
			out = append(out, c)
		}
	}
	return out
}
