package e2e

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/diagnose"
)

// TestDiagnoseFailClosedWebhookInNamespace: a validating webhook that fails
// closed is served from the namespace (its Service has no ready endpoints:
// its pods are gone) and intercepts the DELETE of ConfigMaps in it. The
// namespace controller cannot delete them, so the namespace hangs with
// NamespaceDeletionContentFailure. Diagnose names the webhook; its plan
// deletes the webhook configuration, and the namespace goes.
//
// The webhook's namespaceSelector limits it to this namespace, so the tests
// running beside it on the same control plane are not affected.
func TestDiagnoseFailClosedWebhookInNamespace(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "dg-webhook")
	hook := "dg-deny-deletes-" + ns
	if err := cp.Apply(ctx, fmt.Sprintf(webhookManifest, ns, hook)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // never leave a fail-closed webhook behind
		_ = cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, hook, metav1.DeleteOptions{})
	})

	// Pre-flight: the webhook is served from the namespace it intercepts.
	res := runDiagnose(t, cp.Config, ns)
	requireComplete(t, res.Snapshot)
	if !res.Report.Blocked {
		t.Errorf("pre-flight: not blocked; findings: %s", ruleList(res.Report))
	}
	requireRule(t, res.Report, "admission-webhook-in-namespace")

	deleteNamespace(t, cp, ns)
	waitHangs(t, cp, ns, corev1.NamespaceDeletionContentFailure)

	res = runDiagnose(t, cp.Config, ns)
	requireComplete(t, res.Snapshot)
	r := res.Report
	if r.State != diagnose.StateTerminating || !r.Blocked {
		t.Errorf("state %s, blocked %v; want Terminating and blocked", r.State, r.Blocked)
	}
	f := requireRule(t, r, "admission-webhook-unavailable", "admission-webhook-in-namespace")
	if f.Object.Name != hook {
		t.Errorf("the finding is about %s %s, want the webhook configuration %s", f.Object.Kind, f.Object.Name, hook)
	}
	if len(r.RootCause) == 0 || !strings.Contains(strings.Join(r.RootCause, " "), hook) {
		t.Errorf("the root cause does not name the webhook: %q", r.RootCause)
	}
	requireNoForbiddenAdvice(t, r)
	st, cmd, i := stepWith(r, "validatingwebhookconfigurations.admissionregistration.k8s.io "+hook)
	if cmd == "" || i != 0 {
		t.Fatalf("the plan does not start with the webhook configuration (step %d): %+v", i, r.Plan)
	}
	t.Logf("plan step 1 [%s]: %s", st.Safety, st.Title)
	runPlanCommand(t, cp, cmd)
	waitGone(t, cp, ns)
}

const webhookManifest = `
apiVersion: v1
kind: Service
metadata: {name: policy-webhook, namespace: %[1]s}
spec:
  selector: {app: policy-webhook}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: %[1]s}
data: {mode: strict}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: %[2]s}
webhooks:
- name: deletes.policy.e2e.nsguard.io
  clientConfig:
    service: {namespace: %[1]s, name: policy-webhook, path: /validate, port: 443}
  rules:
  - operations: [DELETE]
    apiGroups: [""]
    apiVersions: [v1]
    resources: [configmaps]
    scope: Namespaced
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: 5
  namespaceSelector:
    matchLabels: {kubernetes.io/metadata.name: %[1]s}
`
