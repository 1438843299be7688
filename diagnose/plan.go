package diagnose

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

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
	Title    string                `json:"title"`
	Why      string                `json:"why,omitempty"`
	Safety   string                `json:"safety"`
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

// forbidden matches what a plan never contains: ways around the API
// server's authorization and the namespace controller (kubectl proxy, the
// namespace finalize subresource, etcd, anonymous or cluster-admin
// bindings) and blind emptying of a finalizer list.
var forbidden = regexp.MustCompile(`kubectl proxy|/finalize\b|etcdctl|cluster-admin|system:anonymous|--raw|"finalizers":\s*(\[\s*\]|null)`)

// allowed tells whether a command may appear in a plan.
func allowed(cmd string) bool { return !forbidden.MatchString(cmd) }

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
	kept := st.Commands[:0:0]
	for _, c := range st.Commands {
		if allowed(c) {
			kept = append(kept, c)
		}
	}
	st.Commands = kept
	p.steps = append(p.steps, st)
}

func appendAllowed(cmds []string, cmd string) []string {
	if !allowed(cmd) {
		return cmds
	}
	return append(cmds, cmd)
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
			// a rule's own fix makes a step.
			if f.Fix != "" {
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
			st.Commands = append(st.Commands, fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s", ns, svc))
		}
		st.Commands = append(st.Commands, "kubectl delete apiservice "+name)
	} else {
		st.Title = fmt.Sprintf("Before deleting %s, move the backend of APIService %s out of it, or delete the APIService", p.r.Namespace, name)
		st.Why = fmt.Sprintf("Its backend, %s, lives in %s: once the namespace deletes it, discovery of %s fails and the deletion of every namespace in the cluster stalls, this one included.", v.name, p.r.Namespace, gv)
		st.Commands = []string{"kubectl delete apiservice " + name}
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
		patch := `[{"op":"replace","path":"/spec/conversion","value":{"strategy":"None"}}]`
		st.Commands = []string{fmt.Sprintf("kubectl patch customresourcedefinition %s --type=json -p %s", name, shellQuote(patch))}
	} else {
		st.Title = fmt.Sprintf("Before deleting %s, move the conversion webhook of CustomResourceDefinition %s out of it", p.r.Namespace, name)
		st.Why = fmt.Sprintf("Its conversion webhook, %s, lives in %s: once the namespace deletes it, %s objects cannot be read or deleted in any namespace, and every namespace deletion stalls.", v.name, p.r.Namespace, plural)
		st.Safety = SafetySafe
		st.Commands = []string{fmt.Sprintf("kubectl get customresourcedefinition %s -o jsonpath='{.spec.conversion.webhook.clientConfig.service}'", name)}
	}
	p.add("conversion/"+name, st)
}

func (p *planner) admission(f policies.Finding, o *inventory.Object) {
	resource := strings.ToLower(f.Object.Kind)
	name := f.Object.Name
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
		st.Commands = []string{fmt.Sprintf("kubectl delete %s %s", resource, name)}
	case len(failing) > 0:
		var ops []string
		for _, i := range failing {
			ops = append(ops, fmt.Sprintf(`{"op":"replace","path":"/webhooks/%d/failurePolicy","value":"Ignore"}`, i))
		}
		st.Title = fmt.Sprintf("Make %s %s fail open: %s", f.Object.Kind, name, strings.Join(services, "; "))
		st.Why = "It fails closed, so the API server refuses the requests it intercepts (the deletions in the namespace among them) while its service does not answer. Failing open lets them through unchecked until the service is back; set failurePolicy back to Fail then (an operator that manages the configuration may do it for you)."
		st.Commands = []string{fmt.Sprintf("kubectl patch %s %s --type=json -p %s", resource, name, shellQuote("["+strings.Join(ops, ",")+"]"))}
	default:
		st.Title = fmt.Sprintf("Before deleting %s, delete %s %s or exempt the namespace from it", p.r.Namespace, f.Object.Kind, name)
		st.Why = fmt.Sprintf("Its webhook service lives in %s and it fails closed: once the namespace deletes the service, the API server refuses the deletions the webhook intercepts and the namespace hangs. %s", p.r.Namespace, f.Message)
		st.Commands = []string{fmt.Sprintf("kubectl delete %s %s", resource, name)}
	}
	p.add("admission/"+name, st)
}

