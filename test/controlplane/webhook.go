package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
)

// WebhookOptions start `nsguard serve` next to the control plane, the way
// the demo does it (there is no kubelet to run it in a pod).
type WebhookOptions struct {
	// Binary is the nsguard binary.
	Binary string
	// Name names the ValidatingWebhookConfiguration; Selector, when set,
	// limits it to namespaces with these labels, so that tests sharing one
	// control plane do not go through each other's webhooks.
	Name     string
	Selector map[string]string
	// Args are more flags for nsguard serve (--mode, --config, …).
	Args []string
	// FailurePolicy is the configuration's (default Ignore).
	FailurePolicy admissionregistrationv1.FailurePolicyType
	// TimeoutSeconds is the configuration's (default 10).
	TimeoutSeconds int32
	// Kubeconfig is the identity nsguard serve runs as (default: the
	// control plane's administrator).
	Kubeconfig string
}

// Webhook is a running nsguard serve, registered with the API server
// through a URL and a CA generated for it.
type Webhook struct {
	cp         *ControlPlane
	cmd        *exec.Cmd
	done       chan struct{}
	name       string
	Port       int
	MetricsURL string
	ReadyURL   string
	// Log is where nsguard serve writes its log lines.
	Log string

	stopOnce sync.Once
}

// StartWebhook starts nsguard serve, waits until it is ready, and
// registers it for namespace DELETE.
func (cp *ControlPlane) StartWebhook(ctx context.Context, o WebhookOptions) (*Webhook, error) {
	if o.Name == "" {
		return nil, errors.New("controlplane: the webhook needs a name")
	}
	if o.FailurePolicy == "" {
		o.FailurePolicy = admissionregistrationv1.Ignore
	}
	if o.TimeoutSeconds == 0 {
		o.TimeoutSeconds = 10
	}
	if o.Kubeconfig == "" {
		o.Kubeconfig = cp.kubeconfig
	}
	dir, err := os.MkdirTemp(cp.workDir, "webhook-"+o.Name+"-")
	if err != nil {
		return nil, err
	}
	// A CA and a serving certificate for 127.0.0.1, valid for the run.
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		return nil, fmt.Errorf("controlplane: webhook certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600); err != nil {
		return nil, err
	}
	ports := make([]string, 3)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	port, _ := strconv.Atoi(ports[0])
	w := &Webhook{cp: cp, name: o.Name, Port: port, done: make(chan struct{}),
		MetricsURL: "http://127.0.0.1:" + ports[1] + "/metrics", ReadyURL: "http://127.0.0.1:" + ports[2] + "/readyz",
		Log: filepath.Join(cp.logDir, "nsguard-serve-"+o.Name+".log")}
	logf, err := os.Create(w.Log)
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--kubeconfig", o.Kubeconfig, "--cert-dir", dir,
		"--webhook-host", "127.0.0.1", "--webhook-port", ports[0],
		"--metrics-bind-address", "127.0.0.1:" + ports[1], "--health-probe-bind-address", "127.0.0.1:" + ports[2]}, o.Args...)
	w.cmd = exec.Command(o.Binary, args...)
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	if err := w.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("controlplane: start nsguard serve: %w", err)
	}
	cp.reaper.watchPID(w.cmd.Process.Pid)
	go func() { _ = w.cmd.Wait(); logf.Close(); close(w.done) }()

	if err := w.waitReady(ctx, 60*time.Second); err != nil {
		w.Stop()
		return nil, err
	}
	if err := w.register(ctx, certPEM, o); err != nil {
		w.Stop()
		return nil, err
	}
	return w, nil
}

// waitReady polls /readyz until it answers 200.
func (w *Webhook) waitReady(ctx context.Context, timeout time.Duration) error {
	return WaitFor(ctx, timeout, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		select {
		case <-w.done:
			return false, fmt.Errorf("nsguard serve exited before it was ready:\n%s", tail(w.Log, 30))
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.ReadyURL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// register creates the ValidatingWebhookConfiguration, then waits until
// the API server calls the webhook (it reads configurations from a cache).
func (w *Webhook) register(ctx context.Context, caBundle []byte, o WebhookOptions) error {
	url := fmt.Sprintf("https://127.0.0.1:%d/validate-namespace-delete", w.Port)
	none := admissionregistrationv1.SideEffectClassNone
	sel := &metav1.LabelSelector{MatchLabels: o.Selector}
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "namespaces.nsguard.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"}, Scope: ptrTo(admissionregistrationv1.ClusterScope)}}},
			FailurePolicy:           &o.FailurePolicy,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          &o.TimeoutSeconds,
			NamespaceSelector:       sel,
		}},
	}
	if _, err := w.cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("controlplane: register the webhook: %w", err)
	}
	return w.waitCalled(ctx, o.Selector)
}

// waitCalled waits until the API server calls the webhook: it picks
// configurations up from an informer, a moment after they are created. A
// probe namespace that the webhook selects is deleted with a server-side
// dry run until nsguard serve logs a decision on it.
func (w *Webhook) waitCalled(ctx context.Context, labels map[string]string) error {
	nss := w.cp.Client.CoreV1().Namespaces()
	probe, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "webhook-probe-", Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("controlplane: webhook probe namespace: %w", err)
	}
	defer func() { _ = nss.Delete(context.Background(), probe.Name, metav1.DeleteOptions{}) }()
	err = WaitFor(ctx, 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if err := nss.Delete(ctx, probe.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			return false, nil
		}
		return strings.Contains(w.LogText(), `"namespace":"`+probe.Name+`"`), nil
	})
	if err != nil {
		return fmt.Errorf("controlplane: the API server never called the webhook: %w\n%s", err, tail(w.Log, 20))
	}
	return nil
}

// Stop unregisters the webhook and stops nsguard serve.
func (w *Webhook) Stop() {
	w.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, w.name, metav1.DeleteOptions{})
		w.Kill()
	})
}

// Kill stops nsguard serve and leaves its configuration registered: the
// API server then applies the failurePolicy.
func (w *Webhook) Kill() {
	Interrupt(w.cmd, w.done, 5*time.Second)
}

// PID returns the process ID of nsguard serve, to read its CPU time and
// memory from /proc.
func (w *Webhook) PID() int { return w.cmd.Process.Pid }

// Metrics returns the metrics endpoint's text.
func (w *Webhook) Metrics(ctx context.Context) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.MetricsURL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// LogText returns what nsguard serve has logged so far.
func (w *Webhook) LogText() string {
	b, _ := os.ReadFile(w.Log)
	return string(b)
}

func ptrTo[T any](v T) *T { return &v }

// tail returns the last lines of a file.
func tail(path string, lines int) string {
	b, _ := os.ReadFile(path)
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
