package chart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"

	"github.com/nsguard/nsguard/test/controlplane"
)

// The chart on a real kube-apiserver (test/controlplane, with
// kube-controller-manager and an audit log of every request):
//
//   - every rendering of the values matrix passes a server-side apply dry
//     run, object by object;
//   - the chart is installed (its rendered manifest applied), and nsguard
//     serve runs as a process next to the control plane, with the chart's
//     own arguments, environment, configuration and ServiceAccount
//     identity (impersonated). There is no kubelet: the test plays it,
//     writing the mounted ConfigMaps and Secret into directories and
//     pointing the arguments' paths there;
//   - built-in certificate rotation fills the chart's Secret and injects
//     the CA into the chart's ValidatingWebhookConfiguration;
//   - the chart's ValidatingWebhookConfiguration denies a deletion that
//     would hang: its service reference cannot be reached without a
//     kube-proxy, and the rotated certificate is for the Service's DNS
//     names, not 127.0.0.1, so the test replaces its clientConfig (only)
//     with the local URL and a CA of its own, keeping the rules, the
//     namespaceSelector and the failurePolicy as rendered;
//   - the remediator in dryrun writes an Event; switched on, it removes an
//     orphaned finalizer and the stuck namespace goes;
//   - the audit log shows that nsguard was refused nothing (the chart's
//     RBAC is sufficient) and that it used every verb of every rule the
//     chart granted it, but those listed with the reason they may go
//     unused in a short run (the chart's RBAC is minimal);
//   - uninstalling leaves nothing of the release behind, and deleting its
//     namespace does not hang.
//
// The test has a control plane of its own: the chart's webhook
// configuration selects every namespace but the system ones and the
// release's, which would route the other tests' deletions to it.

const (
	gadgetGroup     = "chart.e2e.nsguard.io"
	gadgetFinalizer = gadgetGroup + "/cleanup"
	unguardedLabel  = "e2e.nsguard.io/unguarded"
)

const gadgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.chart.e2e.nsguard.io}
spec:
  group: chart.e2e.nsguard.io
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// optionalCRDs are minimal CRDs (any content accepted) for the kinds the
// chart's optional resources use and the test control plane does not
// have: the Prometheus Operator's ServiceMonitor and PrometheusRule, and
// cert-manager's Certificate and Issuer. The dry run then checks that those
// objects are well-formed Kubernetes objects of the right group, version
// and scope; their own schemas are the operators' business.
const optionalCRDs = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: servicemonitors, singular: servicemonitor, kind: ServiceMonitor}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: prometheusrules.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: prometheusrules, singular: prometheusrule, kind: PrometheusRule}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {plural: certificates, singular: certificate, kind: Certificate}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: issuers.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {plural: issuers, singular: issuer, kind: Issuer}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`

// installValues are the values of the installed release: the defaults,
// with the remediator's clocks shortened, remove-finalizer enabled for the
// test's Gadgets, and namespaces labelled unguardedLabel left out of the
// webhook's checks (so that a namespace can be deleted into a hang for the
// remediator to find).
const installValues = `replicaCount: 1
remediation:
  mode: dryrun
  actions: [remove-finalizer]
  allowFinalizers: [` + gadgetFinalizer + `]
  stuckAfter: 2s
  controllerGoneAfter: 3s
  recheckInterval: 2s
config:
  exclude:
    selector:
      matchLabels: {` + unguardedLabel + `: "true"}