// generic turns a finding of a rule this package does not know into a step
// with the rule's own fix.
func (p *planner) generic(f policies.Finding) {
	st := Step{rank: rankOther, Title: f.Message, Safety: SafetyCaution, Rules: []string{f.Rule}, Objects: []inventory.ObjectRef{f.Object}}
	if f.Fix != "" {
		if !allowed(f.Fix) {
			return // the finding is reported; a fix that goes around the API server is not
		}
		st.Commands = []string{f.Fix}
	}
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
				Title:    fmt.Sprintf("Wait for the controller of %s, which is alive, or find out why its cleanup does not finish", fin.Name),
				Why:      "Do not remove this finalizer: " + fin.RemovalReason + ".",
				Commands: p.inspectCommands(fin, inventory.LivenessAlive),
			})
		case fin.GoneForGood:
			// Removal steps are written by removals, in plan order.
			p.steps = append(p.steps, Step{rank: removalRank(fin.Removal), Rules: rules, Objects: objs, Safety: removalSafety(fin.Removal), finalizer: fin})
		case fin.Liveness == inventory.LivenessDown:
			p.add("down/"+fin.Name, Step{
				rank: rankController, Rules: rules, Objects: objs, Safety: SafetySafe,
				Title:    fmt.Sprintf("Start the controller of %s again: it exists but does not run", fin.Name),
				Why:      "Once it runs, it removes the finalizer after its own cleanup; removing the finalizer by hand would skip that cleanup.",
				Commands: p.inspectCommands(fin, inventory.LivenessDown),
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
	var cmds []string
	seen := map[string]bool{}
	for _, ref := range objs {
		gr := ref.GroupResource()
		if !seen[gr] {
			seen[gr] = true
			cmds = append(cmds, fmt.Sprintf("kubectl delete %s --all -n %s --wait=true", gr, p.r.Namespace))
		}
	}
	var ctrl []string
	for _, c := range fin.Controllers {
		if c.InNamespace && c.Liveness == inventory.LivenessAlive {
			ctrl = append(ctrl, fmt.Sprintf("%s %s", c.Workload.Kind, c.Workload.Name))
		}
	}
	p.add("before/"+fin.Name, Step{
		rank: rankBeforeDelete, Rules: rules, Objects: objs, Safety: SafetySafe, Commands: cmds,
		Title: fmt.Sprintf("Before deleting %s, delete the objects that carry %s while their controller (%s) still runs", p.r.Namespace, fin.Name, strings.Join(ctrl, ", ")),
		Why:   fmt.Sprintf("The controller runs in %s: deleting the namespace deletes its pods first, and then nothing removes %s from the %d object(s) that carry it, so the namespace hangs. Deleted first, the objects go through the controller's cleanup.", p.r.Namespace, fin.Name, fin.Objects),
	})
}

// inspectCommands are the commands that start or examine a finalizer's
// controllers.
func (p *planner) inspectCommands(fin *Finalizer, liveness string) []string {
	var cmds []string
	for _, c := range fin.Controllers {
		if c.Liveness != liveness {
			continue
		}
		if c.InNamespace && p.terminating() {
			continue // its namespace accepts no new pods
		}
		ref := fmt.Sprintf("%s/%s -n %s", strings.ToLower(c.Workload.Kind), c.Workload.Name, c.Workload.Namespace)
		if liveness == inventory.LivenessDown && c.Workload.Kind != "DaemonSet" {
			if r, ok := toInt(body(p.object(c.Workload), "spec", "replicas")); ok && r == 0 {
				cmds = append(cmds, fmt.Sprintf("kubectl scale %s --replicas=1", ref))
				continue
			}
		}
		cmds = append(cmds, "kubectl describe "+ref, "kubectl logs "+ref+" --tail=100")
	}
	return cmds
}

// removals writes the finalizer removal steps, in plan order, with JSON
// patches whose indexes account for the removals before them. Each patch
// tests the value it removes, so it fails instead of removing another
// finalizer if the list changed since the diagnosis.
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
			patch := []map[string]any{
				{"op": "test", "path": fmt.Sprintf("/metadata/finalizers/%d", idx), "value": fin.Name},
				{"op": "remove", "path": fmt.Sprintf("/metadata/finalizers/%d", idx)},
			}
			pj, _ := json.Marshal(patch)
			st.Commands = appendAllowed(st.Commands, fmt.Sprintf("kubectl patch %s/%s -n %s --type=json -p %s", ref.GroupResource(), ref.Name, ref.Namespace, shellQuote(string(pj))))
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
		st.Commands = []string{fmt.Sprintf("kubectl wait --for=delete namespace/%s --timeout=5m", p.r.Namespace)}
	} else {
		st.Title = fmt.Sprintf("Check again before deleting %s", p.r.Namespace)
		st.Commands = []string{"kubectl nsguard diagnose " + p.r.Namespace}
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

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
