// Package catalog is the finalizer catalog: what nsguard knows about
// well-known finalizers (who handles them, how to recognise that controller,
// what they protect and whether removing them by hand leaks anything).
//
// The catalog is policy data: finalizers.yaml is embedded here, given to the
// rules as data.nsguard.catalog, and read by the inventory to find the
// controller of each finalizer.
package catalog

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:embed finalizers.yaml
var builtinYAML []byte

// BuiltinYAML returns the embedded catalog document.
func BuiltinYAML() []byte { return builtinYAML }

// Catalog is the parsed catalog document.
type Catalog struct {
	Finalizers []Entry `json:"finalizers"`

	exact    map[string]*Entry
	prefixes []*Entry // sorted longest prefix first
}

// Entry describes one finalizer (or a family of finalizers sharing a prefix).
type Entry struct {
	// ID is a stable slug for the entry.
	ID string `json:"id"`
	// Name is the exact finalizer; Prefix matches a family
	// (e.g. "controller.cattle.io/"). Exactly one is set.
	Name   string `json:"name,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	// Project that owns the finalizer (e.g. "Kubernetes", "Argo CD").
	Project string `json:"project"`
	// Builtin is true when Kubernetes itself (kube-controller-manager,
	// kube-apiserver, kubelet) handles the finalizer.
	Builtin bool `json:"builtin,omitempty"`
	// HandledBy names the controller in words.
	HandledBy string `json:"handledBy"`
	// Controller tells how to recognise the controller in a cluster or bundle.
	Controller Controller `json:"controller,omitempty"`
	// AddedTo lists kinds whose objects get this finalizer from their
	// controller even when a manifest does not set it.
	AddedTo []GroupKind `json:"addedTo,omitempty"`
	// Protects says what the finalizer guards.
	Protects string `json:"protects"`
	// Leaks is true when removing the finalizer by hand leaves something
	// behind (cloud resources, volumes, DNS records, certificates, …).
	Leaks bool `json:"leaks"`
	// Removal says what happens when the finalizer is removed by hand, and
	// when that is safe.
	Removal string `json:"removal"`
	// References are upstream issues or docs.
	References []string `json:"references,omitempty"`
}

// Controller is how to recognise the controller of a finalizer.
type Controller struct {
	// Namespaces where it is usually installed.
	Namespaces []string `json:"namespaces,omitempty"`
	// WorkloadLabels: a workload (or its pod template) matching all labels
	// of any one of these sets is the controller.
	WorkloadLabels []map[string]string `json:"workloadLabels,omitempty"`
	// Leases are leader-election Lease names the controller renews.
	Leases []string `json:"leases,omitempty"`
}

// GroupKind names a kind; Group "" is the core group.
type GroupKind struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
}

// Parse reads a catalog document (YAML or JSON) and checks it.
func Parse(data []byte) (*Catalog, error) {
	var c Catalog
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("parse finalizer catalog: %w", err)
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Builtin returns the embedded catalog.
func Builtin() (*Catalog, error) { return Parse(builtinYAML) }

func (c *Catalog) index() error {
	c.exact = map[string]*Entry{}
	c.prefixes = nil
	ids := map[string]bool{}
	for i := range c.Finalizers {
		e := &c.Finalizers[i]
		switch {
		case e.ID == "":
			return fmt.Errorf("finalizer catalog entry %d: id is required", i)
		case ids[e.ID]:
			return fmt.Errorf("finalizer catalog entry %q: duplicate id", e.ID)
		case (e.Name == "") == (e.Prefix == ""):
			return fmt.Errorf("finalizer catalog entry %q: set exactly one of name and prefix", e.ID)
		}
		ids[e.ID] = true
		if e.Name != "" {
			if _, dup := c.exact[e.Name]; dup {
				return fmt.Errorf("finalizer catalog entry %q: duplicate name %q", e.ID, e.Name)
			}
			c.exact[e.Name] = e
		} else {
			c.prefixes = append(c.prefixes, e)
		}
	}
	sort.SliceStable(c.prefixes, func(i, j int) bool { return len(c.prefixes[i].Prefix) > len(c.prefixes[j].Prefix) })
	return nil
}

// Lookup returns the entry for a finalizer: an exact name first, then the
// longest matching prefix; nil when the catalog does not know it.
func (c *Catalog) Lookup(finalizer string) *Entry {
	if e, ok := c.exact[finalizer]; ok {
		return e
	}
	for _, e := range c.prefixes {
		if strings.HasPrefix(finalizer, e.Prefix) {
			return e
		}
	}
	return nil
}
