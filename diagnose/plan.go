package diagnose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
)

// Safety of a plan step.
const (
	SafetySafe    = "safe"    // undoes nothing that matters
	SafetyCaution = "caution" // read the why first
	SafetyUnsafe  = "unsafe"  // may leak what a finalizer protects
)

// Step is one step of the fix plan.
type Step struct {
	Title  string `json:"title"`
	Why    string `json:"why,omitempty"`
	Safety string `json:"safety"`
	// Checks are read-only commands to look before acting; Actions are the
	// typed changes of the step; Commands are both as a person runs them,
	// checks first, rendered by package actions.
	Checks   []string              `json:"checks,omitempty"`
	Actions  []actions.Action      `json:"actions,omitempty"`
	Commands []string              `json:"commands,omitempty"`
	Rules    []string              `json:"rules,omitempty"`
	Objects  []inventory.ObjectRef `json:"objects,omitempty"`

	rank int
	// finalizer is set on removal steps until removals writes them.
	finalizer *Finalizer
}

// Step ranks: cluster-wide causes first (every namespace waits on them),
// then admission, then controllers, then finalizer removals from the safest
// to the least safe.
const (
	rankAPIService = iota
	rankConversion
	rankAdmission
	rankController
	rankOther
	rankBeforeDelete
	rankRemoveSafe
	rankRemoveCaution
	rankRemoveUnsafe
	rankVerify
)

type planner struct {
	s     *inventory.Snapshot
	r     *Report
	cat   *catalog.Catalog
	steps []Step
	seen  map[string]bool
	// flagged are finalizers (by name) that a finding points at.
	flagged map[string][]string
	// lists simulates each object's finalizer list as the plan's removals
	// are applied in order, so that every JSON patch index is right.
	lists map[int][]string
}

func (p *planner) terminating() bool { return p.r.State == StateTerminating }

func (p *planner) object(ref inventory.ObjectRef) *inventory.Object {
	if ref.ID < 0 || ref.ID >= len(p.s.Objects) {
		return nil
	}
	return p.s.Objects[ref.ID]
}

func (p *planner) add(key string, st Step) {
	if p.seen[key] {
		return
	}
	p.seen[key] = true
	p.steps = append(p.steps, st)
}

// target names an object of the snapshot as an action's target.
func (p *planner) target(ref inventory.ObjectRef) actions.Target {
	uid := ""
	if o := p.object(ref); o != nil {
		uid = o.Metadata.UID
	}
	return actions.TargetOf(ref, uid)
}

// render fills each step's Commands from its checks and actions. An action
// that does not validate is dropped, and the step says so: the plan never
// shows a command nsguard could not stand behind.
func render(steps []Step) {
	for i := range steps {
		st := &steps[i]
		cmds := append([]string(nil), st.Checks...)
		rendered, err := actions.Commands(st.Actions)
		cmds = append(cmds, rendered...)
		if err != nil {
			st.Why = strings.TrimSpace(st.Why + " (Some of its actions were left out: " + err.Error() + ".)")
			kept := st.Actions[:0]
			for _, a := range st.Actions {
				if a.Validate() == nil {
					kept = append(kept, a)
				}
			}
			st.Actions = kept
		}
		st.Commands = cmds
	}
}

