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
	ViaCatalog      = "catalog"       // workload labels or Lease named in the finalizer catalog
	ViaRBAC         = "rbac"          // its service account may update the resource by name
	ViaRBACWildcard = "rbac-wildcard" // … only through "*" (cluster-admin-like): weak evidence
)

// leaseStaleAfter is how many lease durations without renewal mean that the
// holder is gone (controller-runtime: LeaseDuration 15 s, RenewDeadline 10 s).
const leaseStaleAfter = 3

// defaultLeaseDuration applies when a Lease does not say.
const defaultLeaseDuration = 15 * time.Second

// Analyze derives s.Finalizers from the objects of the snapshot: for every
// finalizer in every namespace, the objects that carry it (or will get it,
// per the catalog), who can remove it (catalog match and RBAC inference),
// where that controller runs, and, when the snapshot comes from a cluster,
// whether it is alive, with the evidence in words.
func Analyze(s *Snapshot, cat *catalog.Catalog, now time.Time) {
	a := newAnalysis(s, cat, now)
	a.collect()
	for _, f := range a.order {
		a.resolve(f)
	}
	s.Finalizers = a.order
}

type workload struct {
	obj       *Object
	sa        string // "namespace/name"
	labels    map[string]string
	podLabels map[string]string
}

type rule struct {
	apiGroups, resources, verbs []string
}

type binding struct {
	obj       *Object
	namespace string // "" for a ClusterRoleBinding
	roleKind  string
	roleName  string
	roleKey   string // "namespace/name" of a Role
	subjects  []subject
}

type subject struct {
	kind, name, namespace string
}

type analysis struct {
	s   *Snapshot
	cat *catalog.Catalog
	now time.Time

	facts map[string]*FinalizerFact // "namespace\x00finalizer"
	order []*FinalizerFact

	workloads    []*workload
	workloadBySA map[string][]*workload
	leases       []*Object
	roles        map[string][]rule // "namespace/name"
	clusterRoles map[string][]rule
	// bindings holds the RoleBindings by namespace and the
	// ClusterRoleBindings under "": a finalizer's objects are reachable
	// only through the bindings of their namespace and the cluster's.
	bindings map[string][]binding
}

func newAnalysis(s *Snapshot, cat *catalog.Catalog, now time.Time) *analysis {
	a := &analysis{
		s: s, cat: cat, now: now,
		facts:        map[string]*FinalizerFact{},
		workloadBySA: map[string][]*workload{},
		roles:        map[string][]rule{},
		clusterRoles: map[string][]rule{},
		bindings:     map[string][]binding{},
	}
	var aggregated []*Object
	for _, o := range s.Objects {
		switch o.Ref.Group {
		case "apps":
			switch o.Ref.Kind {
			case "Deployment", "StatefulSet", "DaemonSet":
				w := newWorkload(o)
				a.workloads = append(a.workloads, w)
				a.workloadBySA[w.sa] = append(a.workloadBySA[w.sa], w)
			}
		case "coordination.k8s.io":
			if o.Ref.Kind == "Lease" {
				a.leases = append(a.leases, o)
			}
		case "rbac.authorization.k8s.io":
			switch o.Ref.Kind {
			case "Role":
				a.roles[o.Ref.Namespace+"/"+o.Ref.Name] = rules(o.Body["rules"])
			case "ClusterRole":
				a.clusterRoles[o.Ref.Name] = rules(o.Body["rules"])
				if o.Body["aggregationRule"] != nil {
					aggregated = append(aggregated, o)
				}
			case "RoleBinding", "ClusterRoleBinding":
				b := newBinding(o)
				a.bindings[b.namespace] = append(a.bindings[b.namespace], b)
			}
		}
	}
	a.aggregate(aggregated)
	return a
}

func newWorkload(o *Object) *workload {
	w := &workload{obj: o, labels: o.Metadata.Labels}
	spec, _ := o.Body["spec"].(map[string]any)
	tpl, _ := spec["template"].(map[string]any)
	if md, ok := tpl["metadata"].(map[string]any); ok {
		w.podLabels = stringMap(md["labels"], "")
	}
	sa := "default"
	if ps, ok := tpl["spec"].(map[string]any); ok {
		if n := str(ps["serviceAccountName"]); n != "" {
			sa = n
		} else if n := str(ps["serviceAccount"]); n != "" {
			sa = n
		}
	}
	w.sa = o.Ref.Namespace + "/" + sa
	return w
}

