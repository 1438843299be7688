package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/diagnose"
)

// TestDiagnoseHealthyNamespace: a namespace with ordinary content
// (ConfigMaps, a Secret, a Deployment, a Service, a Role) and no finalizer
// of anyone's. Diagnose finds nothing that would block, through the library
// and through the built command (exit 0, also as a kubectl plugin), and the
// deletion then completes.
func TestDiagnoseHealthyNamespace(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "dg-healthy")
	if err := cp.Apply(ctx, fmt.Sprintf(healthyManifest, ns)); err != nil {
		t.Fatal(err)
	}

	// kube-controller-manager adds these to every namespace, shortly after
	// it is created.
	err := cp.WaitFor(ctx, 30*time.Second, poll, func(ctx context.Context) (bool, error) {
		_, err1 := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		_, err2 := cp.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err1 == nil && err2 == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s never got its default ServiceAccount and root CA: %v", ns, err)
	}

	res := runDiagnose(t, cp.Config, ns)
	requireComplete(t, res.Snapshot)
	r := res.Report
	if r.State != diagnose.StateActive || r.Blocked {
		t.Errorf("state %s, blocked %v; want Active and not blocked; findings: %s", r.State, r.Blocked, ruleList(r))
	}
	for _, f := range r.Findings {
		if f.Severity == "deny" {
			t.Errorf("unexpected deny finding %s: %s", f.Rule, f.Message)
		}
	}
	if len(r.Plan) != 0 {
		t.Errorf("a healthy namespace needs no plan, got %d steps", len(r.Plan))
	}
	// The objects of the namespace, including the ones every namespace has
	// (ServiceAccount default, ConfigMap kube-root-ca.crt), are all seen.
	for _, want := range []string{"ConfigMap/settings", "ConfigMap/kube-root-ca.crt", "Secret/token", "Deployment/web", "Service/web", "Role/reader", "ServiceAccount/default"} {
		kind, name, _ := strings.Cut(want, "/")
		found := false
		for _, o := range res.Snapshot.Objects {
			if o.Ref.Namespace == ns && o.Ref.Kind == kind && o.Ref.Name == name {
				found = true
			}
		}
		if !found {
			t.Errorf("the snapshot misses %s in %s", want, ns)
		}
	}

	// The built command, plain and as a kubectl plugin.
	out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard diagnose "+ns)
	if code != 0 || !strings.Contains(out, "OK: nothing would block its deletion") {
		t.Errorf("nsguard diagnose %s: exit %d, want 0 and an OK verdict", ns, code)
	}
	out, _, code = runCLI(t, cp, cp.Kubeconfig(), "kubectl nsguard diagnose "+ns+" -o json")
	if code != 0 {
		t.Errorf("kubectl nsguard diagnose %s -o json: exit %d, want 0", ns, code)
	}
	if jr := decodeReport(t, out); jr.Namespace != ns || jr.State != "Active" || !jr.Complete || jr.Blocked {
		t.Errorf("JSON report: namespace %q state %q complete %v blocked %v", jr.Namespace, jr.State, jr.Complete, jr.Blocked)
	}
	// Usage and connection errors exit 2.
	if _, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard diagnose no-such-namespace-"+ns); code != 2 {
		t.Errorf("diagnose of a missing namespace: exit %d, want 2", code)
	}
	if _, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard diagnose "+ns+" -o yaml"); code != 2 {
		t.Errorf("diagnose -o yaml: exit %d, want 2", code)
	}

	deleteNamespace(t, cp, ns)
	waitGone(t, cp, ns)
}

const healthyManifest = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: %[1]s}
data: {mode: production}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: %[1]s}
stringData: {token: not-a-secret}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example/web:1}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %[1]s}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: %[1]s}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, list]}
`
