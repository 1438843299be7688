package inventory

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nsguard/nsguard/policies/catalog"
)

// Via values of a Handler.
const (
	ViaCatalog      = "catalog"       // workload labels named in the finalizer catalog
	ViaLease        = "lease"         // its pod holds a leader-election Lease named in the catalog
	ViaRBAC         = "rbac"          // its service account may update the resource
	ViaRBACWildcard = "rbac-wildcard" // … only through apiGroups "*" and resources "*": no evidence
)

// leaseStaleAfter is how many lease durations without renewal mean that the
// holder is gone (controller-runtime: LeaseDuration 15 s, RenewDeadline 10 s).
const leaseStaleAfter = 3

// defaultLeaseDuration applies when a Lease does not say.
const defaultLeaseDuration = 15 * time.Second

// Analyze derives s.Finalizers from the objects of the snapshot: for every
// finalizer in every namespace (the namespace's own metadata.finalizers and
// spec.finalizers included), the objects that carry it (or will get it, per
// the catalog), who can remove it (catalog match, Lease, RBAC inference),
// where that controller runs, and, when the snapshot comes from a cluster,
// whether it is alive, with the evidence in words.
//
// now is the API server's clock (see ServerClock): Leases are renewed on
// it, whatever the clock of the machine nsguard runs on says. The model is
// in docs/liveness.md.
func Analyze(s *Snapshot, cat *catalog.Catalog, now time.Time) {
	a := newAnalysis(s, cat, now)
	a.collect()
	for _, f := range a.order {
		a.resolve(f)
	}
	s.Finalizers = a.order
	if s.Source == SourceCluster && !now.IsZero() {
		s.Now = now.UTC().Format(time.RFC3339)
	}
	if s.Source == SourceCluster && s.Target != "" {
		markFactOnly(s)
	}
}

// markFactOnly marks the objects that a cluster snapshot of one namespace
// holds for the analysis only: namespaced objects of other namespaces and
// cluster RBAC, unless a finalizer fact names them as a handler or a
// Service fact points at them. The rules read the target's objects, the
// cluster-scoped objects deletion depends on (CRDs, APIServices, webhook
// configurations), and the handlers and Services by their IDs.
func markFactOnly(s *Snapshot) {
	keep := map[int]bool{}
	for _, f := range s.Finalizers {
		for _, h := range f.Handlers {
			if h.Workload.ID >= 0 {
				keep[h.Workload.ID] = true
			}
		}
	}
	for _, svc := range s.Services {
		if svc.ObjectID >= 0 {
			keep[svc.ObjectID] = true
		}
	}
	for _, o := range s.Objects {
		switch {
		case keep[o.Ref.ID], o.Ref.Namespace == s.Target:
		case o.Ref.Namespace != "":
			o.FactOnly = true
		case o.Ref.Group == "rbac.authorization.k8s.io":
			o.FactOnly = true
		case o.Ref.Group == "" && o.Ref.Kind == "Namespace" && o.Ref.Name != s.Target:
			o.FactOnly = true
		}
	}
}

type analysis struct {
	s   *Snapshot
	cat *catalog.Catalog
	now time.Time

	facts map[factKey]*FinalizerFact
	order []*FinalizerFact
	// handlerOf remembers, per fact, the catalog handler its kinds belong to.
	handlerOf map[*FinalizerFact]handlerRef

	units     []*unit
	unitsBySA map[string][]*unit // "namespace/name"
	unitByPod map[string]*unit   // "namespace/name"
	leases    []*Object
	roles     map[string]*role // "namespace/name"
	// clusterRoles holds every ClusterRole by name.
	clusterRoles map[string]*role
	// bindings holds the RoleBindings by namespace and the
	// ClusterRoleBindings under "": a finalizer's objects are reachable
	// only through the bindings of their namespace and the cluster's.
	bindings map[string][]binding
}

// factKey identifies a FinalizerFact: a finalizer in a namespace, for the
// kinds of one catalog handler (-1: the entry's own), in a Namespace's spec
// or in objects' metadata.
type factKey struct {
	namespace, finalizer string
	handler              int
	spec                 bool
}

// handlerRef is the catalog's controller of a fact's kinds.
type handlerRef struct {
	entry     *catalog.Entry
	handledBy string
	ctl       catalog.Controller
}

