package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// These tests prove that the shared control plane is a real one: deleted
// namespaces are emptied and removed by kube-controller-manager's namespace
// controller, and get stuck on a finalizer the way they do in a cluster.

const holdFinalizer = "example.com/hold"

// TestControlPlaneDeletesNamespace deletes a namespace holding a ConfigMap
// and waits until the namespace controller has removed it.
func TestControlPlaneDeletesNamespace(t *testing.T) {
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "smoke-delete")
	createConfigMap(t, ns, "data", nil)

	deleted := time.Now()
	if err := cp.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting namespace %s: %v", ns, err)
	}
	waitNamespaceGone(t, ns, 60*time.Second)
	t.Logf("namespace %s gone %s after its deletion", ns, time.Since(deleted).Round(time.Millisecond))
}

// TestControlPlaneNamespaceStuckOnFinalizer deletes a namespace holding a
// ConfigMap with a finalizer: the namespace stays Terminating with the
// NamespaceFinalizersRemaining condition until the finalizer is removed.
func TestControlPlaneNamespaceStuckOnFinalizer(t *testing.T) {
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "smoke-stuck")
	createConfigMap(t, ns, "held", []string{holdFinalizer})
	t.Cleanup(func() { // leave no namespace stuck behind if the test fails
		_ = releaseFinalizers(context.Background(), ns, "held")
	})

	deleted := time.Now()
	if err := cp.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting namespace %s: %v", ns, err)
	}

	var last *corev1.Namespace
	err := cp.WaitFor(ctx, 60*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		got, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = got
		c := namespaceCondition(got, corev1.NamespaceFinalizersRemaining)
		return c != nil && c.Status == corev1.ConditionTrue, nil
	})
	if err != nil {
		t.Fatalf("namespace %s never reported %s: %v; last status: %s",
			ns, corev1.NamespaceFinalizersRemaining, err, statusOf(last))
	}
	t.Logf("namespace %s reported %s %s after its deletion: %q", ns, corev1.NamespaceFinalizersRemaining,
		time.Since(deleted).Round(time.Millisecond), namespaceCondition(last, corev1.NamespaceFinalizersRemaining).Message)
	if last.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("namespace %s phase = %s, want %s", ns, last.Status.Phase, corev1.NamespaceTerminating)
	}
	cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the held ConfigMap should still exist: %v", err)
	}
	if cm.DeletionTimestamp == nil {
		t.Errorf("the held ConfigMap has no deletionTimestamp: the namespace controller did not delete it")
	}

	released := time.Now()
	if err := releaseFinalizers(ctx, ns, "held"); err != nil {
		t.Fatalf("removing the finalizer: %v", err)
	}
	waitNamespaceGone(t, ns, 60*time.Second)
	t.Logf("namespace %s gone %s after the finalizer was removed", ns, time.Since(released).Round(time.Millisecond))
}

func createConfigMap(t *testing.T, ns, name string, finalizers []string) {
	t.Helper()
	_, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers},
		Data:       map[string]string{"key": "value"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ConfigMap %s/%s: %v", ns, name, err)
	}
}

// releaseFinalizers removes all finalizers of a ConfigMap.
func releaseFinalizers(ctx context.Context, ns, name string) error {
	_, err := cluster.Client.CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func waitNamespaceGone(t *testing.T, ns string, timeout time.Duration) {
	t.Helper()
	var last *corev1.Namespace
	err := cluster.WaitFor(t.Context(), timeout, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		got, err := cluster.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		last = got
		return false, err
	})
	if err != nil {
		t.Fatalf("namespace %s still there after %s: %v; last status: %s", ns, timeout, err, statusOf(last))
	}
}

func namespaceCondition(ns *corev1.Namespace, typ corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range ns.Status.Conditions {
		if ns.Status.Conditions[i].Type == typ {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}

func statusOf(ns *corev1.Namespace) string {
	if ns == nil {
		return "none"
	}
	return ns.Status.String()
}
