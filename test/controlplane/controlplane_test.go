package controlplane

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

func TestRepoRoot(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := repoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Errorf("repoRoot(%s) = %s, want %s", wd, root, want)
	}

	// A nested module of another path (like hack/k8s) is walked past.
	dir := t.TempDir()
	nested := filepath.Join(dir, "hack", "k8s")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.mod"), "module "+module+"\n\ngo 1.26.0\n")
	writeFile(t, filepath.Join(nested, "go.mod"), "module "+module+"/hack/k8s\n")
	if got, err := repoRoot(nested); err != nil || got != dir {
		t.Errorf("repoRoot(%s) = %q, %v; want %s", nested, got, err, dir)
	}
	if _, err := repoRoot(t.TempDir()); err == nil {
		t.Error("repoRoot outside the repository: want an error")
	}
}

func TestStartWithoutBinariesSaysHowToBuildThem(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBEBUILDER_ASSETS", dir)
	_, err := Start(context.Background(), Options{})
	if err == nil {
		t.Fatal("Start without binaries succeeded")
	}
	for _, want := range []string{"make k8s-bin", "kube-apiserver", "kube-controller-manager", dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestDecodeManifest(t *testing.T) {
	objs, err := decodeManifest(`
# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  n: "1"
---
---
# only a comment
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: b, namespace: x}
- apiVersion: example.com/v1
  kind: Widget
  metadata: {name: c}
  spec: {replicas: 3}
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+objectKey(o))
	}
	if want := "ConfigMap/a Secret/x/b Widget/c"; strings.Join(got, " ") != want {
		t.Errorf("decoded %q, want %q", strings.Join(got, " "), want)
	}
	if _, err := decodeManifest("kind: [unclosed"); err == nil {
		t.Error("a malformed manifest decoded without error")
	}
}

const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: {{NS}}
spec:
  size: 3
`

// TestControlPlane starts a control plane of its own and exercises the
// helpers, then checks that Stop leaves no process behind.
func TestControlPlane(t *testing.T) {
	Skip(t)
	ctx := t.Context()
	began := time.Now()
	before := childPIDs()
	cp, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %s", time.Since(began).Round(time.Millisecond))
	stopped := false
	defer func() {
		if !stopped {
			if t.Failed() {
				t.Logf("logs:\n%s", cp.LogTail(logTailLines))
			}
			_ = cp.Stop()
		}
	}()
	pids := newChildPIDs(before, "etcd", "kube-apiserver", "kube-controller") // comm is cut to 15 bytes
	if len(pids) != 3 {
		t.Errorf("children after Start: %v, want etcd, kube-apiserver and kube-controller-manager", childPIDs())
	}

	t.Run("version", func(t *testing.T) {
		v, err := cp.Client.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != KubernetesVersion {
			t.Errorf("server version %s, want %s", v.GitVersion, KubernetesVersion)
		}
		out, err := cp.Kubectl(ctx, "version", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `"gitVersion": "`+KubernetesVersion+`"`) {
			t.Errorf("kubectl version:\n%s", out)
		}
	})

	t.Run("apply a CRD and a custom resource", func(t *testing.T) {
		ns := cp.NewNamespace(t, "Apply-")
		if !strings.HasPrefix(ns, "apply-") {
			t.Errorf("namespace %q does not start with apply-", ns)
		}
		manifest := strings.ReplaceAll(widgetCRD, "{{NS}}", ns)
		if err := cp.Apply(ctx, manifest); err != nil {
			t.Fatal(err)
		}
		// Applying again is a no-op, not a conflict.
		if err := cp.Apply(ctx, manifest); err != nil {
			t.Fatal(err)
		}
		gvr := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
		w, err := cp.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, "w1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size"); size != 3 {
			t.Errorf("spec.size = %d, want 3", size)
		}
		out, err := cp.Kubectl(ctx, "get", "widgets", "-n", ns, "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(out)) != "widget.example.com/w1" {
			t.Errorf("kubectl get widgets: %q", out)
		}
		if err := cp.Apply(ctx, "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n"); err == nil {
			t.Error("applying an unknown kind succeeded")
		}
	})

	t.Run("controller-manager runs", func(t *testing.T) {
		ns := cp.NewNamespace(t, "kcm")
		// The serviceaccount and root-ca-certificate-publisher controllers
		// fill every new namespace.
		err := cp.WaitFor(ctx, 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			_, err := cp.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			_, err = cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			t.Fatalf("no default ServiceAccount and kube-root-ca.crt in %s: %v", ns, err)
		}
		// --use-service-account-credentials: each controller has its own.
		if _, err := cp.Client.CoreV1().ServiceAccounts("kube-system").Get(ctx, "namespace-controller", metav1.GetOptions{}); err != nil {
			t.Errorf("the namespace controller has no service account of its own: %v", err)
		}
	})

	t.Run("users get only what RBAC grants", func(t *testing.T) {
		cfg, kubeconfig, err := cp.AddUser("alice", "example:team")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(kubeconfig); err != nil {
			t.Fatal(err)
		}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("alice listing namespaces: %v, want Forbidden", err)
		}
	})

	t.Run("WaitFor times out", func(t *testing.T) {
		err := cp.WaitFor(ctx, 300*time.Millisecond, 50*time.Millisecond, func(context.Context) (bool, error) { return false, nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitFor = %v, want a deadline error", err)
		}
	})

	workDir, logDir := cp.workDir, cp.LogDir()
	stopped = true
	if err := cp.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := cp.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
	for _, d := range []string{workDir, logDir} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Stop", d)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
