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
