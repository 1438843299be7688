package realworld

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/lint"
)

// TestCatalogLabelsMatchManifests checks the catalog's workload labels
// against the workloads the projects really ship: for each finalizer and
// kind, the controller the catalog names (through the kind's handler when
// the name is shared) must match exactly the expected workloads of the
// published manifests, and no other.
func TestCatalogLabelsMatchManifests(t *testing.T) {
	cat := loadEngine(t).Catalog()
	for _, tc := range []struct {
		project, finalizer, group, kind string
		want                            []string // "Kind name" of the matching workloads
	}{
		{"argo-cd", "resources-finalizer.argocd.argoproj.io", "argoproj.io", "Application", []string{"StatefulSet argocd-application-controller"}},
		{"argo-cd", "resources-finalizer.argocd.argoproj.io", "argoproj.io", "ApplicationSet", []string{"Deployment argocd-applicationset-controller"}},
		{"cert-manager", "acme.cert-manager.io/finalizer", "acme.cert-manager.io", "Challenge", []string{"Deployment cert-manager"}},
		{"cert-manager", "finalizer.acme.cert-manager.io", "acme.cert-manager.io", "Challenge", []string{"Deployment cert-manager"}},
		{"flux", "finalizers.fluxcd.io", "kustomize.toolkit.fluxcd.io", "Kustomization", []string{"Deployment kustomize-controller"}},
		{"flux", "finalizers.fluxcd.io", "helm.toolkit.fluxcd.io", "HelmRelease", []string{"Deployment helm-controller"}},
		{"flux", "finalizers.fluxcd.io", "source.toolkit.fluxcd.io", "GitRepository", []string{"Deployment source-controller"}},
		{"flux", "finalizers.fluxcd.io", "notification.toolkit.fluxcd.io", "Receiver", []string{"Deployment notification-controller"}},
		{"flux", "finalizers.fluxcd.io", "image.toolkit.fluxcd.io", "ImagePolicy", []string{"Deployment image-reflector-controller"}},
		{"flux", "finalizers.fluxcd.io", "image.toolkit.fluxcd.io", "ImageUpdateAutomation", []string{"Deployment image-automation-controller"}},
		{"rook", "cephcluster.ceph.rook.io", "ceph.rook.io", "CephCluster", []string{"Deployment rook-ceph-operator"}},
		{"rook", "cephobjectstore.ceph.rook.io", "ceph.rook.io", "CephObjectStore", []string{"Deployment rook-ceph-operator"}},
		{"longhorn", "longhorn.io", "longhorn.io", "Volume", []string{"DaemonSet longhorn-manager"}},
		{"strimzi", "strimzi.io/auto-rebalancing", "kafka.strimzi.io", "KafkaRebalance", []string{"Deployment strimzi-cluster-operator"}},
		{"cloudnative-pg", "cnpg.io/cleanupPlugin", "", "Service", []string{"Deployment cnpg-controller-manager"}},
		{"tigera-operator", "tigera.io/cni-protector", "", "ServiceAccount", []string{"Deployment tigera-operator"}},
		{"tigera-operator", "tigera.io/operator-cleanup", "operator.tigera.io", "Installation", []string{"Deployment tigera-operator"}},
		{"kyverno", "kyverno.io/webhooks", "apps", "Deployment", []string{"Deployment kyverno-admission-controller", "Deployment kyverno-cleanup-controller"}},
		{"keda", "finalizer.keda.sh", "keda.sh", "ScaledObject", []string{"Deployment keda-operator"}},
		{"kube-prometheus", "monitoring.coreos.com/status-cleanup", "monitoring.coreos.com", "Prometheus", []string{"Deployment prometheus-operator"}},
	} {
		e := cat.Lookup(tc.finalizer)
		if e == nil {
			t.Errorf("%s: not in the catalog", tc.finalizer)
			continue
		}
		handledBy, c := e.HandlerFor(tc.group, tc.kind)
		dir := manifestDir(tc.project)
		if dir == "" {
			t.Logf("%s: the published manifests of %s are not in this checkout; not checked", tc.finalizer, tc.project)
			continue
		}
		read, err := lint.Read(context.Background(), []string{dir}, lint.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range read.Objects {
			if isWorkload(o) && matchesAny(c.WorkloadLabels, o) {
				got = append(got, o.Ref.Kind+" "+o.Ref.Name)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
			t.Errorf("%s on %s.%s (%s, %s): labels %v match [%s] in %s, want [%s]",
				tc.finalizer, tc.kind, tc.group, e.ID, handledBy, c.WorkloadLabels, strings.Join(got, ", "), tc.project, strings.Join(tc.want, ", "))
		}
	}
}

func isWorkload(o *inventory.Object) bool {
	switch o.Ref.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return o.Ref.Group == "apps"
	}
	return false
}

// matchesAny: the workload or its pod template carries every label of one
// of the sets, as the catalog defines a controller's workload labels.
func matchesAny(sets []map[string]string, o *inventory.Object) bool {
	for _, set := range sets {
		for _, labels := range []map[string]string{o.Metadata.Labels, templateLabels(o)} {
			if len(set) > 0 && hasAll(labels, set) {
				return true
			}
		}
	}
	return false
}

func hasAll(labels, set map[string]string) bool {
	for k, v := range set {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func templateLabels(o *inventory.Object) map[string]string {
	out := map[string]string{}
	spec, _ := o.Body["spec"].(map[string]any)
	tpl, _ := spec["template"].(map[string]any)
	md, _ := tpl["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	for k, v := range labels {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
