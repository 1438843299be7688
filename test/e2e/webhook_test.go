package e2e

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nsguard/nsguard/test/controlplane"
)

// The admission webhook through the real kube-apiserver: nsguard serve runs
// next to the control plane, registered by URL with a generated CA, and
// kubectl deletes namespaces through it. Each webhook selects only the
// namespaces labelled for it, so the other tests' deletions never reach it.

const webhookLabel = "e2e.nsguard.io/webhook"

// startWebhook starts nsguard serve in a mode, for namespaces labelled
// webhookLabel=name.
func startWebhook(t *testing.T, cp *controlplane.ControlPlane, name string, args ...string) *controlplane.Webhook {
	t.Helper()
	bin := filepath.Join(nsguardBinary(t), "nsguard")
	w, err := cp.StartWebhook(t.Context(), controlplane.WebhookOptions{
		Binary: bin, Name: "nsguard-e2e-" + name, Selector: map[string]string{webhookLabel: name}, Args: append([]string{"--components", "webhook"}, args...),
	})
	if err != nil {
		t.Fatalf("start webhook %s: %v", name, err)
	}
	t.Cleanup(func() {
		w.Stop()
		if t.Failed() {
			t.Logf("nsguard serve (%s) log:\n%s", name, w.LogText())
		}
	})
	return w
}

// guardedNamespace creates a namespace that the named webhook checks.
func guardedNamespace(t *testing.T, cp *controlplane.ControlPlane, webhook, prefix string) string {
	t.Helper()
	ns := cp.NewNamespace(t, prefix)
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, webhookLabel, webhook)
	if _, err := cp.Client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// operatorNamespace is the classic hang: an operator, alive, in the
// namespace of the custom resource it finalizes.
func operatorNamespace(t *testing.T, cp *controlplane.ControlPlane, webhook string) string {
	t.Helper()
	ns := guardedNamespace(t, cp, webhook, "wh-op")
	if err := cp.Apply(t.Context(), fmt.Sprintf(operatorManifest, ns)); err != nil {
		t.Fatal(err)
	}
	markDeploymentReady(t, cp, ns, "operator")
	waitReadyReplicas(t, cp, ns, "operator", 1)
	t.Cleanup(func() { removeWidgetFinalizers(cp, ns) })
	return ns
}

// deleter is a user allowed to delete namespaces, in groups.
func deleter(t *testing.T, cp *controlplane.ControlPlane, name string, groups ...string) string {
	t.Helper()
	_, kubeconfig, err := cp.AddUser(name, groups...)
	if err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-deleter-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}},
	}
	if _, err := cp.Client.RbacV1().ClusterRoleBindings().Create(t.Context(), crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return kubeconfig
}

// kubectlDelete runs kubectl delete namespace as a user and returns
// standard error (where kubectl prints warnings and denials) and the exit
// code.
func kubectlDelete(t *testing.T, cp *controlplane.ControlPlane, kubeconfig, ns string, extra ...string) (string, int) {
	t.Helper()
	_, stderr, code := runCLI(t, cp, kubeconfig, "kubectl delete namespace "+ns+" --wait=false "+strings.Join(extra, " "))
	return stderr, code
}

func namespacePhase(t *testing.T, cp *controlplane.ControlPlane, ns string) string {
	t.Helper()
	n, err := cp.Client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "Gone"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(n.Status.Phase)
}

