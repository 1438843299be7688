package catalog

import (
	"strings"
	"testing"
)

func TestBuiltinCatalog(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatalf("parse built-in catalog: %v", err)
	}
	if n := len(c.Finalizers); n < 30 {
		t.Errorf("catalog has %d entries, want at least 30", n)
	}
	ids := map[string]bool{}
	keys := map[string]bool{}
	for _, e := range c.Finalizers {
		if ids[e.ID] {
			t.Errorf("duplicate id %q", e.ID)
		}
		ids[e.ID] = true
		key := e.Name + "|" + e.Pattern + "|" + e.Prefix
		if keys[key] {
			t.Errorf("%s: duplicate name/pattern/prefix %q", e.ID, key)
		}
		keys[key] = true
		for field, v := range map[string]string{"project": e.Project, "handledBy": e.HandledBy, "protects": e.Protects, "removal": e.Removal} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %s is empty", e.ID, field)
			}
		}
		if e.ID != strings.ToLower(e.ID) || strings.ContainsAny(e.ID, " _./") {
			t.Errorf("%s: id must be a lowercase slug", e.ID)
		}
		for _, set := range e.Controller.WorkloadLabels {
			if len(set) == 0 {
				t.Errorf("%s: empty workload label set", e.ID)
			}
		}
		for _, gk := range e.AddedTo {
			if gk.Kind == "" {
				t.Errorf("%s: addedTo entry without kind", e.ID)
			}
		}
		for _, c := range e.Controllers() {
			for _, gk := range c.CreatesInOwnNamespace {
				if gk.Kind == "" {
					t.Errorf("%s: createsInOwnNamespace entry without kind", e.ID)
				}
			}
		}
		for i, h := range e.Handlers {
			if strings.TrimSpace(h.HandledBy) == "" || len(h.Controller.WorkloadLabels) == 0 {
				t.Errorf("%s: handler %d needs handledBy and the workload labels of its controller", e.ID, i)
			}
		}
		if len(e.References) == 0 {
			t.Errorf("%s: no references", e.ID)
		}
		for _, ref := range e.References {
			// Source is cited at a release tag or commit, never a branch
			// that moves.
			if !strings.HasPrefix(ref, "https://") || strings.Contains(ref, "/blob/main/") || strings.Contains(ref, "/blob/master/") {
				t.Errorf("%s: reference %q: want an https URL, source at a tag", e.ID, ref)
			}
		}
		if e.DeletesManaged && !e.Leaks {
			t.Errorf("%s: deletesManaged but leaks nothing when removed by hand", e.ID)
		}
	}
}