func (p *planner) plan() []Step {
	p.seen = map[string]bool{}
	p.flagged = map[string][]string{}
	p.lists = map[int][]string{}

	for _, f := range p.r.Findings {
		if f.Severity != policies.SeverityDeny {
			continue // warnings are reported, not planned for
		}
		o := p.object(f.Object)
		switch f.Object.Group + "/" + f.Object.Kind {
		case "apiregistration.k8s.io/APIService":
			p.apiService(f, o)
		case "apiextensions.k8s.io/CustomResourceDefinition":
			p.conversion(f, o)
		case "admissionregistration.k8s.io/ValidatingWebhookConfiguration", "admissionregistration.k8s.io/MutatingWebhookConfiguration":
			p.admission(f, o)
		case "apps/Deployment", "apps/StatefulSet", "apps/DaemonSet":
			p.flagWorkload(f)
		case "/Namespace":
			// The namespace's own state (its conditions, its spec
			// finalizers, its size) is explained in the root cause; only
			// a rule's own actions make a step.
			if len(f.Actions) > 0 {
				p.generic(f)
			}
		default:
			if o != nil && o.Ref.Namespace == p.r.Namespace && len(o.Metadata.Finalizers) > 0 {
				// The finding is about the object's finalizers; those
				// whose controller is alive elsewhere need nothing.
				for _, name := range o.Metadata.Finalizers {
					if fin := p.finalizer(name); fin != nil && (fin.Liveness != inventory.LivenessAlive || hasAliveInNamespace(fin)) {
						p.flagged[name] = appendUnique(p.flagged[name], f.Rule)
					}
				}
				continue
			}
			p.generic(f)
		}
	}
	p.finalizers()

	sort.SliceStable(p.steps, func(i, j int) bool { return p.steps[i].rank < p.steps[j].rank })
	p.removals()
	if len(p.steps) > 0 {
		p.verify()
	}
	render(p.steps)
	return p.steps
}

// finalizer returns what the report says of a finalizer of the namespace.
func (p *planner) finalizer(name string) *Finalizer {
	for i := range p.r.Finalizers {
		if p.r.Finalizers[i].Name == name {
			return &p.r.Finalizers[i]
		}
	}
	return nil
}

// flagWorkload marks the finalizers a flagged workload handles (rule
// controller-in-namespace names the controller).
func (p *planner) flagWorkload(f policies.Finding) {
	found := false
	for _, fin := range p.r.Finalizers {
		for _, c := range fin.Controllers {
			if c.Workload.ID == f.Object.ID {
				p.flagged[fin.Name] = appendUnique(p.flagged[fin.Name], f.Rule)
				found = true
			}
		}
	}
	if !found {
		p.generic(f)
	}
}

// service returns what the snapshot knows of a Service.
func (p *planner) service(ns, name string) *inventory.ServiceFact {
	return p.s.Services[ns+"/"+name]
}

// svcState is what the plan says of a Service that something depends on.
type svcState struct {
	name  string // "Service ns/name"
	state string // "does not exist", "has no ready endpoints", "" when it serves
	// down: it cannot serve now; gone: it cannot come back (it does not
	// exist, or its namespace is being deleted).
	down, gone bool
}

// sentence words the state: "Service a/b has no ready endpoints".
func (v svcState) sentence() string {
	if v.state == "" {
		return v.name
	}
	return v.name + " " + v.state
}

// serviceState tells whether a Service can serve, from the snapshot.
func (p *planner) serviceState(ns, name string) svcState {
	v := svcState{name: "Service " + ns + "/" + name}
	if ns == p.r.Namespace && p.terminating() {
		v.gone = true
		v.state = "is deleted with namespace " + ns
	}
	f := p.service(ns, name)
	switch {
	case f == nil || f.Exists == nil:
	case !*f.Exists:
		v.state, v.down, v.gone = "does not exist", true, true
	case f.ReadyEndpoints != nil && *f.ReadyEndpoints == 0:
		v.state, v.down = "has no ready endpoints", true
	}
	return v
}

