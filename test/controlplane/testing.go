package controlplane

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// logTailLines is how many lines of each component's log a failing test
// or package prints.
const logTailLines = 40

// Main runs a test package against one shared control plane; call it from
// TestMain:
//
//	var cluster *controlplane.ControlPlane
//
//	func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cluster, controlplane.Options{})) }
//
// It parses the test flags. With -short it starts nothing and *cp stays
// nil, so tests must skip themselves (see Skip). Otherwise it starts the
// control plane, stores it in *cp, runs the tests and stops it. If a test
// fails, it prints the tail of each component's log and keeps the logs,
// saying where. A control plane that cannot start (for instance because the
// binaries are not built) fails the package with the reason.
func Main(m *testing.M, cp **ControlPlane, opts Options) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	ownLogDir := opts.LogDir == ""
	if ownLogDir {
		dir, err := os.MkdirTemp("", "nsguard-controlplane-logs-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
			return 1
		}
		opts.LogDir = dir
	}
	c, err := Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if keepLogs(opts.LogDir, ownLogDir) {
			fmt.Fprintf(os.Stderr, "controlplane: logs in %s\n", opts.LogDir)
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "controlplane: Kubernetes %s started in %s; logs in %s\n",
		KubernetesVersion, c.StartedIn().Round(1e7), c.LogDir())
	*cp = c

	code := m.Run()

	if code != 0 {
		fmt.Fprintf(os.Stderr, "controlplane: tests failed; component logs kept in %s; their tails:\n%s",
			c.LogDir(), c.LogTail(logTailLines))
	}
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	*cp = nil
	if code == 0 && ownLogDir {
		_ = os.RemoveAll(opts.LogDir)
	}
	return code
}

// Skip skips t when the control plane is not wanted: in -short mode.
func Skip(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: needs a local Kubernetes control plane")
	}
}

// StartForTest starts a control plane of t's own and stops it when t ends;
// if t failed, it logs the tail of each component's log and keeps the logs.
// It skips t in -short mode, and fails it if the control plane cannot
// start.
func StartForTest(t testing.TB, opts Options) *ControlPlane {
	t.Helper()
	Skip(t)
	ownLogDir := opts.LogDir == ""
	if ownLogDir {
		dir, err := os.MkdirTemp("", "nsguard-controlplane-logs-")
		if err != nil {
			t.Fatal(err)
		}
		opts.LogDir = dir
	}
	c, err := Start(t.Context(), opts)
	if err != nil {
		if keepLogs(opts.LogDir, ownLogDir) {
			t.Fatalf("%v\nlogs in %s", err, opts.LogDir)
		}
		t.Fatal(err)
	}
	t.Logf("control plane started in %s; logs in %s", c.StartedIn().Round(1e7), c.LogDir())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("component logs kept in %s; their tails:\n%s", c.LogDir(), c.LogTail(logTailLines))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
		if ownLogDir && !t.Failed() {
			_ = os.RemoveAll(opts.LogDir)
		}
	})
	return c
}

// NewNamespace creates a namespace with a unique name starting with prefix
// and returns the name. The namespace is deleted (without waiting) when t
// ends.
func (cp *ControlPlane) NewNamespace(t testing.TB, prefix string) string {
	t.Helper()
	prefix = strings.TrimSuffix(strings.ToLower(prefix), "-")
	ns, err := cp.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace %q: %v", prefix+"-*", err)
	}
	t.Cleanup(func() {
		err := cp.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// keepLogs reports whether a log directory is worth keeping after a failed
// start, and removes it otherwise (when it is ours and empty).
func keepLogs(dir string, own bool) bool {
	if !own {
		return true
	}
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) == 0 {
		_ = os.Remove(dir)
		return false
	}
	return true
}

// NamespaceEvents returns the notes of the Events about namespace ns, by
// reason. Events about a Namespace, which is cluster-scoped, live in
// "default".
func (cp *ControlPlane) NamespaceEvents(t testing.TB, ns string) map[string][]string {
	t.Helper()
	list, err := cp.Client.EventsV1().Events(metav1.NamespaceDefault).List(t.Context(), metav1.ListOptions{FieldSelector: "regarding.name=" + ns})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind == "Namespace" {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}