// TestOperatorControllers pins what the operators' source says about who
// removes their finalizers: the controller of each kind of a shared name,
// the leader-election Lease, the objects created at run time in the
// controller's own namespace, and whether deleting the object deletes what
// it manages.
func TestOperatorControllers(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		finalizer, group, kind string
		handledBy, lease       string
	}{
		{"finalizers.fluxcd.io", "kustomize.toolkit.fluxcd.io", "Kustomization", "Flux kustomize-controller", "kustomize-controller-leader-election"},
		{"finalizers.fluxcd.io", "helm.toolkit.fluxcd.io", "HelmRelease", "Flux helm-controller", "helm-controller-leader-election"},
		{"finalizers.fluxcd.io", "source.toolkit.fluxcd.io", "OCIRepository", "Flux source-controller", "source-controller-leader-election"},
		{"finalizers.fluxcd.io", "notification.toolkit.fluxcd.io", "Provider", "Flux notification-controller", "notification-controller-leader-election"},
		{"finalizers.fluxcd.io", "image.toolkit.fluxcd.io", "ImageRepository", "Flux image-reflector-controller", "image-reflector-controller-leader-election"},
		{"finalizers.fluxcd.io", "image.toolkit.fluxcd.io", "ImageUpdateAutomation", "Flux image-automation-controller", "image-automation-controller-leader-election"},
		{"resources-finalizer.argocd.argoproj.io", "argoproj.io", "ApplicationSet", "Argo CD ApplicationSet controller (reverse deletion order of progressive syncs)", "58ac56fa.applicationsets.argoproj.io"},
		{"acme.cert-manager.io/finalizer", "acme.cert-manager.io", "Challenge", "cert-manager controller (v1.16 and later; the default from v1.18)", "cert-manager-controller"},
		{"finalizer.keda.sh", "keda.sh", "ScaledObject", "keda-operator", "operator.keda.sh"},
		{"cnpg.io/cleanupPlugin", "", "Service", "CloudNativePG operator (cnpg-controller-manager)", "db9c8771.cnpg.io"},
		{"tigera.io/operator-cleanup", "operator.tigera.io", "Installation", "tigera-operator (core installation controller)", "operator-lock"},
		{"strimzi.io/auto-rebalancing", "kafka.strimzi.io", "KafkaRebalance", "Strimzi cluster operator", "strimzi-cluster-operator"},
		{"longhorn.io", "longhorn.io", "Volume", "longhorn-manager", "longhorn-manager-webhook-lock"},
		{"externalsecrets.external-secrets.io/ces-db", "", "Namespace", "external-secrets controller (ClusterExternalSecret controller), on Namespaces", "external-secrets-controller"},
	} {
		e := c.Lookup(tc.finalizer)
		if e == nil {
			t.Errorf("%s: not in the catalog", tc.finalizer)
			continue
		}
		handledBy, ctrl := e.HandlerFor(tc.group, tc.kind)
		if handledBy != tc.handledBy {
			t.Errorf("%s on %s: handled by %q, want %q", tc.finalizer, tc.kind, handledBy, tc.handledBy)
		}
		if !contains(ctrl.Leases, tc.lease) {
			t.Errorf("%s on %s: leases %v, want %s", tc.finalizer, tc.kind, ctrl.Leases, tc.lease)
		}
	}

	// Only the kinds a controller really creates in its own namespace.
	for finalizer, want := range map[string][]string{
		"longhorn.io": {"Node", "EngineImage", "BackupTarget", "Volume", "Engine", "Replica"},
		"velero.io/data-upload-download-finalizer": {"DataUpload", "DataDownload"},
		"velero.io/pod-volume-finalizer":           {"PodVolumeBackup", "PodVolumeRestore"},
		"finalizers.fluxcd.io":                     nil,
		"cnpg.io/cleanupPlugin":                    nil,
		"kyverno.io/webhooks":                      nil,
	} {
		var got []string
		for _, gk := range c.Lookup(finalizer).Controller.CreatesInOwnNamespace {
			got = append(got, gk.Kind)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: createsInOwnNamespace %v, want %v", finalizer, got, want)
		}
	}

	// Deleting these objects deletes what they manage; where the project
	// documents an uninstall that avoids it, the catalog names it.
	for _, tc := range []struct {
		finalizer                 string
		deletesManaged, uninstall bool
	}{
		{"resources-finalizer.argocd.argoproj.io", true, true},
		{"finalizers.fluxcd.io", true, true},
		{"longhorn.io", true, true},
		{"cephblockpool.ceph.rook.io", true, true},
		{"strimzi.io/topic-operator", true, false},
		{"post-delete-finalizer.argocd.argoproj.io", false, false},
		{"finalizer.keda.sh", false, false},
		{"tigera.io/cni-protector", false, false},
	} {
		e := c.Lookup(tc.finalizer)
		if e.DeletesManaged != tc.deletesManaged || (e.Uninstall != "") != tc.uninstall {
			t.Errorf("%s: deletesManaged %v, uninstall %q; want %v and an uninstall path: %v", tc.finalizer, e.DeletesManaged, e.Uninstall, tc.deletesManaged, tc.uninstall)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestLookup(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for finalizer, want := range map[string]string{
		"kubernetes.io/pvc-protection":                         "kubernetes-pvc-protection",
		"foregroundDeletion":                                   "kubernetes-foreground-deletion",
		"orphan":                                               "kubernetes-orphan",
		"resources-finalizer.argocd.argoproj.io":               "argocd-resources-finalizer",
		"resources-finalizer.argocd.argoproj.io/background":    "argocd-resources-finalizer-background",
		"controller.cattle.io/namespace-auth":                  "rancher-controller",
		"clusterscoped.controller.cattle.io/cluster-prtb-sync": "rancher-clusterscoped-controller",
		"wrangler.cattle.io/harvester-lb-vmi-controller":       "rancher-wrangler",
		"external-attacher/ebs-csi-aws-com":                    "csi-external-attacher",
		"longhorn.io":                                          "longhorn",
		"tigera.io/cni-protector":                              "tigera-cni-protector",
		// Entries checked against the operators' source.
		"acme.cert-manager.io/finalizer":                                    "cert-manager-acme-challenge",
		"finalizer.acme.cert-manager.io":                                    "cert-manager-acme-challenge-legacy",
		"resources-finalizer.argocd.argoproj.io/foreground":                 "argocd-resources-finalizer-foreground",
		"pre-delete-finalizer.argocd.argoproj.io":                           "argocd-pre-delete",
		"post-delete-finalizer.argocd.argoproj.io/cleanup":                  "argocd-post-delete",
		"finalizers.fluxcd.io":                                              "fluxcd",
		"cephcluster.ceph.rook.io":                                          "rook-cephcluster",
		"cephobjectstore.ceph.rook.io":                                      "rook-ceph-resources",
		"cephblockpoolradosnamespace.ceph.rook.io":                          "rook-ceph-resources",
		"ceph.rook.io/disaster-protection":                                  "rook-disaster-protection",
		"tigera.io/operator-cleanup":                                        "tigera-operator-cleanup",
		"operator.tigera.io/whisker-controller":                             "tigera-operator-controllers",
		"externalsecrets.external-secrets.io/externalsecret-cleanup":        "external-secrets-cleanup",
		"externalsecrets.external-secrets.io/clusterexternalsecret-cleanup": "external-secrets-clusterexternalsecret",
		"externalsecrets.external-secrets.io/ces-shared-credentials":        "external-secrets-namespace",
		"pushsecret.externalsecrets.io/finalizer":                           "external-secrets-pushsecret",
		"velero.io/data-upload-download-finalizer":                          "velero-data-mover",
		"velero.io/pod-volume-finalizer":                                    "velero-pod-volume",
		"strimzi.io/auto-rebalancing":                                       "strimzi-auto-rebalancing",
		"cnpg.io/cleanupPlugin":                                             "cnpg-plugin",
		"cnpg.io/deleteDatabase":                                            "cnpg-postgres-objects",
		"cnpg.io/deleteRole":                                                "cnpg-postgres-objects",
		"kyverno.io/webhooks":                                               "kyverno-webhooks",
		"kyverno.io/ttlwebhooks":                                            "kyverno-webhooks",
		"finalizer.keda.sh":                                                 "keda",
		"monitoring.coreos.com/status-cleanup":                              "prometheus-operator-status-cleanup",
	} {
		e := c.Lookup(finalizer)
		if e == nil {
			t.Errorf("Lookup(%q) = nil, want %s", finalizer, want)
			continue
		}
		if e.ID != want {
			t.Errorf("Lookup(%q) = %s, want %s", finalizer, e.ID, want)
		}
	}
	if e := c.Lookup("example.com/unknown"); e != nil {
		t.Errorf("Lookup(unknown) = %s, want nil", e.ID)
	}
}

// The safe built-ins are what hardcoded-finalizer lets through: they must
// stay builtin and leak nothing.
func TestSafeBuiltins(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kubernetes.io/pvc-protection", "kubernetes.io/pv-protection", "foregroundDeletion", "orphan"} {
		e := c.Lookup(name)
		if e == nil || !e.Builtin || e.Leaks {
			t.Errorf("%s: want a builtin entry that does not leak, got %+v", name, e)
		}
	}
	if e := c.Lookup("service.kubernetes.io/load-balancer-cleanup"); e == nil || !e.Leaks {
		t.Errorf("load-balancer-cleanup must leak (cloud load balancer)")
	}
}

func TestPatternsAndHandlers(t *testing.T) {
	c, err := Parse([]byte(`finalizers:
- id: rook
  pattern: "*.ceph.rook.io"
  project: Rook
  handledBy: rook-ceph-operator
  protects: Ceph resources
  removal: leaks
- id: rook-prefix
  prefix: ceph.rook.io/
  project: Rook
  handledBy: rook-ceph-operator
  protects: Ceph resources
  removal: leaks
- id: flux
  name: finalizers.fluxcd.io
  project: Flux
  handledBy: a Flux controller
  handlers:
  - groups: [kustomize.toolkit.fluxcd.io]
    handledBy: kustomize-controller
    controller: {workloadLabels: [{app: kustomize-controller}]}
  - kinds: [{group: helm.toolkit.fluxcd.io, kind: HelmRelease}]
    handledBy: helm-controller
  protects: what the object applied
  removal: leaks
`))
	if err != nil {
		t.Fatal(err)
	}
	for finalizer, want := range map[string]string{
		"cephcluster.ceph.rook.io":   "rook",
		"cephblockpool.ceph.rook.io": "rook",
		"ceph.rook.io/disaster":      "rook-prefix",
		"finalizers.fluxcd.io":       "flux",
	} {
		if e := c.Lookup(finalizer); e == nil || e.ID != want {
			t.Errorf("Lookup(%q) = %v, want %s", finalizer, e, want)
		}
	}
	if e := c.Lookup("ceph.rook.io"); e != nil {
		t.Errorf("Lookup(ceph.rook.io) = %s, want nil: the pattern needs the dot", e.ID)
	}
	flux := c.Lookup("finalizers.fluxcd.io")
	for _, tc := range []struct{ group, kind, want string }{
		{"kustomize.toolkit.fluxcd.io", "Kustomization", "kustomize-controller"},
		{"helm.toolkit.fluxcd.io", "HelmRelease", "helm-controller"},
		{"source.toolkit.fluxcd.io", "GitRepository", "a Flux controller"},
	} {
		if got, _ := flux.HandlerFor(tc.group, tc.kind); got != tc.want {
			t.Errorf("HandlerFor(%s/%s) = %q, want %q", tc.group, tc.kind, got, tc.want)
		}
	}
	for _, bad := range []string{
		"finalizers: [{id: a, pattern: 'a?b'}]",
		"finalizers: [{id: a, pattern: 'ab'}]",
		"finalizers: [{id: a, name: a, pattern: 'a*'}]",
		"finalizers: [{id: a, name: a, handlers: [{handledBy: x}]}]",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) succeeded, want an error", bad)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*.ceph.rook.io", "cephcluster.ceph.rook.io", true},
		{"*.ceph.rook.io", ".ceph.rook.io", true},
		{"*.ceph.rook.io", "ceph.rook.io", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "acb", false},
		{"a*bb", "abb", true},
		{"a*bb", "ab", false},
		{"x/*", "x/y/z", true},
	} {
		if got := MatchPattern(tc.pattern, tc.s); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
