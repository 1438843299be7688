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
		key := e.Name + "|" + e.Prefix
		if keys[key] {
			t.Errorf("%s: duplicate name/prefix %q", e.ID, key)
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
	}
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