func newAnalysis(s *Snapshot, cat *catalog.Catalog, now time.Time) *analysis {
	a := &analysis{
		s: s, cat: cat, now: now,
		facts:        map[factKey]*FinalizerFact{},
		handlerOf:    map[*FinalizerFact]handlerRef{},
		unitsBySA:    map[string][]*unit{},
		unitByPod:    map[string]*unit{},
		roles:        map[string]*role{},
		clusterRoles: map[string]*role{},
		bindings:     map[string][]binding{},
	}
	var aggregated, workloads, pods []*Object
	for _, o := range s.Objects {
		switch o.Ref.Group {
		case "":
			if o.Ref.Kind == "Pod" {
				pods = append(pods, o)
			}
		case "apps":
			switch o.Ref.Kind {
			case "Deployment", "StatefulSet", "DaemonSet":
				workloads = append(workloads, o)
			}
		case "coordination.k8s.io":
			if o.Ref.Kind == "Lease" {
				a.leases = append(a.leases, o)
			}
		case "rbac.authorization.k8s.io":
			switch o.Ref.Kind {
			case "Role":
				a.roles[o.Ref.Namespace+"/"+o.Ref.Name] = newRole(o, false)
			case "ClusterRole":
				a.clusterRoles[o.Ref.Name] = newRole(o, true)
				if o.Body["aggregationRule"] != nil {
					aggregated = append(aggregated, o)
				}
			case "RoleBinding", "ClusterRoleBinding":
				b := newBinding(o)
				a.bindings[b.namespace] = append(a.bindings[b.namespace], b)
			}
		}
	}
	for _, bs := range a.bindings {
		for i := range bs {
			bs[i].role = a.roleOf(&bs[i])
		}
	}
	a.aggregate(aggregated)
	a.buildUnits(workloads, pods)
	return a
}

// aggregate fills aggregated ClusterRoles from the ClusterRoles whose labels
// match their selectors, as the clusterrole-aggregation controller does (on
// a live cluster the rules are already filled in; adding them again is
// harmless).
func (a *analysis) aggregate(aggregated []*Object) {
	for _, agg := range aggregated {
		ar, _ := agg.Body["aggregationRule"].(map[string]any)
		sels, _ := ar["clusterRoleSelectors"].([]any)
		target := a.clusterRoles[agg.Ref.Name]
		for _, sv := range sels {
			sm, _ := sv.(map[string]any)
			want := stringMap(sm["matchLabels"], "")
			if len(want) == 0 {
				continue
			}
			for _, o := range a.s.Objects {
				if o.Ref.Kind == "ClusterRole" && o.Ref.Group == "rbac.authorization.k8s.io" && o != agg && hasLabels(o.Metadata.Labels, want) {
					target.rules = append(target.rules, policyRules(o.Body["rules"])...)
				}
			}
		}
	}
}

