// Package diagnose explains what blocks the deletion of a namespace, or what
// would block it if it were deleted now: it turns a cluster snapshot and the
// findings of the rules into a report with the root cause in plain words and
// an ordered fix plan with exact commands, safe steps first.
//
// The rules decide what is dangerous; this package only translates their
// findings and the snapshot's facts (finalizer controllers, liveness,
// Services) into words and commands.
package diagnose

import (
	"sort"
	"strings"
	"time"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
)

// Namespace states.
const (
	StateActive      = "Active"
	StateTerminating = "Terminating"
)

// Report is the diagnosis of one namespace. Its JSON form is the output of
// `nsguard diagnose -o json`.
type Report struct {
	Namespace string `json:"namespace"`
	// State is Active or Terminating.
	State string `json:"state"`
	// DeletionTimestamp and TerminatingSeconds are set when Terminating.
	DeletionTimestamp  string `json:"deletionTimestamp,omitempty"`
	TerminatingSeconds int64  `json:"terminatingSeconds,omitempty"`
	KubeVersion        string `json:"kubeVersion,omitempty"`
	// Blocked is true when a rule found something that blocks (or would
	// block) the deletion: a finding of severity deny.
	Blocked bool `json:"blocked"`
	// Conditions are the namespace's status conditions, as the namespace
	// controller reports them.
	Conditions []inventory.Condition `json:"conditions,omitempty"`
	// Objects are the objects of the namespace that carry finalizers: in a
	// Terminating namespace, what holds it up.
	Objects []BlockingObject `json:"objects"`
	// Finalizers tell, per finalizer, who removes it, whether that
	// controller is alive, and whether removing it by hand is safe.
	Finalizers []Finalizer `json:"finalizers"`
	// RootCause says, in plain words, why the namespace hangs (or would).
	RootCause []string `json:"rootCause"`
	// Findings are the rules' findings that concern this namespace.
	Findings []policies.Finding `json:"findings"`
	// Plan is the ordered fix plan, safe steps first.
	Plan []Step `json:"plan"`
	// ObjectsInNamespace and ResourceTypes say how much was looked at.
	ObjectsInNamespace int `json:"objectsInNamespace"`
	ResourceTypes      int `json:"resourceTypes"`
	// Complete is false when the snapshot was cut short; Incomplete then
	// says what was not checked.
	Complete   bool     `json:"complete"`
	Incomplete []string `json:"incomplete,omitempty"`
}

// BlockingObject is an object of the namespace with finalizers, or the
// Namespace itself when it has finalizers of its own.
type BlockingObject struct {
	Object     inventory.ObjectRef `json:"object"`
	Finalizers []string            `json:"finalizers"`
	// SpecFinalizers are a Namespace's spec.finalizers other than
	// kubernetes: only the finalize subresource removes them.
	SpecFinalizers    []string `json:"specFinalizers,omitempty"`
	DeletionTimestamp string   `json:"deletionTimestamp,omitempty"`
}

// Removal verdicts of a finalizer.
const (
	// RemovalSafe: its controller is gone for good and the catalog says
	// removing it by hand leaks nothing.
	RemovalSafe = "safe"
	// RemovalCaution: its controller is gone for good, but nsguard does not
	// know what the finalizer protects.
	RemovalCaution = "caution"
	// RemovalUnsafe: its controller may still do its work, or removing it
	// leaks what it protects.
	RemovalUnsafe = "unsafe"
	// RemovalNever: Kubernetes itself handles it; fix what it waits for.
	RemovalNever = "never"
)

// Finalizer is what the report says of one finalizer in the namespace.
type Finalizer struct {
	Name    string   `json:"name"`
	Objects int      `json:"objects"`
	Kinds   []string `json:"kinds"`
	// Catalog facts, when the catalog knows the finalizer.
	Catalog   string `json:"catalog,omitempty"`
	HandledBy string `json:"handledBy,omitempty"`
	Protects  string `json:"protects,omitempty"`
	Leaks     *bool  `json:"leaks,omitempty"`
	// Controllers are the workloads that can remove it.
	Controllers []Controller `json:"controllers"`
	Liveness    string       `json:"liveness"`
	Evidence    []string     `json:"evidence,omitempty"`
	// GoneForGood is true when no controller can come back to remove it.
	GoneForGood bool `json:"goneForGood"`
	// Removal is the verdict on removing it by hand, RemovalReason why.
	Removal       string `json:"removal"`
	RemovalReason string `json:"removalReason"`

	fact *inventory.FinalizerFact
}

