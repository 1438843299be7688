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
	patterns []*Entry // in document order
	prefixes []*Entry // sorted longest prefix first
}

// Entry describes one finalizer (or a family of finalizers sharing a prefix).
type Entry struct {
	// ID is a stable slug for the entry.
	ID string `json:"id"`
	// Name is the exact finalizer; Pattern matches names built from a
	// template, "*" standing for any run of characters (e.g.
	// "*.ceph.rook.io" for cephcluster.ceph.rook.io, cephblockpool.…);
	// Prefix matches a family (e.g. "controller.cattle.io/"). Exactly one
	// is set. Lookup tries names, then patterns, then the longest prefix.
	Name    string `json:"name,omitempty"`
	Pattern string `json:"pattern,omitempty"`
	Prefix  string `json:"prefix,omitempty"`
	// Project that owns the finalizer (e.g. "Kubernetes", "Argo CD").
	Project string `json:"project"`
	// Builtin is true when Kubernetes itself (kube-controller-manager,
	// kube-apiserver, kubelet) handles the finalizer.
	Builtin bool `json:"builtin,omitempty"`
	// HandledBy names the controller in words.
	HandledBy string `json:"handledBy"`
	// Controller tells how to recognise the controller in a cluster or bundle.
	Controller Controller `json:"controller,omitempty"`
	// Handlers split a finalizer name that several controllers of one
	// project share, each for its own kinds (Flux's finalizers.fluxcd.io):
	// objects of a kind a handler lists are handled by that handler only.
	// Objects of other kinds fall back to HandledBy and Controller.
	Handlers []KindHandler `json:"handlers,omitempty"`
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
	// DeletesManaged is true when deleting an object that carries the
	// finalizer deletes what the object manages (an Argo CD Application
	// with the resources finalizer, a Flux Kustomization that prunes):
	// a fix must not suggest deleting it; Uninstall says what to do.
	DeletesManaged bool `json:"deletesManaged,omitempty"`
	// Uninstall is the project's documented way to remove the controller
	// and its objects (a URL, optionally with a few words).
	Uninstall string `json:"uninstall,omitempty"`
	// References are upstream issues, docs or source that back the entry.
	References []string `json:"references,omitempty"`
}

// KindHandler is the controller of a shared finalizer for some kinds.
type KindHandler struct {
	// Groups match every kind of these API groups; Kinds match single kinds.
	Groups []string    `json:"groups,omitempty"`
	Kinds  []GroupKind `json:"kinds,omitempty"`
	// HandledBy names the controller in words.
	HandledBy  string     `json:"handledBy"`
	Controller Controller `json:"controller,omitempty"`
}

// Matches tells whether objects of group/kind are the handler's.
func (h *KindHandler) Matches(group, kind string) bool {
	for _, g := range h.Groups {
		if g == group {
			return true
		}
	}
	for _, gk := range h.Kinds {
		if gk.Group == group && gk.Kind == kind {
			return true
		}
	}
	return false
}

// HandlerFor returns who handles the finalizer on objects of group/kind:
// the first of Handlers that lists the kind, else the entry's own
// HandledBy and Controller.
func (e *Entry) HandlerFor(group, kind string) (handledBy string, c Controller) {
	for i := range e.Handlers {
		if h := &e.Handlers[i]; h.Matches(group, kind) {
			return h.HandledBy, h.Controller
		}
	}
	return e.HandledBy, e.Controller
}

// Controllers returns every way the catalog describes a controller of the
// finalizer: the entry's own and each handler's.
func (e *Entry) Controllers() []Controller {
	out := []Controller{e.Controller}
	for _, h := range e.Handlers {
		out = append(out, h.Controller)
	}
	return out
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
	// CreatesInOwnNamespace lists kinds whose objects the controller
	// creates at run time, with the finalizer, in the namespace it runs in:
	// no manifest holds them, yet deleting that namespace deletes the
	// controller before them (lint warns from the workload alone).
	CreatesInOwnNamespace []GroupKind `json:"createsInOwnNamespace,omitempty"`
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
		case count(e.Name != "", e.Pattern != "", e.Prefix != "") != 1:
			return fmt.Errorf("finalizer catalog entry %q: set exactly one of name, pattern and prefix", e.ID)
		case e.Pattern != "" && strings.ContainsAny(e.Pattern, "?[]{}\\"):
			return fmt.Errorf("finalizer catalog entry %q: pattern %q: only * is special in a pattern", e.ID, e.Pattern)
		case e.Pattern != "" && !strings.Contains(e.Pattern, "*"):
			return fmt.Errorf("finalizer catalog entry %q: pattern %q has no *; use name", e.ID, e.Pattern)
		}
		for j, h := range e.Handlers {
			if len(h.Groups) == 0 && len(h.Kinds) == 0 {
				return fmt.Errorf("finalizer catalog entry %q: handler %d lists no groups and no kinds", e.ID, j)
			}
		}
		ids[e.ID] = true
		if e.Name != "" {
			if _, dup := c.exact[e.Name]; dup {
				return fmt.Errorf("finalizer catalog entry %q: duplicate name %q", e.ID, e.Name)
			}
			c.exact[e.Name] = e
		} else if e.Pattern != "" {
			c.patterns = append(c.patterns, e)
		} else {
			c.prefixes = append(c.prefixes, e)
		}
	}
	sort.SliceStable(c.prefixes, func(i, j int) bool { return len(c.prefixes[i].Prefix) > len(c.prefixes[j].Prefix) })
	return nil
}

// Lookup returns the entry for a finalizer: an exact name first, then the
// first matching pattern, then the longest matching prefix; nil when the
// catalog does not know it.
func (c *Catalog) Lookup(finalizer string) *Entry {
	if e, ok := c.exact[finalizer]; ok {
		return e
	}
	for _, e := range c.patterns {
		if MatchPattern(e.Pattern, finalizer) {
			return e
		}
	}
	for _, e := range c.prefixes {
		if strings.HasPrefix(finalizer, e.Prefix) {
			return e
		}
	}
	return nil
}

// MatchPattern reports whether s matches pattern, in which "*" stands for
// any run of characters (including none, "/" included) and every other
// character for itself: the semantics of Rego's glob.match with no
// delimiters, which the policies' catalog library uses.
func MatchPattern(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