func (p *planner) apiService(f policies.Finding, o *inventory.Object) {
	name := f.Object.Name
	ns, svc := serviceOf(body(o, "spec", "service"))
	gv := str(body(o, "spec", "group")) + "/" + str(body(o, "spec", "version"))
	v := p.serviceState(ns, svc)
	if svc == "" {
		v = svcState{name: "its backend"}
	}
	st := Step{
		rank:    rankAPIService,
		Rules:   []string{f.Rule},
		Objects: []inventory.ObjectRef{f.Object},
		Safety:  SafetyCaution,
	}
	if v.down || v.gone || p.terminating() {
		st.Title = fmt.Sprintf("Delete APIService %s: its backend, %s", name, v.sentence())
		st.Why = fmt.Sprintf("While it is unavailable, discovery of %s fails, and the namespace controller stops at any discovery failure: the deletion of every namespace in the cluster stalls, not only %s. Deleting the APIService removes the %s API until its backend is installed again (re-apply its manifest then).", gv, p.r.Namespace, gv)
		if v.gone {
			st.Safety = SafetySafe
		} else {
			st.Title = fmt.Sprintf("Bring back the pods behind APIService %s (%s), or delete it", name, v.sentence())
			st.Checks = append(st.Checks, actions.EndpointSlices(ns, svc))
		}
		st.Actions = []actions.Action{{Type: actions.DeleteAPIService, Target: p.target(f.Object)}}
	} else {
		st.Title = fmt.Sprintf("Before deleting %s, move the backend of APIService %s out of it, or delete the APIService", p.r.Namespace, name)
		st.Why = fmt.Sprintf("Its backend, %s, lives in %s: once the namespace deletes it, discovery of %s fails and the deletion of every namespace in the cluster stalls, this one included.", v.name, p.r.Namespace, gv)
		st.Actions = []actions.Action{{Type: actions.DeleteAPIService, Target: p.target(f.Object)}}
	}
	p.add("apiservice/"+name, st)
}

func (p *planner) conversion(f policies.Finding, o *inventory.Object) {
	name := f.Object.Name
	ns, svc := serviceOf(body(o, "spec", "conversion", "webhook", "clientConfig", "service"))
	v := p.serviceState(ns, svc)
	plural := str(body(o, "spec", "names", "plural")) + "." + str(body(o, "spec", "group"))
	st := Step{rank: rankConversion, Rules: []string{f.Rule}, Objects: []inventory.ObjectRef{f.Object}, Safety: SafetyCaution}
	if v.down || v.gone || p.terminating() {
		stored := stringList(body(o, "status", "storedVersions"))
		st.Title = fmt.Sprintf("Switch CustomResourceDefinition %s to conversion strategy None: its conversion webhook, %s", name, v.sentence())
		st.Why = fmt.Sprintf("The API server calls that webhook to read %s objects; without it they cannot be listed or deleted in any namespace, so every namespace deletion stalls, not only %s. With strategy None the API server serves objects as stored (only apiVersion changes), which is right when every stored object uses the same schema (storedVersions: %s). Re-apply the CRD's manifest once its webhook runs again outside a namespace being deleted.",
			plural, p.r.Namespace, strings.Join(stored, ", "))
		st.Actions = []actions.Action{{Type: actions.SetConversionNone, Target: p.target(f.Object)}}
	} else {
		st.Title = fmt.Sprintf("Before deleting %s, move the conversion webhook of CustomResourceDefinition %s out of it", p.r.Namespace, name)
		st.Why = fmt.Sprintf("Its conversion webhook, %s, lives in %s: once the namespace deletes it, %s objects cannot be read or deleted in any namespace, and every namespace deletion stalls.", v.name, p.r.Namespace, plural)
		st.Safety = SafetySafe
		st.Checks = []string{actions.ConversionService(name)}
	}
	p.add("conversion/"+name, st)
}