// Controller is a workload that can remove a finalizer.
type Controller struct {
	Workload       inventory.ObjectRef `json:"workload"`
	ServiceAccount string              `json:"serviceAccount,omitempty"`
	Via            []string            `json:"via"`
	Liveness       string              `json:"liveness"`
	Evidence       []string            `json:"evidence,omitempty"`
	// InNamespace is true when it runs in the diagnosed namespace, so that
	// deleting the namespace deletes it too.
	InNamespace bool `json:"inNamespace"`
}

// Options configures Build.
type Options struct {
	// Catalog is the finalizer catalog (default: the built-in one).
	Catalog *catalog.Catalog
	// Now is the clock for the Terminating duration (default time.Now).
	Now func() time.Time
}

// Build writes the report for the snapshot's target namespace from the
// snapshot and the rules' findings on it.
func Build(s *inventory.Snapshot, findings []policies.Finding, opts Options) *Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Catalog == nil {
		opts.Catalog, _ = catalog.Builtin()
	}
	r := &Report{
		Namespace:  s.Target,
		State:      StateActive,
		Complete:   s.Complete,
		Incomplete: s.Incomplete,
		Objects:    []BlockingObject{},
		Finalizers: []Finalizer{},
		RootCause:  []string{},
		Findings:   []policies.Finding{},
		Plan:       []Step{},
	}
	r.KubeVersion = s.KubeVersion.GitVersion
	if s.Discovery != nil {
		r.ResourceTypes = s.Discovery.ResourceTypes
	}
	if ns := s.Namespaces[s.Target]; ns != nil {
		r.Conditions = ns.Conditions
		if ns.DeletionTimestamp != "" || ns.Phase == StateTerminating {
			r.State = StateTerminating
			r.DeletionTimestamp = ns.DeletionTimestamp
			if t, err := time.Parse(time.RFC3339, ns.DeletionTimestamp); err == nil {
				if d := opts.Now().Sub(t); d > 0 {
					r.TerminatingSeconds = int64(d / time.Second)
				}
			}
		}
	}

	for _, o := range s.Objects {
		if o.Ref.Group == "" && o.Ref.Kind == "Namespace" && o.Ref.Name == s.Target {
			if b, ok := namespaceFinalizers(o); ok {
				r.Objects = append(r.Objects, b)
			}
			continue
		}
		if o.Ref.Namespace != s.Target {
			continue
		}
		r.ObjectsInNamespace++
		if len(o.Metadata.Finalizers) > 0 {
			r.Objects = append(r.Objects, BlockingObject{Object: o.Ref, Finalizers: o.Metadata.Finalizers, DeletionTimestamp: o.Metadata.DeletionTimestamp})
		}
	}
	sort.SliceStable(r.Objects, func(i, j int) bool { return r.Objects[i].Object.Less(r.Objects[j].Object) })

	for _, f := range findings {
		if f.Concerns(s.Target) {
			r.Findings = append(r.Findings, f)
			if f.Severity == policies.SeverityDeny {
				r.Blocked = true
			}
		}
	}

	for _, fact := range s.Finalizers {
		if fact.Namespace != s.Target || len(fact.Objects) == 0 {
			continue
		}
		r.Finalizers = append(r.Finalizers, finalizerOf(s, fact, opts.Catalog, r.State == StateTerminating))
	}

	p := &planner{s: s, r: r, cat: opts.Catalog}
	r.Plan = p.plan()
	r.RootCause = rootCause(r)
	return r
}

