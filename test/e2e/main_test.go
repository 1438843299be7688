package e2e

import (
	"os"
	"testing"

	"github.com/nsguard/nsguard/test/controlplane"
)

// cluster is the control plane shared by every test of the package: etcd,
// kube-apiserver and kube-controller-manager, started once by TestMain.
// It is nil in -short mode; tests get it through requireCluster.
var cluster *controlplane.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// diagnose keeps a per-cluster CRD cache under the user's cache
	// directory; the test clusters are gone after the run, so their caches
	// go to a directory of the run's own (os.UserCacheDir reads
	// XDG_CACHE_HOME, and the built binary inherits it).
	dir, err := os.MkdirTemp("", "nsguard-e2e-cache-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_CACHE_HOME", dir)
	return controlplane.Main(m, &cluster, controlplane.Options{})
}

// requireCluster skips t in -short mode and otherwise returns the shared
// control plane.
func requireCluster(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	controlplane.Skip(t)
	if cluster == nil {
		t.Fatal("no control plane: TestMain did not start one")
	}
	return cluster
}