func (p *planner) admission(f policies.Finding, o *inventory.Object) {
	name := f.Object.Name
	deleteConfig := []actions.Action{{Type: actions.DeleteWebhookConfiguration, Target: p.target(f.Object)}}
	st := Step{rank: rankAdmission, Rules: []string{f.Rule}, Objects: []inventory.ObjectRef{f.Object}, Safety: SafetyCaution}
	hooks, _ := body(o, "webhooks").([]any)
	var failing []int
	var services []string
	allGone := len(hooks) > 0
	for i, h := range hooks {
		hm, _ := h.(map[string]any)
		ns, svc := serviceOf(dig(hm, "clientConfig", "service"))
		if svc == "" {
			allGone = false
			continue
		}
		v := p.serviceState(ns, svc)
		if !v.gone {
			allGone = false
		}
		policy := str(hm["failurePolicy"])
		if (v.down || v.gone) && policy != "Ignore" {
			failing = append(failing, i)
			services = appendUnique(services, v.sentence())
		}
	}
	switch {
	case allGone:
		st.Title = fmt.Sprintf("Delete %s %s: its webhook service is gone with %s", f.Object.Kind, name, p.r.Namespace)
		st.Why = "It fails closed, so the API server refuses the requests it intercepts (the deletions of the objects left in the namespace among them) for as long as its service does not answer. Re-install it with the software it belongs to."
		st.Actions = deleteConfig
	case len(failing) > 0:
		for _, i := range failing {
			hm, _ := hooks[i].(map[string]any)
			st.Actions = append(st.Actions, actions.Action{Type: actions.PatchWebhookFailurePolicy, Target: p.target(f.Object),
				Webhook: str(hm["name"]), Index: i, FailurePolicy: "Ignore"})
		}
		st.Title = fmt.Sprintf("Make %s %s fail open: %s", f.Object.Kind, name, strings.Join(services, "; "))
		st.Why = "It fails closed, so the API server refuses the requests it intercepts (the deletions in the namespace among them) while its service does not answer. Failing open lets them through unchecked until the service is back; set failurePolicy back to Fail then (an operator that manages the configuration may do it for you)."
	default:
		st.Title = fmt.Sprintf("Before deleting %s, delete %s %s or exempt the namespace from it", p.r.Namespace, f.Object.Kind, name)
		st.Why = fmt.Sprintf("Its webhook service lives in %s and it fails closed: once the namespace deletes the service, the API server refuses the deletions the webhook intercepts and the namespace hangs. %s", p.r.Namespace, f.Message)
		st.Actions = deleteConfig
	}
	p.add("admission/"+name, st)
}

// generic turns a finding of a rule this package does not know into a step
// with the rule's own actions.
func (p *planner) generic(f policies.Finding) {
	st := Step{rank: rankOther, Title: f.Message, Safety: SafetyCaution, Rules: []string{f.Rule}, Objects: []inventory.ObjectRef{f.Object}, Actions: f.Actions}
	p.add("finding/"+f.Rule+"/"+refKey(f.Object), st)
}

// finalizers plans, for each finalizer left in the namespace that holds it
// up (Terminating) or that a rule flags (Active), what lets it go.
func (p *planner) finalizers() {
	for i := range p.r.Finalizers {
		fin := &p.r.Finalizers[i]
		rules := p.flagged[fin.Name]
		if !p.terminating() && len(rules) == 0 {
			continue
		}
		objs := p.objectsOf(fin)
		switch {
		case fin.Removal == RemovalNever:
			p.add("builtin/"+fin.Name, Step{
				rank: rankController, Rules: rules, Objects: objs, Safety: SafetySafe,
				Title: fmt.Sprintf("Let Kubernetes remove %s: %s", fin.Name, fin.RemovalReason),
			})
		case !p.terminating() && hasAliveInNamespace(fin):
			p.beforeDelete(fin, rules, objs)
		case fin.Liveness == inventory.LivenessAlive:
			p.add("alive/"+fin.Name, Step{
				rank: rankController, Rules: rules, Objects: objs, Safety: SafetySafe,
				Title:  fmt.Sprintf("Wait for the controller of %s, which is alive, or find out why its cleanup does not finish", fin.Name),
				Why:    "Do not remove this finalizer: " + fin.RemovalReason + ".",
				Checks: p.inspect(fin, inventory.LivenessAlive),
			})
		case fin.GoneForGood:
			// Removal steps are written by removals, in plan order.
			p.steps = append(p.steps, Step{rank: removalRank(fin.Removal), Rules: rules, Objects: objs, Safety: removalSafety(fin.Removal), finalizer: fin})
		case fin.Liveness == inventory.LivenessDown:
			p.add("down/"+fin.Name, Step{
				rank: rankController, Rules: rules, Objects: objs, Safety: SafetySafe,
				Title:   fmt.Sprintf("Start the controller of %s again: it exists but does not run", fin.Name),
				Why:     "Once it runs, it removes the finalizer after its own cleanup; removing the finalizer by hand would skip that cleanup.",
				Checks:  p.inspect(fin, inventory.LivenessDown),
				Actions: p.scaleUp(fin),
			})
		default:
			st := Step{
				rank: rankController, Rules: rules, Objects: objs, Safety: SafetySafe,
				Title: fmt.Sprintf("Find the controller of %s before removing anything", fin.Name),
				Why:   "Whether its controller runs is unknown: it may run outside the cluster, or the snapshot was incomplete. " + strings.Join(fin.Evidence, "; "),
			}
			if fin.HandledBy != "" {
				st.Why = "It is handled by " + fin.HandledBy + ". " + st.Why
			}
			p.add("unknown/"+fin.Name, st)
		}
	}
}