// namespaceFinalizers returns the Namespace as a blocking object when it
// holds finalizers of its own (metadata.finalizers, or spec.finalizers
// other than the namespace controller's kubernetes).
func namespaceFinalizers(o *inventory.Object) (BlockingObject, bool) {
	b := BlockingObject{Object: o.Ref, Finalizers: o.Metadata.Finalizers, DeletionTimestamp: o.Metadata.DeletionTimestamp}
	spec, _ := o.Body["spec"].(map[string]any)
	fins, _ := spec["finalizers"].([]any)
	for _, f := range fins {
		if name, _ := f.(string); name != "" && name != "kubernetes" {
			b.SpecFinalizers = append(b.SpecFinalizers, name)
		}
	}
	if b.Finalizers == nil {
		b.Finalizers = []string{}
	}
	return b, len(b.Finalizers)+len(b.SpecFinalizers) > 0
}

func finalizerOf(s *inventory.Snapshot, fact *inventory.FinalizerFact, cat *catalog.Catalog, terminating bool) Finalizer {
	f := Finalizer{
		Name:        fact.Finalizer,
		Objects:     len(fact.Objects),
		Kinds:       fact.Kinds,
		Catalog:     fact.Catalog,
		Liveness:    fact.Liveness,
		Evidence:    fact.Evidence,
		Controllers: []Controller{},
		fact:        fact,
	}
	var entry *catalog.Entry
	if cat != nil {
		entry = cat.Lookup(fact.Finalizer)
	}
	if entry != nil {
		f.HandledBy = entry.HandledBy
		f.Protects = entry.Protects
		leaks := entry.Leaks
		f.Leaks = &leaks
	}
	for _, h := range fact.Handlers {
		f.Controllers = append(f.Controllers, Controller{
			Workload:       h.Workload,
			ServiceAccount: h.ServiceAccount,
			Via:            h.Via,
			Liveness:       h.Liveness,
			Evidence:       h.Evidence,
			InNamespace:    h.Namespace == s.Target,
		})
	}
	f.GoneForGood = goneForGood(fact, s.Target, terminating)
	f.Removal, f.RemovalReason = removalVerdict(fact, entry, f.GoneForGood)
	return f
}

// goneForGood: nothing can come back to remove the finalizer. Either
// nothing in the cluster handles it (absent, with evidence), or every
// handler is down and lives in the namespace being deleted: a Terminating
// namespace accepts no new pods, so they cannot be started again there.
func goneForGood(fact *inventory.FinalizerFact, target string, terminating bool) bool {
	switch fact.Liveness {
	case inventory.LivenessAbsent:
		return true
	case inventory.LivenessDown:
		if !terminating || len(fact.Handlers) == 0 {
			return false
		}
		for _, h := range fact.Handlers {
			if h.Namespace != target || h.Liveness == inventory.LivenessAlive {
				return false
			}
		}
		return true
	}
	return false
}

func removalVerdict(fact *inventory.FinalizerFact, entry *catalog.Entry, gone bool) (string, string) {
	if fact.Builtin {
		why := "Kubernetes itself removes it"
		if entry != nil && entry.Removal != "" {
			why += ": " + entry.Removal
		}
		return RemovalNever, why
	}
	leakWords := ""
	if entry != nil && entry.Leaks {
		leakWords = "removing it by hand leaks " + entry.Protects
		if entry.Removal != "" {
			leakWords += " (" + strings.TrimSuffix(entry.Removal, ".") + ")"
		}
	}
	switch {
	case fact.Liveness == inventory.LivenessAlive:
		why := "its controller is alive and removes it once its cleanup is done; removing it by hand skips that cleanup"
		if leakWords != "" {
			why += "; " + leakWords
		}
		return RemovalUnsafe, why
	case !gone && fact.Liveness == inventory.LivenessDown:
		return RemovalUnsafe, "its controller exists but is not running: start it again and it removes the finalizer itself"
	case !gone:
		return RemovalUnsafe, "whether its controller runs is unknown (it may run outside the cluster): find it before removing anything"
	case leakWords != "":
		return RemovalUnsafe, "its controller is gone for good, but " + leakWords + ": clean that up by hand first"
	case entry != nil:
		why := "its controller is gone for good and the catalog says removing it leaks nothing"
		if entry.Removal != "" {
			why += " (" + strings.TrimSuffix(entry.Removal, ".") + ")"
		}
		return RemovalSafe, why
	default:
		return RemovalCaution, "its controller is gone for good, but nsguard's catalog does not know what it protects: check that nothing outside the cluster (cloud resources, volumes, DNS records) depends on it"
	}
}