func rules(v any) []rule {
	l, _ := v.([]any)
	out := make([]rule, 0, len(l))
	for _, r := range l {
		rm, ok := r.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, rule{
			apiGroups: stringSlice(rm["apiGroups"]),
			resources: stringSlice(rm["resources"]),
			verbs:     stringSlice(rm["verbs"]),
		})
	}
	return out
}

func newBinding(o *Object) binding {
	b := binding{obj: o, namespace: o.Ref.Namespace}
	if rr, ok := o.Body["roleRef"].(map[string]any); ok {
		b.roleKind, b.roleName = str(rr["kind"]), str(rr["name"])
		b.roleKey = b.namespace + "/" + b.roleName
	}
	subs, _ := o.Body["subjects"].([]any)
	for _, sv := range subs {
		sm, ok := sv.(map[string]any)
		if !ok {
			continue
		}
		sub := subject{kind: str(sm["kind"]), name: str(sm["name"]), namespace: str(sm["namespace"])}
		if sub.kind == "ServiceAccount" && sub.namespace == "" {
			sub.namespace = b.namespace
		}
		b.subjects = append(b.subjects, sub)
	}
	return b
}

// aggregate fills aggregated ClusterRoles from the ClusterRoles whose labels
// match their selectors, as the clusterrole-aggregation controller does (on
// a live cluster the rules are already filled in; adding them again is
// harmless).
func (a *analysis) aggregate(aggregated []*Object) {
	for _, agg := range aggregated {
		ar, _ := agg.Body["aggregationRule"].(map[string]any)
		sels, _ := ar["clusterRoleSelectors"].([]any)
		for _, sv := range sels {
			sm, _ := sv.(map[string]any)
			want := stringMap(sm["matchLabels"], "")
			if len(want) == 0 {
				continue
			}
			for _, o := range a.s.Objects {
				if o.Ref.Kind == "ClusterRole" && o.Ref.Group == "rbac.authorization.k8s.io" && o != agg && hasLabels(o.Metadata.Labels, want) {
					a.clusterRoles[agg.Ref.Name] = append(a.clusterRoles[agg.Ref.Name], rules(o.Body["rules"])...)
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

func (a *analysis) fact(namespace, finalizer string) *FinalizerFact {
	key := namespace + "\x00" + finalizer
	if f, ok := a.facts[key]; ok {
		return f
	}
	f := &FinalizerFact{Finalizer: finalizer, Namespace: namespace, Objects: []int{}, Handlers: []*Handler{}, Liveness: LivenessUnknown}
	a.facts[key] = f
	a.order = append(a.order, f)
	return f
}

// collect groups the objects by (namespace, finalizer), adding the objects
// whose kind gets a finalizer from its controller (catalog addedTo).
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
		for _, fin := range o.Metadata.Finalizers {
			f := a.fact(o.Ref.Namespace, fin)
			f.Objects = append(f.Objects, o.Ref.ID)
		}
		for _, e := range addedTo[catalog.GroupKind{Group: o.Ref.Group, Kind: o.Ref.Kind}] {
			if !contains(o.Metadata.Finalizers, e.Name) {
				f := a.fact(o.Ref.Namespace, e.Name)
				f.Expected = append(f.Expected, o.Ref.ID)
			}
		}
	}
	sort.SliceStable(a.order, func(i, j int) bool {
		if a.order[i].Namespace != a.order[j].Namespace {
			return a.order[i].Namespace < a.order[j].Namespace
		}
		return a.order[i].Finalizer < a.order[j].Finalizer
	})
}

// resolve finds the handlers of one finalizer and their liveness.
func (a *analysis) resolve(f *FinalizerFact) {
	kinds := map[string]ObjectRef{}
	for _, ids := range [][]int{f.Objects, f.Expected} {
		for _, id := range ids {
			ref := a.s.Objects[id].Ref
			kinds[ref.GroupKind()] = ref
		}
	}
	f.Kinds = make([]string, 0, len(kinds))
	for k := range kinds {
		f.Kinds = append(f.Kinds, k)
	}
	sort.Strings(f.Kinds)

	var entry *catalog.Entry
	if a.cat != nil {
		entry = a.cat.Lookup(f.Finalizer)
	}
	if entry != nil {
		f.Catalog = entry.ID
		f.Builtin = entry.Builtin
	}
	if f.Builtin {
		a.resolveBuiltin(f, entry)
		return
	}

	handlers := map[int]*Handler{}
	var ordered []*Handler
	add := func(w *workload, via, why string) {
		h, ok := handlers[w.obj.Ref.ID]
		if !ok {
			h = &Handler{
				Workload:       w.obj.Ref,
				Namespace:      w.obj.Ref.Namespace,
				ServiceAccount: strings.TrimPrefix(w.sa, w.obj.Ref.Namespace+"/"),
				Liveness:       LivenessUnknown,
			}
			handlers[w.obj.Ref.ID] = h
			ordered = append(ordered, h)
		}
		if !contains(h.Via, via) {
			h.Via = append(h.Via, via)
		}
		h.Evidence = append(h.Evidence, why)
	}

	if entry != nil {
		for _, w := range a.workloads {
			for _, set := range entry.Controller.WorkloadLabels {
				if hasLabels(w.labels, set) || hasLabels(w.podLabels, set) {
					add(w, ViaCatalog, fmt.Sprintf("%s %s/%s matches the catalog's labels %s for %s", w.obj.Ref.Kind, w.obj.Ref.Namespace, w.obj.Ref.Name, formatLabels(set), entry.HandledBy))
					break
				}
			}
		}
	}

	var external []string
	for _, ref := range kinds {
		group, resource := ref.Group, ref.Resource
		if resource == "" {
			resource = guessResource(ref.Group, ref.Kind)
		}
		for _, b := range a.bindingsFor(f.Namespace) {
			wildcard, ok := a.bindingCanUpdate(b, group, resource)
			if !ok {
				continue
			}
			via := ViaRBAC
			if wildcard {
				via = ViaRBACWildcard
			}
			for _, sub := range b.subjects {
				why := fmt.Sprintf("may update %s through %s %s → %s %s", groupResource(group, resource), b.obj.Ref.Kind, b.obj.Ref.Name, b.roleKind, b.roleName)
				switch sub.kind {
				case "ServiceAccount":
					for _, w := range a.workloadBySA[sub.namespace+"/"+sub.name] {
						add(w, via, fmt.Sprintf("its service account %s/%s %s", sub.namespace, sub.name, why))
					}
				case "Group":
					if sub.name == "system:serviceaccounts" || strings.HasPrefix(sub.name, "system:serviceaccounts:") {
						for _, w := range a.workloads {
							if sub.name == "system:serviceaccounts" || sub.name == "system:serviceaccounts:"+w.obj.Ref.Namespace {
								add(w, via, fmt.Sprintf("its service account is in group %s, which %s", sub.name, why))
							}
						}
					} else if !strings.HasPrefix(sub.name, "system:") && !wildcard {
						external = append(external, fmt.Sprintf("group %s %s", sub.name, why))
					}
				case "User":
					if !strings.HasPrefix(sub.name, "system:") && !wildcard {
						external = append(external, fmt.Sprintf("user %s %s", sub.name, why))
					}
				}
			}
		}
	}

	sort.SliceStable(ordered, func(i, j int) bool { return handlerRank(ordered[i]) < handlerRank(ordered[j]) })
	f.Handlers = ordered
	a.liveness(f, entry, external)
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
	case contains(h.Via, ViaCatalog):
		return 0
	case contains(h.Via, ViaRBAC):
		return 1
	default:
		return 2
	}
}

// bindingCanUpdate reports whether the role of b lets its subjects update
// or patch group/resource (what removing a finalizer takes), and whether only
// a wildcard grants it.
func (a *analysis) bindingCanUpdate(b binding, group, resource string) (wildcard, ok bool) {
	var rs []rule
	switch b.roleKind {
	case "ClusterRole":
		rs = a.clusterRoles[b.roleName]
	case "Role":
		rs = a.roles[b.roleKey]
	}
	found := false
	for _, r := range rs {
		if !containsAny(r.verbs, "update", "patch", "*") {
			continue
		}
		g := contains(r.apiGroups, group)
		res := contains(r.resources, resource)
		if (!g && !contains(r.apiGroups, "*")) || (!res && !contains(r.resources, "*")) {
			continue
		}
		if g && res {
			return false, true
		}
		found = true
	}
	return found, found
}

// resolveBuiltin handles finalizers of Kubernetes itself: their controller
// is kube-controller-manager (or the API server), alive as long as the
// control plane is; its leader-election Lease tells when it is visible.
func (a *analysis) resolveBuiltin(f *FinalizerFact, e *catalog.Entry) {
	f.Evidence = append(f.Evidence, fmt.Sprintf("handled by Kubernetes itself (%s)", e.HandledBy))
	if a.s.Source != SourceCluster {
		return
	}
	for _, l := range a.leases {
		if l.Ref.Namespace == "kube-system" && l.Ref.Name == "kube-controller-manager" {
			fresh, why := a.leaseFreshness(l)
			f.Evidence = append(f.Evidence, why)
			if fresh {
				f.Liveness = LivenessAlive
			}
		}
	}
}

// liveness sets the liveness of each handler and of the finalizer.
func (a *analysis) liveness(f *FinalizerFact, e *catalog.Entry, external []string) {
	if a.s.Source != SourceCluster {
		return // lint: no live facts, rules that need them do not fire
	}
	for _, h := range f.Handlers {
		a.handlerLiveness(h)
	}
	strong, down := 0, 0
	for _, h := range f.Handlers {
		if h.Via[0] == ViaRBACWildcard && len(h.Via) == 1 {
			continue
		}
		strong++
		switch h.Liveness {
		case LivenessAlive:
			f.Liveness = LivenessAlive
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s/%s can remove it and is running", h.Workload.Kind, h.Namespace, h.Workload.Name))
			return
		case LivenessDown:
			down++
		}
	}
	// A Lease named in the catalog and renewed recently means the controller
	// runs, even where no workload of it is visible (outside the cluster).
	var staleLeases []string
	if e != nil {
		for _, l := range a.leases {
			if !contains(e.Controller.Leases, l.Ref.Name) {
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
	case strong > 0 && down == strong:
		f.Liveness = LivenessDown
		f.Evidence = append(f.Evidence, fmt.Sprintf("%d controller(s) can remove it but none is running", strong))
	case strong > 0:
		f.Liveness = LivenessUnknown
	case len(external) > 0:
		f.Liveness = LivenessUnknown
		for _, x := range external {
			f.Evidence = append(f.Evidence, "no workload in the cluster handles it, but "+x+" (a controller may run outside the cluster)")
		}
	case a.s.ControllerFactsIncomplete:
		f.Liveness = LivenessUnknown
		f.Evidence = append(f.Evidence, "no controller found, but not every workload, Lease or RBAC object could be read")
	default:
		f.Liveness = LivenessAbsent
		if e != nil {
			f.Evidence = append(f.Evidence, fmt.Sprintf("no workload in the cluster matches the catalog's description of %s", e.HandledBy))
		}
		f.Evidence = append(f.Evidence, fmt.Sprintf("no workload's service account may update %s in %s (checked %d role bindings and cluster role bindings)", kindsWords(f.Kinds), nsWords(f.Namespace), len(a.bindingsFor(f.Namespace))))
		for _, h := range f.Handlers {
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s %s/%s may update anything through wildcard RBAC; not counted as its controller", h.Workload.Kind, h.Namespace, h.Workload.Name))
		}
	}
}

// handlerLiveness reads the workload's readiness and the Leases its pods
// hold.
func (a *analysis) handlerLiveness(h *Handler) {
	o := a.s.Objects[h.Workload.ID]
	spec, _ := o.Body["spec"].(map[string]any)
	status, _ := o.Body["status"].(map[string]any)
	name := fmt.Sprintf("%s %s/%s", o.Ref.Kind, o.Ref.Namespace, o.Ref.Name)
	if o.Metadata.DeletionTimestamp != "" {
		h.Liveness = LivenessDown
		h.Evidence = append(h.Evidence, name+" is being deleted")
		return
	}
	if o.Ref.Kind == "DaemonSet" {
		ready, _ := toInt64(status["numberReady"])
		desired, _ := toInt64(status["desiredNumberScheduled"])
		if ready > 0 {
			h.Liveness = LivenessAlive
		} else {
			h.Liveness = LivenessDown
		}
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s has %d of %d pods ready", name, ready, desired))
	} else {
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
	// Leader-election Leases held by the workload's pods (holder identity
	// "<pod name>_<id>", pod names start with the workload's name).
	for _, l := range a.leases {
		if l.Ref.Namespace != o.Ref.Namespace {
			continue
		}
		ls, _ := l.Body["spec"].(map[string]any)
		if !strings.HasPrefix(str(ls["holderIdentity"]), o.Ref.Name+"-") {
			continue
		}
		fresh, why := a.leaseFreshness(l)
		h.Evidence = append(h.Evidence, why)
		if fresh && h.Liveness != LivenessAlive {
			h.Liveness = LivenessAlive
		} else if !fresh && h.Liveness == LivenessAlive {
			// Ready pods that no longer renew their Lease are not doing
			// their work (lost leadership, hung reconciler).
			h.Liveness = LivenessDown
		}
	}
}

// leaseFreshness tells whether a Lease was renewed recently enough for its
// holder to be alive, in words.
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
