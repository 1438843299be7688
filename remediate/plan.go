package remediate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies/catalog"
)

// Modes of remediation.
const (
	ModeOff    = "off"    // report only (metrics); no Events, no writes
	ModeDryRun = "dryrun" // an Event for every action that would run
	ModeOn     = "on"     // run the allowed actions
)

// Candidate is one action of a namespace's plan, with what justifies it.
type Candidate struct {
	Action actions.Action
	// Step is the plan step's title; Why its reason.
	Step, Why string
	// Fact is the finalizer's fact, for RemoveFinalizer.
	Fact *inventory.FinalizerFact
	// Entry is the finalizer's catalog entry, nil when unknown.
	Entry *catalog.Entry
}

// Key identifies the candidate across passes (absent-since tracking).
func (c Candidate) Key() string {
	return string(c.Action.Type) + " " + c.Action.Target.UID + "/" + c.Action.Target.String() + " " + c.Action.Finalizer
}

// Evidence is the candidate's evidence in words.
func (c Candidate) Evidence() string {
	if c.Fact != nil && len(c.Fact.Evidence) > 0 {
		return strings.Join(c.Fact.Evidence, "; ")
	}
	return c.Why
}

// Target is the snapshot's object that an action names, by UID and name,
// or nil when the snapshot does not hold it.
func Target(s *inventory.Snapshot, a actions.Action) *inventory.Object {
	for _, o := range s.Objects {
		if o.Metadata.UID == a.Target.UID && o.Ref.Name == a.Target.Name {
			return o
		}
	}
	return nil
}

// AbsentSince carries, from one pass to the next, the time each
// remove-finalizer candidate's controller was first seen absent: kept while
// it stays absent, started now for a newly absent one, and dropped for any
// other verdict, so that a controller that comes back restarts the clock.
func AbsentSince(since map[string]time.Time, cands []Candidate, now time.Time) map[string]time.Time {
	next := map[string]time.Time{}
	for _, c := range cands {
		if c.Action.Type == actions.RemoveFinalizer && c.Fact != nil && c.Fact.Liveness == inventory.LivenessAbsent {
			t, ok := since[c.Key()]
			if !ok {
				t = now
			}
			next[c.Key()] = t
		}
	}
	return next
}