func TestWebhookEnforce(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte("breakGlass:\n  groups: [platform-admins]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startWebhook(t, cp, "enforce", "--mode", "enforce", "--config", config)
	admin := cp.Kubeconfig()

	t.Run("a healthy namespace is allowed silently and goes", func(t *testing.T) {
		t.Parallel()
		ns := guardedNamespace(t, cp, "enforce", "wh-healthy")
		if err := cp.Apply(t.Context(), fmt.Sprintf(healthyManifest, ns)); err != nil {
			t.Fatal(err)
		}
		stderr, code := kubectlDelete(t, cp, admin, ns)
		if code != 0 || strings.Contains(stderr, "Warning") {
			t.Fatalf("kubectl delete: exit %d, stderr %q; want 0 and no warning", code, stderr)
		}
		// With the webhook enforcing, the namespace controller's own
		// final DELETE goes through too.
		waitGone(t, cp, ns)
	})

	t.Run("a deletion that would hang is denied with the blocker and the fix", func(t *testing.T) {
		t.Parallel()
		ns := operatorNamespace(t, cp, "enforce")
		for _, extra := range [][]string{{"--dry-run=server"}, nil} {
			stderr, code := kubectlDelete(t, cp, admin, ns, extra...)
			if code == 0 {
				t.Fatalf("kubectl delete %v: allowed; want denied", extra)
			}
			for _, want := range []string{"denied the request", "nsguard: deleting namespace " + ns, "controller-in-namespace",
				"kubectl delete widgets.operator.e2e.nsguard.io --all -n " + ns, "kubectl nsguard diagnose " + ns} {
				if !strings.Contains(stderr, want) {
					t.Errorf("kubectl delete %v: the denial lacks %q:\n%s", extra, want, stderr)
				}
			}
		}
		if p := namespacePhase(t, cp, ns); p != "Active" {
			t.Errorf("namespace %s is %s after the denial, want Active", ns, p)
		}
	})

	t.Run("break-glass works for a group member and nobody else", func(t *testing.T) {
		t.Parallel()
		ns := operatorNamespace(t, cp, "enforce")
		patch := `{"metadata":{"annotations":{"nsguard.io/allow-deletion":"decommissioned, operator uninstalled with it"}}}`
		if _, err := cp.Client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		bob := deleter(t, cp, "bob-"+ns, "developers")
		stderr, code := kubectlDelete(t, cp, bob, ns)
		if code == 0 || !strings.Contains(stderr, "lets only members of platform-admins through") {
			t.Fatalf("bob (not in platform-admins): exit %d, stderr %q; want denied, saying why the annotation did not help", code, stderr)
		}
		alice := deleter(t, cp, "alice-"+ns, "platform-admins")
		stderr, code = kubectlDelete(t, cp, alice, ns)
		if code != 0 || !strings.Contains(stderr, "break-glass") {
			t.Fatalf("alice (platform-admins): exit %d, stderr %q; want allowed with a break-glass warning", code, stderr)
		}
		if p := namespacePhase(t, cp, ns); p != "Terminating" {
			t.Errorf("namespace %s is %s, want Terminating", ns, p)
		}
		// A repeated DELETE of a namespace already being deleted passes,
		// whoever sends it.
		if stderr, code := kubectlDelete(t, cp, bob, ns); code != 0 {
			t.Errorf("repeated DELETE by bob: exit %d, stderr %q; want allowed", code, stderr)
		}
	})

	t.Run("a controller alive in another namespace is allowed", func(t *testing.T) {
		t.Parallel()
		ops := cp.NewNamespace(t, "wh-ops")
		if err := cp.Apply(t.Context(), fmt.Sprintf(operatorManifest, ops)); err != nil {
			t.Fatal(err)
		}
		markDeploymentReady(t, cp, ops, "operator")
		waitReadyReplicas(t, cp, ops, "operator", 1)
		t.Cleanup(func() { removeWidgetFinalizers(cp, ops) })
		ns := guardedNamespace(t, cp, "enforce", "wh-apps")
		// The operator's role in the application namespace, and a Widget.
		manifest := fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: widget-operator, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-widget-operator}
subjects:
- {kind: ServiceAccount, name: operator, namespace: %[2]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-widget-operator}
rules:
- apiGroups: [operator.e2e.nsguard.io]
  resources: [widgets]
  verbs: [get, list, watch, update, patch]
---
apiVersion: operator.e2e.nsguard.io/v1
kind: Widget
metadata: {name: w2, namespace: %[1]s, finalizers: [operator.e2e.nsguard.io/cleanup]}`, ns, ops)
		if err := cp.Apply(t.Context(), manifest); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeWidgetFinalizers(cp, ns) })
		if stderr, code := kubectlDelete(t, cp, admin, ns); code != 0 {
			t.Errorf("kubectl delete: exit %d, stderr %q; want allowed", code, stderr)
		}
	})

	t.Run("an orphaned finalizer is denied", func(t *testing.T) {
		t.Parallel()
		ns := guardedNamespace(t, cp, "enforce", "wh-orphan")
		if err := cp.Apply(t.Context(), gadgetCRD); err != nil {
			t.Fatal(err)
		}
		apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}", gadgetGroup, ns, gadgetFinalizer))
		t.Cleanup(func() { removeFinalizers(t, cp, ns) })
		// The webhook's caches learn of a CRD created a moment ago within
		// about a second (discovery, then its informer): until then the
		// Gadget is not checked, and the answer says so.
		var stderr string
		code := 0
		err := cp.WaitFor(t.Context(), 15*time.Second, 300*time.Millisecond, func(context.Context) (bool, error) {
			stderr, code = kubectlDelete(t, cp, admin, ns, "--dry-run=server")
			return code != 0, nil
		})
		if err != nil || !strings.Contains(stderr, "orphaned-finalizer") || !strings.Contains(stderr, gadgetFinalizer) {
			t.Errorf("kubectl delete: exit %d, stderr %q; want denied by orphaned-finalizer", code, stderr)
		}
	})
}

func TestWebhookWarnMode(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	startWebhook(t, cp, "warn", "--mode", "warn")
	ns := operatorNamespace(t, cp, "warn")
	stderr, code := kubectlDelete(t, cp, cp.Kubeconfig(), ns)
	if code != 0 {
		t.Fatalf("kubectl delete in warn mode: exit %d, stderr %q; want allowed", code, stderr)
	}
	// kubectl prints each admission warning on a line of its own.
	if !strings.Contains(stderr, "Warning: deny controller-in-namespace: ") {
		t.Errorf("kubectl did not print the warning:\n%s", stderr)
	}
	for _, l := range strings.Split(stderr, "\n") {
		if w, ok := strings.CutPrefix(l, "Warning: "); ok && len([]rune(w)) > 120 {
			t.Errorf("warning longer than 120 characters: %q", w)
		}
	}
}

func TestWebhookDryRunMode(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	w := startWebhook(t, cp, "dryrun", "--mode", "dryrun")
	ns := operatorNamespace(t, cp, "dryrun")
	stderr, code := kubectlDelete(t, cp, cp.Kubeconfig(), ns)
	if code != 0 || strings.Contains(stderr, "Warning") {
		t.Fatalf("kubectl delete in dryrun mode: exit %d, stderr %q; want allowed silently", code, stderr)
	}
	m, err := w.Metrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m, `nsguard_admission_decisions_total{mode="dryrun",result="would-deny"} 1`) {
		t.Errorf("metrics do not count the would-be denial:\n%s", grepLines(m, "nsguard_"))
	}
	if !strings.Contains(w.LogText(), `"result"="would-deny"`) && !strings.Contains(w.LogText(), `"result":"would-deny"`) {
		t.Errorf("no decision log line with result would-deny:\n%s", w.LogText())
	}
}

// With the webhook down and failurePolicy Ignore, deletions proceed: nsguard
// is never what stops deletions cluster-wide.
func TestWebhookDownFailsOpen(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	w := startWebhook(t, cp, "down", "--mode", "enforce")
	ns := operatorNamespace(t, cp, "down")
	if _, code := kubectlDelete(t, cp, cp.Kubeconfig(), ns, "--dry-run=server"); code == 0 {
		t.Fatal("the running webhook allowed a deletion that would hang")
	}
	w.Kill()
	if stderr, code := kubectlDelete(t, cp, cp.Kubeconfig(), ns); code != 0 {
		t.Errorf("with the webhook down: exit %d, stderr %q; want allowed (failurePolicy Ignore)", code, stderr)
	}
}

// A LIST that hangs does not hold the answer past the decision budget: a
// CRD whose conversion webhook accepts connections and never answers makes
// every LIST of its objects hang.
func TestWebhookAnswersWithinBudget(t *testing.T) {
	t.Parallel()
	// Its own control plane: the broken conversion stalls every other
	// namespace's checks and deletions too.
	cp := controlplane.StartForTest(t, controlplane.Options{})
	hang := hangingServer(t)
	for _, mode := range []string{"list", "watch"} {
		t.Run(mode, func(t *testing.T) {
			name := "budget-" + mode
			startWebhook(t, cp, name, "--mode", "enforce", "--decision-budget", "1s", "--namespace-contents", mode)
			ns := guardedNamespace(t, cp, name, "wh-budget")
			apply(t, cp, fmt.Sprintf(hangingCRD, mode, hang.URL, hang.CA))
			t.Cleanup(func() {
				// Let the namespace go: serve objects as stored.
				_, _ = cp.Kubectl(context.Background(), "patch", "crd", "sprockets"+mode+".hang.e2e.nsguard.io", "--type=merge", "-p", `{"spec":{"conversion":{"strategy":"None","webhook":null}}}`)
			})
			apply(t, cp, fmt.Sprintf("apiVersion: hang.e2e.nsguard.io/v1\nkind: Sprocket%s\nmetadata: {name: s1, namespace: %s}", mode, ns))
			began := time.Now()
			stderr, code := kubectlDelete(t, cp, cp.Kubeconfig(), ns, "--dry-run=server")
			took := time.Since(began)
			if code != 0 {
				t.Errorf("exit %d, stderr %q; want allowed: nothing nsguard saw blocks", code, stderr)
			}
			if !strings.Contains(stderr, "could not check everything") {
				t.Errorf("the answer does not say what was not checked:\n%s", stderr)
			}
			// kubectl's own start and the API server's round trip add to the
			// 1 s budget; a hang would last the conversion's 30 s.
			if took > 8*time.Second {
				t.Errorf("the answer took %s with a 1s budget", took)
			}
			t.Logf("answered in %s: %s", took.Round(time.Millisecond), strings.TrimSpace(stderr))
		})
	}
}

// hangingCRD has two versions, v1 stored and v2 preferred, converted by a
// webhook that never answers: reading its objects in v2 hangs.
const hangingCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sprockets%[1]s.hang.e2e.nsguard.io}
spec:
  group: hang.e2e.nsguard.io
  scope: Namespaced
  names: {plural: sprockets%[1]s, singular: sprocket%[1]s, kind: Sprocket%[1]s}
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig:
        url: %[2]s
        caBundle: %[3]s
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v2
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// hanging is a TLS server that accepts requests and never answers.
type hanging struct {
	URL string
	CA  string // base64 PEM, as a caBundle field takes it
}

func hangingServer(t *testing.T) hanging {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return hanging{URL: srv.URL + "/convert", CA: base64.StdEncoding.EncodeToString(ca)}
}
