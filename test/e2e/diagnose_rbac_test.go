package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/nsguard/nsguard/inventory"
)

// clusterRoleFile is the read-only RBAC that docs/diagnose.md documents.
const clusterRoleFile = "../../docs/rbac/diagnose-clusterrole.yaml"

// TestDiagnoseReadOnlyRBAC: the ClusterRole of docs/rbac grants only reads,
// and it is enough: a user bound to it alone gets the same complete
// snapshot as the cluster administrator. A user who may only view the
// namespace gets an incomplete one that says what it could not check.
func TestDiagnoseReadOnlyRBAC(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()

	raw, err := os.ReadFile(clusterRoleFile)
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		t.Fatalf("%s: %v", clusterRoleFile, err)
	}
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" {
				t.Errorf("%s grants %q: diagnose only reads", clusterRoleFile, v)
			}
		}
	}

	ns := cp.NewNamespace(t, "dg-rbac")
	if err := cp.Apply(ctx, fmt.Sprintf(rbacNamespaceManifest, ns)); err != nil {
		t.Fatal(err)
	}
	reader := "nsguard-diagnose-reader-" + ns
	viewer := "nsguard-namespace-viewer-" + ns
	if err := cp.Apply(ctx, string(raw)+fmt.Sprintf(rbacBindings, ns, reader, viewer)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cp.Kubectl(context.Background(), "delete", "clusterrolebinding", "nsguard-diagnose-"+ns, "--ignore-not-found")
	})
	readerCfg, readerKubeconfig, err := cp.AddUser(reader)
	if err != nil {
		t.Fatal(err)
	}
	viewerCfg, _, err := cp.AddUser(viewer)
	if err != nil {
		t.Fatal(err)
	}

	admin, err := inventory.FromCluster(ctx, cp.Config, ns, inventory.ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	requireComplete(t, admin)
	got, err := inventory.FromCluster(ctx, readerCfg, ns, inventory.ClusterOptions{})
	if err != nil {
		t.Fatalf("diagnose with the documented ClusterRole: %v", err)
	}
	requireComplete(t, got)
	if a, b := countIn(admin, ns), countIn(got, ns); a != b || a < 4 {
		t.Errorf("objects in %s: %d as administrator, %d with the ClusterRole", ns, a, b)
	}
	if _, _, code := runCLI(t, cp, readerKubeconfig, "kubectl nsguard diagnose "+ns); code != 0 {
		t.Errorf("kubectl nsguard diagnose as %s: exit %d, want 0", reader, code)
	}

	// A namespace viewer (ClusterRole view, bound in the namespace only):
	// no Secrets, nothing cluster-wide. The snapshot says so, and still
	// lists the namespace's own workloads.
	partial, err := inventory.FromCluster(ctx, viewerCfg, ns, inventory.ClusterOptions{})
	if err != nil {
		t.Fatalf("diagnose as a namespace viewer: %v", err)
	}
	t.Logf("as a namespace viewer: %q", partial.Incomplete)
	text := strings.Join(partial.Incomplete, "\n")
	for _, want := range []string{"secrets", "Deployments cluster-wide not checked: forbidden", "APIServices not checked: forbidden"} {
		if !strings.Contains(text, want) {
			t.Errorf("the viewer's snapshot does not say %q", want)
		}
	}
	found := false
	for _, o := range partial.Objects {
		found = found || (o.Ref.Kind == "Deployment" && o.Ref.Namespace == ns && o.Ref.Name == "api")
	}
	if !found {
		t.Error("the namespace's own Deployment should still be listed for a namespace viewer")
	}
}

func countIn(s *inventory.Snapshot, ns string) int {
	n := 0
	for _, o := range s.Objects {
		if o.Ref.Namespace == ns {
			n++
		}
	}
	return n
}

const rbacNamespaceManifest = `
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: %[1]s}
stringData: {token: not-a-secret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: %[1]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: %[1]s}
spec:
  replicas: 0
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: registry.example/api:1}]}
`

const rbacBindings = `
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nsguard-diagnose-%[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nsguard-diagnose}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[2]s}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[3]s}]
`