// Candidates are the actions of a report's plan, in plan order (safe steps
// first).
func Candidates(s *inventory.Snapshot, r *diagnose.Report, cat *catalog.Catalog) []Candidate {
	var out []Candidate
	for _, st := range r.Plan {
		for _, a := range st.Actions {
			c := Candidate{Action: a, Step: st.Title, Why: st.Why}
			if a.Type == actions.RemoveFinalizer {
				c.Fact = factOf(s, a)
				if cat != nil {
					c.Entry = cat.Lookup(a.Finalizer)
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// factOf finds the fact of the finalizer on the action's object.
func factOf(s *inventory.Snapshot, a actions.Action) *inventory.FinalizerFact {
	for _, f := range s.Finalizers {
		if f.Finalizer != a.Finalizer || f.Spec {
			continue
		}
		for _, id := range f.Objects {
			if o := s.Objects[id]; o.Metadata.UID == a.Target.UID && o.Metadata.Name == a.Target.Name {
				return f
			}
		}
	}
	return nil
}

// Gate decides which candidates may run. Its checks are Go, not policy:
// no policy and no configuration can make nsguard remove the finalizer of
// a controller that is alive, down or unknown.
type Gate struct {
	// Allowed are the action types that may run (--remediation-actions).
	Allowed map[actions.Type]bool
	// ControllerGoneAfter is how long a controller must have been proven
	// absent before its finalizer is removed.
	ControllerGoneAfter time.Duration
	// AllowLeaking names the finalizers (or catalog ids) that may be
	// removed although the catalog says removing them leaks something, or
	// does not know them.
	AllowLeaking map[string]bool
	// Veto asks the policies (Engine.Vetoes); nil means no policy veto.
	Veto func(ctx context.Context, input map[string]any) ([]string, error)
}

// Verdict is the gate's answer for one candidate.
type Verdict struct {
	Run bool
	// Waiting: the controller is proven absent, not for long enough yet.
	Waiting bool
	// Reason says why not (or, for Run, on what evidence).
	Reason string
}

// NamespaceInfo is what the gate and policies know of the namespace.
type NamespaceInfo struct {
	Name        string
	Labels      map[string]string
	Annotations map[string]string
}

// Judge decides on one candidate. absentFor is how long its finalizer's
// controller has been seen absent, across passes and restarts.
func (g Gate) Judge(ctx context.Context, s *inventory.Snapshot, c Candidate, ns NamespaceInfo, absentFor time.Duration) Verdict {
	a := c.Action
	if !g.Allowed[a.Type] {
		return Verdict{Reason: fmt.Sprintf("action type %s is not allowed (--remediation-actions)", a.Type)}
	}
	if err := a.Validate(); err != nil {
		return Verdict{Reason: err.Error()}
	}
	switch a.Type {
	case actions.RemoveFinalizer:
		if v, ok := g.judgeRemoval(c, absentFor); !ok {
			return v
		}
	case actions.DeleteAPIService, actions.DeleteWebhookConfiguration, actions.PatchWebhookFailurePolicy:
		if why := backendGone(s, a); why == "" {
			return Verdict{Reason: fmt.Sprintf("%s: its backend is not known to be gone for good; a person decides", a.Target)}
		}
	case actions.DeleteObject:
		if why := deletingWithoutOwner(s, a); why != "" {
			return Verdict{Reason: why}
		}
	default:
		return Verdict{Reason: fmt.Sprintf("%s is a step for a person, never run by the remediator", a.Type)}
	}
	if g.Veto != nil {
		vetoes, err := g.Veto(ctx, vetoInput(c, ns))
		if err != nil {
			return Verdict{Reason: fmt.Sprintf("the policies' veto could not be evaluated: %v", err)}
		}
		if len(vetoes) > 0 {
			return Verdict{Reason: "vetoed by policy: " + strings.Join(vetoes, "; ")}
		}
	}
	return Verdict{Run: true, Reason: c.Evidence()}
}

func (g Gate) judgeRemoval(c Candidate, absentFor time.Duration) (Verdict, bool) {
	f := c.Fact
	if f == nil {
		return Verdict{Reason: "the finalizer's facts are not in the snapshot"}, false
	}
	if f.Liveness != inventory.LivenessAbsent {
		return Verdict{Reason: fmt.Sprintf("its controller is %s, not proven absent (%s)", f.Liveness, strings.Join(f.Evidence, "; "))}, false
	}
	if absentFor < g.ControllerGoneAfter {
		// Worded without the time elapsed, so that it reads the same on
		// every pass: one Event, not one per pass.
		return Verdict{Waiting: true, Reason: fmt.Sprintf("its controller is proven absent; removal waits until it has been absent for %s (--controller-gone-after)",
			g.ControllerGoneAfter)}, false
	}
	allowListed := g.AllowLeaking[f.Finalizer] || (c.Entry != nil && g.AllowLeaking[c.Entry.ID])
	switch {
	case c.Entry == nil && !allowListed:
		return Verdict{Reason: "nsguard's catalog does not know what it protects; removal needs the finalizer in --allow-finalizer"}, false
	case c.Entry != nil && c.Entry.Leaks && !allowListed:
		return Verdict{Reason: fmt.Sprintf("removing it leaks %s; removal needs the finalizer in --allow-finalizer, after cleaning that up", c.Entry.Protects)}, false
	}
	return Verdict{}, true
}

// backendGone tells why the Service behind an APIService or webhook is
// gone for good: it does not exist, or its namespace is being deleted.
// "" when it may still serve.
func backendGone(s *inventory.Snapshot, a actions.Action) string {
	o := Target(s, a)
	if o == nil {
		return ""
	}
	var svcs []map[string]any
	switch a.Type {
	case actions.DeleteAPIService:
		spec, _ := o.Body["spec"].(map[string]any)
		if sv, ok := spec["service"].(map[string]any); ok {
			svcs = append(svcs, sv)
		}
	default:
		hooks, _ := o.Body["webhooks"].([]any)
		for _, h := range hooks {
			hm, _ := h.(map[string]any)
			if a.Webhook != "" && hm["name"] != a.Webhook {
				continue
			}
			cc, _ := hm["clientConfig"].(map[string]any)
			if sv, ok := cc["service"].(map[string]any); ok {
				svcs = append(svcs, sv)
			}
		}
	}
	if len(svcs) == 0 {
		return ""
	}
	var whys []string
	for _, sv := range svcs {
		ns, name := fmt.Sprint(sv["namespace"]), fmt.Sprint(sv["name"])
		fact := s.Services[ns+"/"+name]
		switch {
		case fact != nil && fact.Exists != nil && !*fact.Exists:
			whys = append(whys, fmt.Sprintf("Service %s/%s does not exist", ns, name))
		case s.Namespaces[ns] != nil && s.Namespaces[ns].Phase == "Terminating":
			whys = append(whys, fmt.Sprintf("Service %s/%s is in namespace %s, which is being deleted", ns, name, ns))
		default:
			return ""
		}
	}
	sort.Strings(whys)
	return strings.Join(whys, "; ")
}

// deletingWithoutOwner allows deleting an object only when it is already
// being deleted and none of its owners is in the snapshot; otherwise it
// says why not.
func deletingWithoutOwner(s *inventory.Snapshot, a actions.Action) string {
	for _, o := range s.Objects {
		if o.Metadata.UID != a.Target.UID {
			continue
		}
		if o.Metadata.DeletionTimestamp == "" {
			return fmt.Sprintf("%s is not being deleted; a person decides", a.Target)
		}
		for _, ref := range o.Metadata.OwnerReferences {
			for _, x := range s.Objects {
				if x.Metadata.UID == ref.UID {
					return fmt.Sprintf("%s's owner %s %s still exists", a.Target, ref.Kind, ref.Name)
				}
			}
		}
		return ""
	}
	return fmt.Sprintf("%s is not in the snapshot", a.Target)
}

func vetoInput(c Candidate, ns NamespaceInfo) map[string]any {
	labels := map[string]any{}
	for k, v := range ns.Labels {
		labels[k] = v
	}
	annotations := map[string]any{}
	for k, v := range ns.Annotations {
		annotations[k] = v
	}
	t := c.Action.Target
	in := map[string]any{
		"action": map[string]any{
			"type": string(c.Action.Type), "finalizer": c.Action.Finalizer, "webhook": c.Action.Webhook,
			"target": map[string]any{"group": t.Group, "version": t.Version, "resource": t.Resource, "kind": t.Kind, "namespace": t.Namespace, "name": t.Name, "uid": t.UID},
		},
		"namespace": map[string]any{"name": ns.Name, "labels": labels, "annotations": annotations},
	}
	if c.Fact != nil {
		ev := make([]any, 0, len(c.Fact.Evidence))
		for _, e := range c.Fact.Evidence {
			ev = append(ev, e)
		}
		in["evidence"] = ev
		in["liveness"] = c.Fact.Liveness
	}
	return in
}