// beforeDelete: the pre-flight advice for a controller that runs in the
// namespace it serves — delete its objects first, while it still runs.
func (p *planner) beforeDelete(fin *Finalizer, rules []string, objs []inventory.ObjectRef) {
	var acts []actions.Action
	seen := map[string]bool{}
	for _, ref := range objs {
		if gr := ref.GroupResource(); !seen[gr] {
			seen[gr] = true
			t := p.target(ref)
			t.Name, t.UID = "", ""
			acts = append(acts, actions.Action{Type: actions.DeleteAll, Target: t})
		}
	}
	var ctrl []string
	for _, c := range fin.Controllers {
		if c.InNamespace && c.Liveness == inventory.LivenessAlive {
			ctrl = append(ctrl, fmt.Sprintf("%s %s", c.Workload.Kind, c.Workload.Name))
		}
	}
	p.add("before/"+fin.Name, Step{
		rank: rankBeforeDelete, Rules: rules, Objects: objs, Safety: SafetySafe, Actions: acts,
		Title: fmt.Sprintf("Before deleting %s, delete the objects that carry %s while their controller (%s) still runs", p.r.Namespace, fin.Name, strings.Join(ctrl, ", ")),
		Why:   fmt.Sprintf("The controller runs in %s: deleting the namespace deletes its pods first, and then nothing removes %s from the %d object(s) that carry it, so the namespace hangs. Deleted first, the objects go through the controller's cleanup.", p.r.Namespace, fin.Name, fin.Objects),
	})
}

// inspect gives the read-only commands that examine a finalizer's
// controllers of the given liveness (those scaled to 0 are scaled up by
// scaleUp instead).
func (p *planner) inspect(fin *Finalizer, liveness string) []string {
	var cmds []string
	for _, c := range fin.Controllers {
		if c.Liveness != liveness || (c.InNamespace && p.terminating()) || p.scaledToZero(c) {
			continue // a Terminating namespace accepts no new pods
		}
		t := p.target(c.Workload)
		cmds = append(cmds, actions.Describe(t), actions.Logs(t))
	}
	return cmds
}

// scaleUp scales the down controllers of a finalizer that were scaled to 0
// back to one replica.
func (p *planner) scaleUp(fin *Finalizer) []actions.Action {
	var out []actions.Action
	one := int32(1)
	for _, c := range fin.Controllers {
		if c.Liveness == inventory.LivenessDown && !(c.InNamespace && p.terminating()) && p.scaledToZero(c) {
			out = append(out, actions.Action{Type: actions.ScaleWorkload, Target: p.target(c.Workload), Replicas: &one})
		}
	}
	return out
}

func (p *planner) scaledToZero(c Controller) bool {
	if c.Workload.Group != "apps" || (c.Workload.Kind != "Deployment" && c.Workload.Kind != "StatefulSet") {
		return false
	}
	r, ok := toInt(body(p.object(c.Workload), "spec", "replicas"))
	return ok && r == 0
}