`

func TestChartOnControlPlane(t *testing.T) {
	Helm(t)
	controlplane.Skip(t)
	began := time.Now()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auditLog := filepath.Join(dir, "audit.log")
	cp := controlplane.StartForTest(t, controlplane.Options{APIServerArgs: []string{
		"--audit-policy-file=" + policy, "--audit-log-path=" + auditLog, "--audit-log-maxsize=0"}})
	ctx := t.Context()
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("server-side apply dry run of every rendering", func(t *testing.T) {
		if err := cp.Apply(ctx, optionalCRDs); err != nil {
			t.Fatal(err)
		}
		for _, c := range valueCases(t) {
			objs := Objects(t, Render(t, c.files))
			for _, o := range objs {
				if err := applyDryRun(ctx, cp, o); err != nil {
					t.Errorf("%s: %s %s: %v", c.name, o.GetKind(), o.GetName(), err)
				}
			}
			t.Logf("%s: %d objects accepted", c.name, len(objs))
		}
	})
	if t.Failed() {
		return
	}

	values := filepath.Join(dir, "install-values.yaml")
	if err := os.WriteFile(values, []byte(installValues), 0o600); err != nil {
		t.Fatal(err)
	}
	installed := Objects(t, Render(t, []string{values}))
	if err := cp.Apply(ctx, Render(t, []string{values})); err != nil {
		t.Fatalf("installing the chart: %v", err)
	}
	sa, _, _ := unstructured.NestedString(One(t, installed, "Deployment").Object, "spec", "template", "spec", "serviceAccountName")
	saUser := "system:serviceaccount:" + Namespace + ":" + sa
	kubeconfig := impersonating(t, cp, sa, dir)
	vwcName := One(t, installed, "ValidatingWebhookConfiguration").GetName()
	vwcs := cp.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	granted := roles(t, installed)

	t.Run("built-in rotation fills the Secret and injects the CA", func(t *testing.T) {
		certDir := t.TempDir()
		s := startServe(t, cp, installed, kubeconfig, certDir, true)
		secretName := ""
		for _, v := range deploymentVolumes(t, installed) {
			if v.Secret != nil {
				secretName = v.Secret.SecretName
			}
		}
		var secret *corev1.Secret
		err := cp.WaitFor(ctx, 60*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
			var err error
			secret, err = cp.Client.CoreV1().Secrets(Namespace).Get(ctx, secretName, metav1.GetOptions{})
			return err == nil && len(secret.Data["tls.crt"]) > 0 && len(secret.Data["ca.crt"]) > 0, err
		})
		if err != nil {
			t.Fatalf("the chart's Secret %s was never filled: %v\n%s", secretName, err, s.logs.String())
		}
		// The kubelet's part: the mounted Secret's keys become files.
		for _, k := range []string{"tls.crt", "tls.key"} {
			if err := os.WriteFile(filepath.Join(certDir, k), secret.Data[k], 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s.waitReady(t)
		err = cp.WaitFor(ctx, 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
			vwc, err := vwcs.Get(ctx, vwcName, metav1.GetOptions{})
			return err == nil && bytes.Equal(vwc.Webhooks[0].ClientConfig.CABundle, secret.Data["ca.crt"]), err
		})
		if err != nil {
			t.Errorf("the CA was not injected into %s: %v", vwcName, err)
		}
		s.stop(t)
	})

	certDir := t.TempDir()
	caPEM := localCertificate(t, certDir)
	t.Run("the chart's webhook configuration denies a deletion that would hang", func(t *testing.T) {
		s := startServe(t, cp, installed, kubeconfig, certDir, false)
		s.waitReady(t)
		rendered := One(t, installed, "ValidatingWebhookConfiguration")
		url := fmt.Sprintf("https://127.0.0.1:%s/validate-namespace-delete", s.webhookPort)
		patch := fmt.Sprintf(`[{"op":"replace","path":"/webhooks/0/clientConfig","value":{"url":%q,"caBundle":%q}}]`, url, base64.StdEncoding.EncodeToString(caPEM))
		if _, err := vwcs.Patch(ctx, vwcName, types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		// Everything but clientConfig is as the chart renders it.
		live, err := cp.Dynamic.Resource(vwcResource).Get(ctx, vwcName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"rules", "namespaceSelector", "failurePolicy", "sideEffects", "timeoutSeconds", "admissionReviewVersions", "matchPolicy", "name"} {
			want, _, _ := unstructured.NestedFieldNoCopy(rendered.Object["webhooks"].([]any)[0].(map[string]any), f)
			got, _, _ := unstructured.NestedFieldNoCopy(live.Object["webhooks"].([]any)[0].(map[string]any), f)
			if w, g := jsonOf(want), jsonOf(got); w != g {
				t.Errorf("webhook %s: live %s, rendered %s", f, g, w)
			}
		}
		s.waitCalled(t, cp)

		ns := newNamespace(t, cp, "chart-orphan", nil)
		if err := cp.Apply(ctx, gadgetCRD); err != nil {
			t.Fatal(err)
		}
		gadget(t, cp, ns)
		var out string
		err = cp.WaitFor(ctx, 20*time.Second, 300*time.Millisecond, func(ctx context.Context) (bool, error) {
			_, err := cp.Kubectl(ctx, "delete", "namespace", ns, "--dry-run=server")
			if err != nil {
				out = err.Error()
			}
			return err != nil && strings.Contains(out, "orphaned-finalizer"), nil
		})
		if err != nil || !strings.Contains(out, "denied the request") {
			t.Fatalf("kubectl delete namespace %s --dry-run=server: %q; want denied by orphaned-finalizer\n%s", ns, out, s.logs.String())
		}
		t.Logf("kubectl delete namespace %s --dry-run=server: %s", ns, firstLine(out))
		if _, err := cp.Kubectl(ctx, "delete", "namespace", ns, "--wait=false"); err == nil || !strings.Contains(err.Error(), "orphaned-finalizer") {
			t.Errorf("kubectl delete namespace %s: %v; want denied", ns, err)
		}
		if n, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil || n.DeletionTimestamp != nil {
			t.Errorf("namespace %s is being deleted after the denial (%v)", ns, err)
		}

		// A namespace the configuration leaves out is deleted, and hangs:
		// the remediator, in dryrun, says what it would do.
		stuck := newNamespace(t, cp, "chart-stuck", map[string]string{unguardedLabel: "true", "nsguard.io/remediation": "enabled"})
		gadget(t, cp, stuck)
		if err := cp.Client.CoreV1().Namespaces().Delete(ctx, stuck, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting %s, which the configuration leaves out: %v", stuck, err)
		}
		note := waitEvent(t, cp, stuck, "WouldRemediate", "would remove finalizer "+gadgetFinalizer)
		t.Logf("Event on %s: %s", stuck, note)
		s.stop(t)

		// Switched on (helm upgrade --set remediation.mode=on): the
		// remediator gets patch, removes the finalizer, the namespace goes.
		upgraded := Objects(t, Render(t, []string{values}, "--set", "remediation.mode=on"))
		var manifest []string
		for _, o := range upgraded {
			if o.GetKind() == "ValidatingWebhookConfiguration" {
				// Unchanged by the upgrade; applying it would put its
				// service reference back beside the test's URL.
				if jsonOf(o.Object) != jsonOf(rendered.Object) {
					t.Fatal("the upgrade changes the webhook configuration")
				}
				continue
			}
			manifest = append(manifest, jsonOf(o.Object))
		}
		if err := cp.Apply(ctx, strings.Join(manifest, "\n---\n")); err != nil {
			t.Fatal(err)
		}
		granted = append(granted, roles(t, upgraded)...)
		on := startServe(t, cp, upgraded, kubeconfig, certDir, false)
		on.waitReady(t)
		err = cp.WaitFor(ctx, 60*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
			_, err := cp.Client.CoreV1().Namespaces().Get(ctx, stuck, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatalf("the remediator did not un-stick %s: %v; Events %v\n%s", stuck, err, cp.NamespaceEvents(t, stuck), on.logs.String())
		}
		on.stop(t)
	})
	if t.Failed() {
		return
	}

	t.Run("RBAC: nothing refused, every grant used", func(t *testing.T) {
		checkAudit(t, auditLog, saUser, granted)
	})

	t.Run("uninstall leaves nothing behind; the namespace goes", func(t *testing.T) {
		uninstall(t, cp, installed)
		left := leftInNamespace(t, cp, Namespace)
		if len(left) > 0 {
			t.Errorf("left in %s after uninstall: %v", Namespace, left)
		}
		if err := cp.Client.CoreV1().Namespaces().Delete(ctx, Namespace, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err := cp.WaitFor(ctx, 60*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
			_, err := cp.Client.CoreV1().Namespaces().Get(ctx, Namespace, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("namespace %s did not go: %v", Namespace, err)
		}
	})
	t.Logf("took %s", time.Since(began).Round(time.Second))
}

var vwcResource = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// applyDryRun server-side applies one object with dryRun=All.
func applyDryRun(ctx context.Context, cp *controlplane.ControlPlane, o *unstructured.Unstructured) error {
	gvk := o.GroupVersionKind()
	mapping, err := cp.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		cp.Mapper.Reset()
		mapping, err = cp.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = cp.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if o.GetNamespace() == "" {
			return fmt.Errorf("a namespaced object without a namespace")
		}
		ri = cp.Dynamic.Resource(mapping.Resource).Namespace(o.GetNamespace())
	}
	data, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	_, err = ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "helm", Force: &force, DryRun: []string{metav1.DryRunAll}})
	return err
}

// impersonating writes a kubeconfig that acts as the chart's
// ServiceAccount, as its pods would.
func impersonating(t *testing.T, cp *controlplane.ControlPlane, sa, dir string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(cp.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range cfg.AuthInfos {
		ai.Impersonate = "system:serviceaccount:" + Namespace + ":" + sa
		ai.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + Namespace, "system:authenticated"}
	}
	path := filepath.Join(dir, "nsguard-sa.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// localCertificate writes a serving certificate for 127.0.0.1 into dir
// and returns its CA (itself) in PEM.
func localCertificate(t *testing.T, dir string) []byte {
	t.Helper()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

func deploymentVolumes(t *testing.T, objs []*unstructured.Unstructured) []corev1.Volume {
	t.Helper()
	var pod corev1.PodTemplateSpec
	tmpl, _, _ := unstructured.NestedMap(One(t, objs, "Deployment").Object, "spec", "template")
	toTyped(t, &unstructured.Unstructured{Object: tmpl}, &pod)
	return pod.Spec.Volumes
}

// serve is nsguard serve running as the chart's pod would.
type serve struct {
	cmd         *exec.Cmd
	logs        *syncBuffer
	done        chan struct{}
	readyURL    string
	webhookPort string
	once        sync.Once
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

// startServe runs nsguard serve with the rendered Deployment's arguments
// and environment. Playing the kubelet, it writes each ConfigMap volume's
// data into a directory and points the arguments' paths at it, and the
// Secret volume's mount path at certDir. Ports are free ones on 127.0.0.1.
// Without rotation, the built-in rotation's flags are left out and the
// webhook serves the certificate in certDir.
func startServe(t *testing.T, cp *controlplane.ControlPlane, objs []*unstructured.Unstructured, kubeconfig, certDir string, rotation bool) *serve {
	t.Helper()
	d := One(t, objs, "Deployment")
	var pod corev1.PodTemplateSpec
	tmpl, _, _ := unstructured.NestedMap(d.Object, "spec", "template")
	toTyped(t, &unstructured.Unstructured{Object: tmpl}, &pod)
	c := pod.Spec.Containers[0]

	configMaps := map[string]map[string]string{}
	for _, o := range Find(objs, "ConfigMap") {
		data, _, _ := unstructured.NestedStringMap(o.Object, "data")
		configMaps[o.GetName()] = data
	}
	mounts := map[string]string{} // mount path in the pod → directory here
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				dir := t.TempDir()
				for k, val := range configMaps[v.ConfigMap.Name] {
					if err := os.WriteFile(filepath.Join(dir, k), []byte(val), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				mounts[m.MountPath] = dir
			case v.Secret != nil:
				mounts[m.MountPath] = certDir
			}
		}
	}
	ports := make([]string, 3)
	for i := range ports {
		p, err := controlplane.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("the Deployment runs %v, not nsguard serve", c.Args)
	}
	args := []string{"serve", "--kubeconfig=" + kubeconfig, "--webhook-host=127.0.0.1"}
	for _, a := range c.Args[1:] {
		name, value, _ := strings.Cut(a, "=")
		switch name {
		case "--cert-rotation", "--cert-secret", "--service-name", "--webhook-configuration", "--cert-validity":
			if !rotation {
				continue
			}
		case "--webhook-port":
			value = ports[0]
		case "--metrics-bind-address":
			value = "127.0.0.1:" + ports[1]
		case "--health-probe-bind-address":
			value = "127.0.0.1:" + ports[2]
		}
		for in, here := range mounts {
			if value == in || strings.HasPrefix(value, in+"/") {
				value = here + strings.TrimPrefix(value, in)
			}
		}
		if value != "" || strings.Contains(a, "=") {
			a = name + "=" + value
		}
		args = append(args, a)
	}
	env := os.Environ()
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, e.Name+"="+Namespace)
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.serviceAccountName":
			env = append(env, e.Name+"="+pod.Spec.ServiceAccountName)
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		default:
			t.Fatalf("env %s: a source the test cannot play", e.Name)
		}
	}
	s := &serve{cmd: exec.Command(Nsguard(t), args...), logs: &syncBuffer{}, done: make(chan struct{}),
		readyURL: "http://127.0.0.1:" + ports[2] + "/readyz", webhookPort: ports[0]}
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	t.Logf("nsguard %s", strings.Join(args, " "))
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("nsguard serve log:\n%s", s.logs.String())
		}
	})
	return s
}

func (s *serve) waitReady(t *testing.T) {
	t.Helper()
	err := controlplane.WaitFor(t.Context(), 60*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		select {
		case <-s.done:
			return false, fmt.Errorf("nsguard serve exited")
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.readyURL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("nsguard serve never became ready: %v\n%s", err, s.logs.String())
	}
}

// waitCalled waits until the API server calls the webhook (it reads
// webhook configurations from a cache): a probe namespace is deleted with
// a server-side dry run until nsguard logs a decision on it.
func (s *serve) waitCalled(t *testing.T, cp *controlplane.ControlPlane) {
	t.Helper()
	probe := newNamespace(t, cp, "chart-probe", nil)
	err := cp.WaitFor(t.Context(), 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_ = cp.Client.CoreV1().Namespaces().Delete(ctx, probe, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		return strings.Contains(s.logs.String(), `"namespace":"`+probe+`"`), nil
	})
	if err != nil {
		t.Fatalf("the API server never called nsguard through the chart's webhook configuration: %v\n%s", err, s.logs.String())
	}
}

func (s *serve) stop(t *testing.T) {
	s.once.Do(func() { controlplane.Interrupt(s.cmd, s.done, 10*time.Second) })
}

// newNamespace creates a namespace with labels; it is deleted, its
// Gadgets' finalizers removed, when t ends.
func newNamespace(t *testing.T, cp *controlplane.ControlPlane, prefix string, labels map[string]string) string {
	t.Helper()
	ns, err := cp.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		out, _ := cp.Kubectl(ctx, "get", "gadgets."+gadgetGroup, "-n", ns.Name, "-o", "name")
		for _, name := range strings.Fields(string(out)) {
			_, _ = cp.Kubectl(ctx, "patch", name, "-n", ns.Name, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
		}
		_ = cp.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// gadget creates a Gadget whose finalizer no controller handles.
func gadget(t *testing.T, cp *controlplane.ControlPlane, ns string) {
	t.Helper()
	if err := cp.Apply(t.Context(), fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}", gadgetGroup, ns, gadgetFinalizer)); err != nil {
		t.Fatal(err)
	}
}

func waitEvent(t *testing.T, cp *controlplane.ControlPlane, ns, reason, part string) string {
	t.Helper()
	var found string
	err := cp.WaitFor(t.Context(), 60*time.Second, 500*time.Millisecond, func(context.Context) (bool, error) {
		for _, note := range cp.NamespaceEvents(t, ns)[reason] {
			if strings.Contains(note, part) {
				found = note
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s Event about %s containing %q; Events: %v", reason, ns, part, cp.NamespaceEvents(t, ns))
	}
	return found
}

// uninstall deletes every object of the release, as helm uninstall does,
// and waits until they are gone (the Deployment's ReplicaSets and Pods
// with them, through the garbage collector).
func uninstall(t *testing.T, cp *controlplane.ControlPlane, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := t.Context()
	foreground := metav1.DeletePropagationForeground
	for _, o := range objs {
		mapping, err := cp.Mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
		if err != nil {
			t.Fatal(err)
		}
		ri := dynamic.ResourceInterface(cp.Dynamic.Resource(mapping.Resource))
		if o.GetNamespace() != "" {
			ri = cp.Dynamic.Resource(mapping.Resource).Namespace(o.GetNamespace())
		}
		if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

// leftInNamespace lists what is in a namespace besides what Kubernetes
// puts in every namespace (the default ServiceAccount, the root CA
// ConfigMap) and Events (which expire after an hour), waiting up to 30 s
// for deletions to finish.
func leftInNamespace(t *testing.T, cp *controlplane.ControlPlane, ns string) []string {
	t.Helper()
	var left []string
	_ = cp.WaitFor(t.Context(), 30*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		left = nil
		lists, err := cp.Client.Discovery().ServerPreferredNamespacedResources()
		if err != nil {
			return false, nil
		}
		for _, l := range lists {
			gv, err := schema.ParseGroupVersion(l.GroupVersion)
			if err != nil {
				continue
			}
			for _, r := range l.APIResources {
				// Events expire; Endpoints are mirrored by EndpointSlices.
				if !slices.Contains(r.Verbs, "list") || r.Name == "events" || r.Name == "endpoints" {
					continue
				}
				items, err := cp.Dynamic.Resource(gv.WithResource(r.Name)).Namespace(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					continue
				}
				for _, it := range items.Items {
					key := r.Name + "/" + it.GetName()
					if key == "serviceaccounts/default" || key == "configmaps/kube-root-ca.crt" {
						continue
					}
					left = append(left, key)
				}
			}
		}
		return len(left) == 0, nil
	})
	return left
}

// auditEvent is what the test reads of an audit log line.
type auditEvent struct {
	Verb             string `json:"verb"`
	RequestURI       string `json:"requestURI"`
	Stage            string `json:"stage"`
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	Annotations map[string]string `json:"annotations"`
}

// unusedMayBe are the grants a short run may not use, and why they are
// granted all the same. Any other grant that the run did not use fails the
// test: remove it from the chart, or add it here with the reason.
var unusedMayBe = map[string]string{
	"patch events":  "an Event seen again is counted on the existing Event (a patch of its series); a short run may not repeat one",
	"create events": "two recorders: the remediator's (events.k8s.io) and leader election's (core/v1 Events); one group may go unused",
}

func grantKey(verb, resource string) string { return verb + " " + resource }

// checkAudit reads the audit log: the ServiceAccount was refused nothing,
// and every verb of every rule granted to it was used by an allowed
// request, but those in unusedMayBe.
func checkAudit(t *testing.T, path, user string, granted []roleRules) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var allowed []auditEvent
	forbidden := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		if e.ImpersonatedUser == nil || e.ImpersonatedUser.Username != user {
			continue
		}
		if e.Annotations["authorization.k8s.io/decision"] == "forbid" {
			forbidden[e.Verb+" "+e.RequestURI]++
			continue
		}
		allowed = append(allowed, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(allowed) == 0 {
		t.Fatalf("no request by %s in the audit log", user)
	}
	for req, n := range forbidden {
		t.Errorf("refused %d time(s) to nsguard: %s", n, req)
	}

	seen := map[string]bool{}
	for _, r := range granted {
		for _, rule := range r.rules {
			for _, verb := range rule.Verbs {
				key := fmt.Sprintf("%s %s: %s %s", r.kind, r.name, verb, describeRule(rule))
				if seen[key] {
					continue
				}
				seen[key] = true
				used := 0
				for _, e := range allowed {
					if matches(e, r, rule, verb) {
						used++
					}
				}
				if used > 0 {
					t.Logf("used %d time(s): %s", used, key)
					continue
				}
				resources := rule.Resources
				if len(rule.NonResourceURLs) > 0 {
					resources = []string{"nonResourceURLs"}
				}
				excused := len(resources) > 0
				var reasons []string
				for _, res := range resources {
					reason := unusedMayBe[grantKey(verb, res)]
					excused = excused && reason != ""
					reasons = append(reasons, reason)
				}
				if excused {
					t.Logf("unused in this run: %s (%s)", key, strings.Join(reasons, "; "))
				} else {
					t.Errorf("granted but never used: %s", key)
				}
			}
		}
	}
}

func describeRule(r rbacv1.PolicyRule) string {
	if len(r.NonResourceURLs) > 0 {
		return strings.Join(r.NonResourceURLs, ",")
	}
	s := strings.Join(r.APIGroups, ",") + "/" + strings.Join(r.Resources, ",")
	if len(r.ResourceNames) > 0 {
		s += " " + strings.Join(r.ResourceNames, ",")
	}
	return s
}

// matches reports whether an allowed request falls under a role's rule for
// one verb.
func matches(e auditEvent, r roleRules, rule rbacv1.PolicyRule, verb string) bool {
	if e.Verb != verb {
		return false
	}
	if e.ObjectRef == nil {
		if len(rule.NonResourceURLs) == 0 {
			return false
		}
		path, _, _ := strings.Cut(e.RequestURI, "?")
		for _, u := range rule.NonResourceURLs {
			if u == path || strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimSuffix(u, "*")) {
				return true
			}
		}
		return false
	}
	if len(rule.NonResourceURLs) > 0 {
		return false
	}
	o := e.ObjectRef
	if r.kind == "Role" && o.Namespace != r.namespace {
		return false
	}
	resource := o.Resource
	if o.Subresource != "" {
		resource += "/" + o.Subresource
	}
	return (slices.Contains(rule.APIGroups, "*") || slices.Contains(rule.APIGroups, o.APIGroup)) &&
		(slices.Contains(rule.Resources, "*") || slices.Contains(rule.Resources, resource)) &&
		(len(rule.ResourceNames) == 0 || slices.Contains(rule.ResourceNames, o.Name))
}