func hasLabels(have, want map[string]string) bool {
	if len(want) == 0 {
		return false
	}
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// fact returns the fact of a finalizer on objects of group/kind in a
// namespace, creating it: a name that the catalog splits between several
// controllers by kind gets one fact per controller.
func (a *analysis) fact(namespace, finalizer, group, kind string, spec bool) *FinalizerFact {
	var entry *catalog.Entry
	if a.cat != nil {
		entry = a.cat.Lookup(finalizer)
	}
	k := factKey{namespace: namespace, finalizer: finalizer, handler: -1, spec: spec}
	h := handlerRef{entry: entry}
	if entry != nil {
		h.handledBy, h.ctl = entry.HandledBy, entry.Controller
		for i := range entry.Handlers {
			if entry.Handlers[i].Matches(group, kind) {
				k.handler = i
				h.handledBy, h.ctl = entry.Handlers[i].HandledBy, entry.Handlers[i].Controller
				break
			}
		}
	}
	if f, ok := a.facts[k]; ok {
		return f
	}
	f := &FinalizerFact{Finalizer: finalizer, Namespace: namespace, Spec: spec, Objects: []int{}, Handlers: []*Handler{}, Liveness: LivenessUnknown}
	if entry != nil {
		f.Catalog, f.Builtin = entry.ID, entry.Builtin
		if len(entry.Handlers) > 0 {
			f.HandledBy = h.handledBy
		}
	}
	a.facts[k] = f
	a.handlerOf[f] = h
	a.order = append(a.order, f)
	return f
}

// collect groups the objects by (namespace, finalizer, handler), adding the
// objects whose kind gets a finalizer from its controller (catalog
// addedTo). A Namespace's own finalizers belong to that namespace.
func (a *analysis) collect() {
	addedTo := map[catalog.GroupKind][]*catalog.Entry{}
	if a.cat != nil {
		for i := range a.cat.Finalizers {
			e := &a.cat.Finalizers[i]
			if e.Name == "" || e.Builtin {
				continue
			}
			for _, gk := range e.AddedTo {
				addedTo[gk] = append(addedTo[gk], e)
			}
		}
	}
	for _, o := range a.s.Objects {
		ns := o.Ref.Namespace
		isNamespace := o.Ref.Group == "" && o.Ref.Kind == "Namespace"
		if isNamespace {
			ns = o.Ref.Name
			spec, _ := o.Body["spec"].(map[string]any)
			for _, fin := range stringSlice(spec["finalizers"]) {
				if fin != "kubernetes" { // the namespace controller's own
					f := a.fact(ns, fin, "", "Namespace", true)
					f.Objects = append(f.Objects, o.Ref.ID)
				}
			}
		}
		for _, fin := range o.Metadata.Finalizers {
			f := a.fact(ns, fin, o.Ref.Group, o.Ref.Kind, false)
			f.Objects = append(f.Objects, o.Ref.ID)
		}
		for _, e := range addedTo[catalog.GroupKind{Group: o.Ref.Group, Kind: o.Ref.Kind}] {
			if !contains(o.Metadata.Finalizers, e.Name) {
				f := a.fact(ns, e.Name, o.Ref.Group, o.Ref.Kind, false)
				f.Expected = append(f.Expected, o.Ref.ID)
			}
		}
	}
	sort.SliceStable(a.order, func(i, j int) bool {
		x, y := a.order[i], a.order[j]
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		if x.Finalizer != y.Finalizer {
			return x.Finalizer < y.Finalizer
		}
		if x.Spec != y.Spec {
			return !x.Spec
		}
		return x.HandledBy < y.HandledBy
	})
}

// resolve finds the handlers of one finalizer and their liveness.
func (a *analysis) resolve(f *FinalizerFact) {
	kinds := map[string]ObjectRef{}
	names := map[string][]string{} // GroupKind → names of the objects
	for _, ids := range [][]int{f.Objects, f.Expected} {
		for _, id := range ids {
			ref := a.s.Objects[id].Ref
			gk := ref.GroupKind()
			kinds[gk] = ref
			names[gk] = append(names[gk], ref.Name)
		}
	}
	f.Kinds = make([]string, 0, len(kinds))
	for k := range kinds {
		f.Kinds = append(f.Kinds, k)
	}
	sort.Strings(f.Kinds)

	h := a.handlerOf[f]
	if f.Builtin {
		a.resolveBuiltin(f, h)
		return
	}

	handlers := map[*unit]*Handler{}
	var ordered []*Handler
	add := func(u *unit, via, why string) *Handler {
		hd, ok := handlers[u]
		if !ok {
			hd = &Handler{Workload: u.ref, Namespace: u.ref.Namespace, Liveness: LivenessUnknown, unit: u}
			if len(u.sas) > 0 {
				_, hd.ServiceAccount, _ = strings.Cut(u.sas[0], "/")
			}
			handlers[u] = hd
			ordered = append(ordered, hd)
		}
		if !contains(hd.Via, via) {
			hd.Via = append(hd.Via, via)
		}
		hd.Evidence = append(hd.Evidence, why)
		return hd
	}

	if h.entry != nil {
		for _, u := range a.units {
			for _, set := range h.ctl.WorkloadLabels {
				if hasLabels(u.labels, set) || hasLabels(u.podLabelSet(), set) {
					add(u, ViaCatalog, fmt.Sprintf("%s matches the catalog's labels %s for %s", u.name(), formatLabels(set), h.handledBy))
					break
				}
			}
		}
		// A pod that holds a Lease the catalog names is the controller,
		// whatever its labels.
		for _, l := range a.leases {
			if !contains(h.ctl.Leases, l.Ref.Name) {
				continue
			}
			if u := a.holderUnit(l); u != nil {
				add(u, ViaLease, fmt.Sprintf("%s holds Lease %s/%s, which the catalog names for %s", u.name(), l.Ref.Namespace, l.Ref.Name, h.handledBy))
			}
		}
	}

	var external []string
	bindings := a.bindingsFor(f.Namespace)
	for _, gk := range f.Kinds {
		ref := kinds[gk]
		resource := ref.Resource
		if resource == "" {
			resource = guessResource(ref.Group, ref.Kind)
		}
		q := newRequest(ref.Group, resource, names[gk], f.Spec)
		what := groupResource(q.group, q.resource)
		if f.Spec {
			what = "namespaces/finalize"
		}
		for _, b := range bindings {
			r := b.role
			if r == nil || r.generic {
				continue
			}
			strength := r.grants(q)
			if strength == grantNone {
				continue
			}
			via := ViaRBAC
			if strength == grantWildcard {
				via = ViaRBACWildcard
			}
			why := fmt.Sprintf("may update %s through %s %s → %s %s", what, b.obj.Ref.Kind, b.obj.Ref.Name, b.roleKind, b.roleName)
			for _, sub := range b.subjects {
				units, ext := a.subjectUnits(sub)
				for _, u := range units {
					add(u, via, fmt.Sprintf("its service account %s", why))
				}
				if ext && strength == grantSpecific && !r.userFacing {
					external = append(external, fmt.Sprintf("%s %s %s", strings.ToLower(sub.Kind), sub.Name, why))
				}
			}
		}
	}

	sort.SliceStable(ordered, func(i, j int) bool { return handlerRank(ordered[i]) < handlerRank(ordered[j]) })
	f.Handlers = ordered
	a.liveness(f, h, external, len(bindings))
}

// holderUnit returns the unit whose pod holds a Lease: leader election
// writes "<pod name>_<unique id>" (client-go and controller-runtime use the
// hostname, which is the pod's name) or the pod's name alone.
func (a *analysis) holderUnit(l *Object) *unit {
	spec, _ := l.Body["spec"].(map[string]any)
	holder := str(spec["holderIdentity"])
	if holder == "" {
		return nil
	}
	pod, _, _ := strings.Cut(holder, "_")
	return a.unitByPod[l.Ref.Namespace+"/"+pod]
}

// bindingsFor returns the bindings that grant rights on objects in ns: its
// RoleBindings and every ClusterRoleBinding.
func (a *analysis) bindingsFor(ns string) []binding {
	if ns == "" {
		return a.bindings[""]
	}
	return append(a.bindings[ns][:len(a.bindings[ns]):len(a.bindings[ns])], a.bindings[""]...)
}

// handlerRank orders handlers by the strength of the evidence.
func handlerRank(h *Handler) int {
	switch {
	case contains(h.Via, ViaCatalog), contains(h.Via, ViaLease):
		return 0
	case contains(h.Via, ViaRBAC):
		return 1
	default:
		return 2
	}
}

// counts tells whether a handler is evidence of a controller: found through
// the catalog, a Lease or a specific RBAC grant, not only a wildcard.
func (h *Handler) counts() bool {
	return contains(h.Via, ViaCatalog) || contains(h.Via, ViaLease) || contains(h.Via, ViaRBAC)
}

// resolveBuiltin handles finalizers of Kubernetes itself: their controller
// is kube-controller-manager (or the API server), alive as long as the
// control plane is; its leader-election Lease tells when it is visible.
func (a *analysis) resolveBuiltin(f *FinalizerFact, h handlerRef) {
	f.Evidence = append(f.Evidence, fmt.Sprintf("handled by Kubernetes itself (%s)", h.handledBy))
	if a.s.Source != SourceCluster {
		return
	}
	for _, l := range a.leases {
		if l.Ref.Namespace == "kube-system" && contains(append([]string{"kube-controller-manager"}, h.ctl.Leases...), l.Ref.Name) {
			fresh, why := a.leaseFreshness(l)
			f.Evidence = append(f.Evidence, why)
			if fresh {
				f.Liveness = LivenessAlive
			}
		}
	}
}

// liveness sets the liveness of each handler and of the finalizer.
// absent needs proof: no unit that counts as a handler, no person or
// outside identity with a grant on the resource, a complete view of
// workloads, pods, Leases and RBAC. Anything short of that is unknown.
func (a *analysis) liveness(f *FinalizerFact, h handlerRef, external []string, bindings int) {
	if a.s.Source != SourceCluster {
		return // lint: no live facts, rules that need them do not fire
	}
	for _, hd := range f.Handlers {
		a.unitLiveness(hd)
	}
	counted, down := 0, 0
	for _, hd := range f.Handlers {
		if !hd.counts() {
			continue
		}
		counted++
		switch hd.Liveness {
		case LivenessAlive:
			f.Liveness = LivenessAlive
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s/%s can remove it and is running", hd.Workload.Kind, hd.Namespace, hd.Workload.Name))
			return
		case LivenessDown:
			down++
		}
	}
	// A Lease named in the catalog and renewed recently means the controller
	// runs, even where no pod of it is visible (outside the cluster).
	var staleLeases []string
	if h.entry != nil {
		for _, l := range a.leases {
			if !contains(h.ctl.Leases, l.Ref.Name) {
				continue
			}
			fresh, why := a.leaseFreshness(l)
			if fresh {
				f.Liveness = LivenessAlive
				f.Evidence = append(f.Evidence, why)
				return
			}
			staleLeases = append(staleLeases, why)
		}
	}
	f.Evidence = append(f.Evidence, staleLeases...)
	switch {
	case counted > 0 && down == counted:
		f.Liveness = LivenessDown
		f.Evidence = append(f.Evidence, fmt.Sprintf("%d controller(s) can remove it but none is running", counted))
	case counted > 0:
		f.Liveness = LivenessUnknown
	case len(external) > 0:
		f.Liveness = LivenessUnknown
		for _, x := range external {
			f.Evidence = append(f.Evidence, "no workload in the cluster handles it, but "+x+" (a controller may run outside the cluster)")
		}
	case a.s.ControllerFactsIncomplete:
		f.Liveness = LivenessUnknown
		f.Evidence = append(f.Evidence, "no controller found, but not every workload, pod, Lease or RBAC object could be read")
	default:
		f.Liveness = LivenessAbsent
		if h.entry != nil {
			f.Evidence = append(f.Evidence, fmt.Sprintf("no workload in the cluster matches the catalog's description of %s", h.handledBy))
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("no running pod's service account, and no person or outside identity, may update %s in %s (checked %d role bindings and cluster role bindings)", kindsWords(f.Kinds), nsWords(f.Namespace), bindings))
		for _, hd := range f.Handlers {
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s/%s may update anything through wildcard RBAC; not counted as its controller", hd.Workload.Kind, hd.Namespace, hd.Workload.Name))
		}
	}
}

// unitLiveness reads a handler's pods, its workload and the Leases its
// pods hold.
func (a *analysis) unitLiveness(h *Handler) {
	u := h.unit
	name := u.name()
	var ready, running, deleting []string
	for _, p := range u.pods {
		switch {
		case p.Metadata.DeletionTimestamp != "":
			deleting = append(deleting, p.Ref.Name)
		case podReady(p):
			ready = append(ready, p.Ref.Name)
		case podPhase(p) == "Running":
			running = append(running, p.Ref.Name)
		}
	}
	switch {
	case u.obj != nil && u.obj != firstPod(u) && u.obj.Metadata.DeletionTimestamp != "":
		h.Liveness = LivenessDown
		h.Evidence = append(h.Evidence, name+" is being deleted")
	case len(ready) > 0:
		h.Liveness = LivenessAlive
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s has %d pod(s) running and ready (%s)", name, len(ready), abbreviate(ready, 3)))
	case len(running) > 0:
		h.Liveness = LivenessDown
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s has %d pod(s) running but none ready (%s)", name, len(running), abbreviate(running, 3)))
	case len(deleting) > 0:
		h.Liveness = LivenessDown
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s has only pods being deleted (%s)", name, abbreviate(deleting, 3)))
	case u.obj != nil && u.obj.Ref.Kind != "Pod":
		a.workloadStatus(h, u.obj)
	default:
		h.Liveness = LivenessDown
		h.Evidence = append(h.Evidence, name+" has no running pod")
	}
	// Leader-election Leases held by its pods: a fresh one proves it works,
	// stale ones alone mean its ready pods no longer do their work (lost
	// leadership, hung reconciler).
	fresh, stale := false, []string{}
	for _, l := range a.leases {
		if a.holderUnit(l) != u {
			continue
		}
		ok, why := a.leaseFreshness(l)
		h.Evidence = append(h.Evidence, why)
		if ok {
			fresh = true
		} else {
			stale = append(stale, why)
		}
	}
	switch {
	case fresh:
		h.Liveness = LivenessAlive
	case len(stale) > 0 && h.Liveness == LivenessAlive:
		h.Liveness = LivenessDown
	}
}

func firstPod(u *unit) *Object {
	if len(u.pods) == 0 {
		return nil
	}
	return u.pods[0]
}

// workloadStatus judges a workload with no pods in the snapshot from its
// status: scaled to 0, or the ready replicas its controller counted (when
// pods could not be listed).
func (a *analysis) workloadStatus(h *Handler, o *Object) {
	spec, _ := o.Body["spec"].(map[string]any)
	status, _ := o.Body["status"].(map[string]any)
	name := fmt.Sprintf("%s %s/%s", o.Ref.Kind, o.Ref.Namespace, o.Ref.Name)
	if o.Ref.Kind == "DaemonSet" {
		ready, _ := toInt64(status["numberReady"])
		desired, _ := toInt64(status["desiredNumberScheduled"])
		h.Liveness = LivenessDown
		if ready > 0 {
			h.Liveness = LivenessAlive
		}
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s has %d of %d pods ready", name, ready, desired))
		return
	}
	want := int64(1)
	if r, ok := toInt64(spec["replicas"]); ok {
		want = r
	}
	ready, _ := toInt64(status["readyReplicas"])
	switch {
	case want == 0:
		h.Liveness = LivenessDown
		h.Evidence = append(h.Evidence, name+" is scaled to 0 replicas")
	case ready > 0:
		h.Liveness = LivenessAlive
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s has %d of %d replicas ready", name, ready, want))
	default:
		h.Liveness = LivenessDown
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s has 0 of %d replicas ready", name, want))
	}
}

// leaseFreshness tells whether a Lease was renewed recently enough for its
// holder to be alive, in words. Age is measured on the API server's clock.
func (a *analysis) leaseFreshness(l *Object) (bool, string) {
	spec, _ := l.Body["spec"].(map[string]any)
	name := fmt.Sprintf("Lease %s/%s", l.Ref.Namespace, l.Ref.Name)
	holder := str(spec["holderIdentity"])
	if holder != "" {
		name += " (holder " + holder + ")"
	}
	renew := str(spec["renewTime"])
	if renew == "" {
		return false, name + " has never been renewed"
	}
	t, err := time.Parse(time.RFC3339Nano, renew)
	if err != nil {
		return false, fmt.Sprintf("%s has an unreadable renewTime %q", name, renew)
	}
	d := defaultLeaseDuration
	if s, ok := toInt64(spec["leaseDurationSeconds"]); ok && s > 0 {
		d = time.Duration(s) * time.Second
	}
	age := a.now.Sub(t).Round(time.Second)
	if age < 0 {
		age = 0
	}
	if age <= leaseStaleAfter*d {
		return true, fmt.Sprintf("%s renewed %s ago (duration %s)", name, age, d)
	}
	return false, fmt.Sprintf("%s last renewed %s ago, more than %d× its duration %s: its holder is gone", name, age, leaseStaleAfter, d)
}

func groupResource(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

func nsWords(ns string) string {
	if ns == "" {
		return "the cluster scope"
	}
	return "namespace " + ns
}

func formatLabels(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func containsAny(l []string, ss ...string) bool {
	for _, s := range ss {
		if contains(l, s) {
			return true
		}
	}
	return false
}

// kindsWords names the kinds of a finalizer's objects in evidence, a few of
// them when there are many (FinalizerFact.Kinds has them all).
func kindsWords(kinds []string) string {
	if len(kinds) <= 4 {
		return strings.Join(kinds, ", ")
	}
	return fmt.Sprintf("any of %d kinds (%s)", len(kinds), abbreviate(kinds, 3))
}
