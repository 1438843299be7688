package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/test/controlplane"
)

// With --cert-rotation, nsguard serve makes its own CA and serving
// certificate, keeps them in a Secret (mounted where its server reads
// them), and injects the CA into its ValidatingWebhookConfiguration; it is
// ready only once the certificate is in place.
func TestWebhookCertificateRotation(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "wh-certs")
	vwcName := "nsguard-e2e-rotation-" + ns
	url := "https://127.0.0.1:1/validate-namespace-delete"
	none := admissionregistrationv1.SideEffectClassNone
	ignore := admissionregistrationv1.Ignore
	vwcs := cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	_, err := vwcs.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: vwcName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "namespaces.nsguard.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
			SideEffects: &none, FailurePolicy: &ignore, AdmissionReviewVersions: []string{"v1"},
			// Selects no namespace: only its caBundle matters here.
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.nsguard.io/never": "true"}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vwcs.Delete(context.Background(), vwcName, metav1.DeleteOptions{}) })

	// The chart creates the Secret, empty; the rotator fills it.
	if _, err := cp.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "nsguard-webhook-tls", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	probe, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	port, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(filepath.Join(nsguardBinary(t), "nsguard"), "serve", "--components", "webhook", "--kubeconfig", cp.Kubeconfig(),
		"--cert-rotation", "--cert-secret", ns+"/nsguard-webhook-tls", "--service-name", "nsguard-webhook",
		"--webhook-configuration", vwcName, "--cert-dir", certDir,
		"--webhook-host", "127.0.0.1", "--webhook-port", port, "--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:"+probe)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("nsguard serve log:\n%s", logs.String())
		}
	})

	// In a pod the Secret is mounted at --cert-dir and the kubelet writes
	// its keys as files; there is no kubelet here, so the test does.
	var secret *corev1.Secret
	err = cp.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		secret, err = cp.Client.CoreV1().Secrets(ns).Get(ctx, "nsguard-webhook-tls", metav1.GetOptions{})
		return err == nil && len(secret.Data["tls.crt"]) > 0 && len(secret.Data["ca.crt"]) > 0, err
	})
	if err != nil {
		t.Fatalf("the rotator never filled the Secret: %v", err)
	}
	for _, k := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(certDir, k), secret.Data[k], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err = cp.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		resp, err := http.Get("http://127.0.0.1:" + probe + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("nsguard serve never became ready: %v", err)
	}
	if len(secret.Data["tls.key"]) == 0 {
		t.Error("the Secret has no tls.key")
	}
	vwc, err := vwcs.Get(ctx, vwcName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := vwc.Webhooks[0].ClientConfig.CABundle; !bytes.Equal(got, secret.Data["ca.crt"]) {
		t.Errorf("caBundle of %s (%d bytes) is not the Secret's CA (%d bytes)", vwcName, len(got), len(secret.Data["ca.crt"]))
	}
}