// removals writes the finalizer removal steps, in plan order, with
// actions whose indexes account for the removals before them. Each removal
// tests the object's UID and the value it removes, so it fails instead of
// removing another finalizer if the list changed since the diagnosis.
func (p *planner) removals() {
	kept := p.steps[:0]
	for _, st := range p.steps {
		fin := st.finalizer
		if fin == nil {
			kept = append(kept, st)
			continue
		}
		st.finalizer = nil
		for _, ref := range st.Objects {
			o := p.object(ref)
			if o == nil {
				continue
			}
			list, ok := p.lists[ref.ID]
			if !ok {
				list = append([]string(nil), o.Metadata.Finalizers...)
			}
			idx := indexOf(list, fin.Name)
			if idx < 0 {
				continue
			}
			st.Actions = append(st.Actions, actions.Action{Type: actions.RemoveFinalizer, Target: p.target(ref), Finalizer: fin.Name, Index: idx})
			p.lists[ref.ID] = append(list[:idx:idx], list[idx+1:]...)
		}
		switch fin.Removal {
		case RemovalSafe:
			st.Title = fmt.Sprintf("Remove finalizer %s from %s: its controller is gone for good", fin.Name, countObjects(len(st.Objects)))
		case RemovalCaution:
			st.Title = fmt.Sprintf("Remove finalizer %s from %s, once you know it protects nothing outside the cluster", fin.Name, countObjects(len(st.Objects)))
		default:
			st.Title = fmt.Sprintf("Only after cleaning up what it protects by hand, remove finalizer %s from %s", fin.Name, countObjects(len(st.Objects)))
		}
		st.Why = strings.ToUpper(fin.RemovalReason[:1]) + fin.RemovalReason[1:] + "."
		if len(fin.Evidence) > 0 {
			st.Why += " Evidence: " + strings.Join(fin.Evidence, "; ") + "."
		}
		kept = append(kept, st)
	}
	p.steps = kept
}

func (p *planner) verify() {
	st := Step{rank: rankVerify, Safety: SafetySafe}
	if p.terminating() {
		st.Title = fmt.Sprintf("Watch %s go: the namespace controller checks it again within seconds", p.r.Namespace)
		st.Checks = []string{actions.WaitDeleted(p.r.Namespace)}
	} else {
		st.Title = fmt.Sprintf("Check again before deleting %s", p.r.Namespace)
		st.Checks = []string{actions.Diagnose(p.r.Namespace)}
	}
	p.steps = append(p.steps, st)
}

func (p *planner) objectsOf(fin *Finalizer) []inventory.ObjectRef {
	refs := make([]inventory.ObjectRef, 0, len(fin.fact.Objects))
	for _, id := range fin.fact.Objects {
		refs = append(refs, p.s.Objects[id].Ref)
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Less(refs[j]) })
	return refs
}

func hasAliveInNamespace(fin *Finalizer) bool {
	for _, c := range fin.Controllers {
		if c.InNamespace && c.Liveness == inventory.LivenessAlive {
			return true
		}
	}
	return false
}

func removalRank(verdict string) int {
	switch verdict {
	case RemovalSafe:
		return rankRemoveSafe
	case RemovalCaution:
		return rankRemoveCaution
	}
	return rankRemoveUnsafe
}

func removalSafety(verdict string) string {
	switch verdict {
	case RemovalSafe:
		return SafetySafe
	case RemovalCaution:
		return SafetyCaution
	}
	return SafetyUnsafe
}

func countObjects(n int) string {
	if n == 1 {
		return "1 object"
	}
	return fmt.Sprintf("%d objects", n)
}

func refKey(r inventory.ObjectRef) string {
	return r.GroupKind() + "/" + r.Namespace + "/" + r.Name
}

// body reads a path of an object's body ("spec", "service", …).
func body(o *inventory.Object, path ...string) any {
	if o == nil {
		return nil
	}
	return dig(o.Body, path...)
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func serviceOf(v any) (namespace, name string) {
	m, _ := v.(map[string]any)
	return str(m["namespace"]), str(m["name"])
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// toInt reads a number as decoded from JSON (float64) or by the API
// machinery (int64).
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}

func indexOf(l []string, s string) int {
	for i, e := range l {
		if e == s {
			return i
		}
	}
	return -1
}

func appendUnique(l []string, s string) []string {
	if indexOf(l, s) >= 0 {
		return l
	}
	return append(l, s)
}
