package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
	"github.com/nsguard/nsguard/remediate"
)

type deleteOptions struct {
	cluster *clusterFlags
	act     actFlags
}

func newDeleteCommand(s *streams) *cobra.Command {
	o := &deleteOptions{cluster: newClusterFlags(), act: newActFlags()}
	cmd := &cobra.Command{
		Use:   "delete NAMESPACE",
		Short: "Delete a namespace safely: the pre-flight plan's safe steps first, then the namespace, watched until it is gone",
		Long: `Delete tears a namespace down in the order that keeps it from hanging in
Terminating.

It diagnoses the namespace first (the pre-flight check of nsguard diagnose)
and goes on only if every blocking finding has safe steps nsguard can take:

  - the objects whose controller runs inside the namespace are deleted
    first, while that controller still runs, and delete waits for them to
    go (their controller removes its finalizers after its cleanup);
  - a finalizer whose controller is proven absent is removed where the
    remediator's gate allows it (the catalog knows it and says removing
    it leaks nothing);
  - APIServices and admission webhook configurations served from inside
    the namespace are deleted (or the plan's webhooks made to fail open),
    since their Services go with it;
  - then the namespace itself is deleted (a normal DELETE, with its UID as
    a precondition, which nsguard's admission webhook sees like any
    other), and delete watches it go.

It refuses, changing nothing, when the plan needs a decision by a person: an
orphaned finalizer whose removal would leak what it protects or that the
catalog does not know, a controller whose liveness is unknown, a CRD
conversion webhook served from the namespace (there is no safe automatic
step for it), an APIService or webhook configuration that also serves from
elsewhere, or an incomplete diagnosis. There is no flag to override that:
fix what it names, or use kubectl.

It prints the plan (each action as its kubectl command), asks on a terminal
(--yes for scripts, --dry-run to only print), reads and prints each object's
metadata before changing it, and diagnoses the namespace again just before
deleting it. Every wait is bounded by --timeout, counted from the first
change. It never uses the namespace's finalize subresource.

Exit codes: 0 the namespace is gone (or, with --dry-run, delete would go
ahead), 1 refused, declined, or still there at the timeout (what holds it is
printed), 2 usage or connection error (a missing namespace, one already
being deleted, no terminal to confirm on and no --yes).`,
		Example: `  # What would nsguard delete do with "shop"? (changes nothing)
  nsguard delete shop --dry-run

  # Tear "shop" down: its operator's custom resources first, then the namespace
  kubectl nsguard delete shop

  # In a script
  nsguard delete shop --yes --timeout 10m`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runDelete(ctx, s, o, args)
		},
	}
	o.act.register(cmd, 5*time.Minute, "for the objects and then the namespace to go, from the first change")
	o.cluster.register(cmd, "delete")
	return cmd
}

func runDelete(ctx context.Context, s *streams, o *deleteOptions, args []string) error {
	namespace, err := o.cluster.namespace(args, "delete")
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := o.act.validate(); err != nil {
		return withCode(exitUsage, err)
	}
	ss, err := o.cluster.connect(ctx, s, &o.act, namespace)
	if err != nil {
		return err
	}
	res, err := ss.diagnose(ctx)
	if errors.Is(err, inventory.ErrNamespaceNotFound) {
		return withCode(exitUsage, fmt.Errorf("namespace %q not found", namespace))
	}
	if err != nil {
		return withCode(exitUsage, err)
	}
	r := res.Report
	if r.State == diagnose.StateTerminating {
		return withCode(exitUsage, fmt.Errorf("namespace %s is already being deleted: use nsguard remediate %s", namespace, namespace))
	}
	ns, err := ss.readNamespace(ctx)
	if err != nil {
		return err
	}
	info := remediate.NamespaceInfo{Name: ns.Name, Labels: ns.Labels, Annotations: ns.Annotations}
	plan := planDelete(ctx, res.Snapshot, r, ss.engine.Catalog(), deleteGate(ss.engine.Vetoes), info)

	writeSummary(s.Out, r)
	if len(plan.refused) > 0 {
		fmt.Fprintf(s.Out, "\nnsguard delete will not delete namespace %s: it needs a decision by a person first.\n", namespace)
		for _, why := range plan.refused {
			fmt.Fprintf(s.Out, "  - %s\n", why)
		}
		fmt.Fprintf(s.Out, "Nothing was changed. Fix what is named above (%s has the full plan), then run nsguard delete %s again.\n", actions.Diagnose(namespace), namespace)
		return withCode(exitFindings, nil)
	}
	writeDeletePlan(s.Out, plan, namespace, o.act.timeout)
	if o.act.dryRun {
		fmt.Fprintln(s.Out, "\nDry run: nothing was changed.")
		return nil
	}
	question := "Delete namespace " + namespace + "?"
	if plan.steps() > 0 {
		question = fmt.Sprintf("Run %s, then delete namespace %s?", countOf(plan.steps(), "step"), namespace)
	}
	ok, err := confirm(s.In, s.Out, o.act.terminal(s.In), o.act.yes, question)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if !ok {
		fmt.Fprintln(s.Out, "Nothing was changed.")
		return withCode(exitFindings, nil)
	}
	return ss.teardown(ctx, plan, string(ns.UID), time.Now().Add(o.act.timeout))
}

// deleteGate judges the finalizer removals of a pre-flight plan with the
// remediator's rules, and no allow-list: only a finalizer the catalog says
// leaks nothing, whose controller is proven absent now.
func deleteGate(veto func(context.Context, map[string]any) ([]string, error)) remediate.Gate {
	return remediate.Gate{Allowed: map[actions.Type]bool{actions.RemoveFinalizer: true}, Veto: veto}
}

// deletePlan is what nsguard delete does before it deletes the namespace,
// in this order.
type deletePlan struct {
	// objects are the plan's delete-all steps: the objects whose
	// controller runs in the namespace, deleted while it still runs.
	objects []objectStep
	// removals are the finalizer removals the gate allows.
	removals []judgedAction
	// configs delete the APIServices and webhook configurations served
	// from inside the namespace (or make its webhooks fail open).
	configs []configStep
	// refused says why nsguard delete will not go on: a decision for a
	// person. When it is not empty, nothing is done.
	refused []string
}

type objectStep struct {
	step    diagnose.Step
	actions []actions.Action
}

type configStep struct {
	step   diagnose.Step
	action actions.Action
}

func (p deletePlan) steps() int { return len(p.objects) + len(p.removals) + len(p.configs) }

// planDelete sorts the steps of a pre-flight plan into what nsguard delete
// runs and what it refuses. A step runs only when every one of its actions
// may: a delete-all of a safe step (the objects of a controller that runs
// in the namespace), a finalizer removal the gate allows, the deletion of
// an APIService or webhook configuration (or a webhook's failurePolicy)
// whose Services all live in the namespace. A step without actions is a
// decision for a person, and so is a blocking finding without a step.
func planDelete(ctx context.Context, s *inventory.Snapshot, r *diagnose.Report, cat *catalog.Catalog, gate remediate.Gate, info remediate.NamespaceInfo) deletePlan {
	var p deletePlan
	if !r.Complete {
		p.refused = append(p.refused, "the diagnosis is incomplete, and nsguard delete acts only on a complete one: "+strings.Join(r.Incomplete, "; "))
	}
	cands := remediate.Candidates(s, r, cat)
	total := 0
	for _, st := range r.Plan {
		total += len(st.Actions)
	}
	if len(cands) != total {
		p.refused = append(p.refused, "the plan's actions could not be matched with their facts")
		return p
	}
	// A blocking finding is covered by a step of its rule, or by a step
	// about its object (one step may answer several findings).
	covered := map[string]bool{}
	k := 0
	for _, st := range r.Plan {
		stepCands := cands[k : k+len(st.Actions)]
		k += len(st.Actions)
		for _, rule := range st.Rules {
			covered[rule] = true
		}
		for _, o := range st.Objects {
			covered[objectKey(o)] = true
		}
		if len(st.Rules) == 0 && len(st.Actions) == 0 {
			continue // "check again before deleting": delete does, just before the DELETE
		}
		if len(st.Actions) == 0 {
			p.refused = append(p.refused, refusal(st, "there is no step nsguard can take for it"))
			continue
		}
		var why []string
		var objs []actions.Action
		var rems []judgedAction
		var cfgs []configStep
		for _, c := range stepCands {
			a := c.Action
			switch a.Type {
			case actions.DeleteAll:
				if st.Safety != diagnose.SafetySafe {
					why = append(why, fmt.Sprintf("deleting %s is a %s step", a.Target, st.Safety))
					continue
				}
				objs = append(objs, a)
			case actions.RemoveFinalizer:
				v := gate.Judge(ctx, s, c, info, 0)
				if !v.Run {
					// delete takes no allow-list: the gate's pointer to one
					// is not for this command.
					reason, _, _ := strings.Cut(v.Reason, "; removal needs")
					why = append(why, fmt.Sprintf("will not %s: %s", a.String(), reason))
					continue
				}
				rems = append(rems, judgedAction{c: c, v: v})
			case actions.DeleteAPIService, actions.DeleteWebhookConfiguration, actions.PatchWebhookFailurePolicy:
				if reason := servedFromInside(s, a, r.Namespace); reason != "" {
					why = append(why, reason)
					continue
				}
				cfgs = append(cfgs, configStep{step: st, action: a})
			case actions.SetConversionNone:
				why = append(why, fmt.Sprintf("there is no safe automatic step for a conversion webhook: switching %s to conversion strategy None serves objects stored in another version unconverted, which only a person can judge", a.Target))
			default:
				why = append(why, fmt.Sprintf("%s is a step for a person", a.String()))
			}
		}
		if len(why) > 0 {
			p.refused = append(p.refused, refusal(st, strings.Join(why, "; ")))
			continue
		}
		if len(objs) > 0 {
			p.objects = append(p.objects, objectStep{step: st, actions: objs})
		}
		p.removals = append(p.removals, rems...)
		p.configs = append(p.configs, cfgs...)
	}
	for _, f := range r.Findings {
		if f.Severity == policies.SeverityDeny && !covered[f.Rule] && !covered[objectKey(f.Object)] {
			covered[f.Rule] = true // once per rule
			p.refused = append(p.refused, fmt.Sprintf("%s [%s]: the plan has no step for it", f.Message, f.Rule))
		}
	}
	return p
}

func objectKey(r inventory.ObjectRef) string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

func refusal(st diagnose.Step, why string) string {
	return fmt.Sprintf("%s: %s [%s]", strings.TrimSuffix(st.Title, "."), why, strings.Join(st.Rules, ", "))
}

// servedFromInside tells why an APIService or webhook configuration may
// not go with the namespace: "" when every Service the action concerns
// lives in it, so that deleting the namespace takes them anyway.
func servedFromInside(s *inventory.Snapshot, a actions.Action, namespace string) string {
	o := remediate.Target(s, a)
	if o == nil {
		return fmt.Sprintf("%s is not in the snapshot", a.Target)
	}
	var services []map[string]any
	calls := 0
	switch a.Type {
	case actions.DeleteAPIService:
		spec, _ := o.Body["spec"].(map[string]any)
		calls = 1
		if svc, ok := spec["service"].(map[string]any); ok {
			services = append(services, svc)
		}
	default:
		hooks, _ := o.Body["webhooks"].([]any)
		for _, h := range hooks {
			hm, _ := h.(map[string]any)
			if a.Type == actions.PatchWebhookFailurePolicy && hm["name"] != a.Webhook {
				continue
			}
			calls++
			cc, _ := hm["clientConfig"].(map[string]any)
			if svc, ok := cc["service"].(map[string]any); ok {
				services = append(services, svc)
			}
		}
	}
	if calls == 0 || len(services) < calls {
		return fmt.Sprintf("%s calls a server outside the cluster, or none: it does not go with namespace %s", a.Target, namespace)
	}
	var outside []string
	for _, svc := range services {
		if ns, _ := svc["namespace"].(string); ns != namespace {
			name, _ := svc["name"].(string)
			outside = append(outside, "Service "+ns+"/"+name)
		}
	}
	if len(outside) > 0 {
		sort.Strings(outside)
		return fmt.Sprintf("%s also calls %s, outside namespace %s: deleting it would take more than what goes with the namespace", a.Target, strings.Join(outside, ", "), namespace)
	}
	return ""
}

// writeDeletePlan prints what delete will do, each action as its kubectl
// command.
func writeDeletePlan(w io.Writer, p deletePlan, namespace string, timeout time.Duration) {
	fmt.Fprintln(w, "\nPlan:")
	n := 0
	for _, o := range p.objects {
		n++
		fmt.Fprintf(w, "  %d. %s\n", n, o.step.Title)
		cmds, _ := actions.Commands(o.actions)
		for _, c := range cmds {
			fmt.Fprintf(w, "     $ %s\n", c)
		}
		var names []string
		for _, ref := range o.step.Objects {
			names = append(names, ref.GroupKind()+" "+ref.Name)
		}
		fmt.Fprintf(w, "     then wait for %s to go: %s\n", countOf(len(o.step.Objects), "object"), strings.Join(names, ", "))
	}
	for _, j := range p.removals {
		n++
		fmt.Fprintf(w, "  %d. %s\n", n, j.c.Action.String())
		fmt.Fprintf(w, "     evidence: %s\n", j.v.Reason)
		if c, err := actions.Command(j.c.Action); err == nil {
			fmt.Fprintf(w, "     $ %s\n", c)
		}
	}
	for _, c := range p.configs {
		n++
		fmt.Fprintf(w, "  %d. %s\n", n, c.step.Title)
		if cmd, err := actions.Command(c.action); err == nil {
			fmt.Fprintf(w, "     $ %s\n", cmd)
		}
	}
	n++
	fmt.Fprintf(w, "  %d. Check again, then delete namespace %s (with its UID as a precondition) and watch it go, up to %s in all\n", n, namespace, timeout)
}

// teardown runs the plan, then deletes the namespace and watches it go.
// Nothing is deleted past a step that fails.
func (ss *session) teardown(ctx context.Context, p deletePlan, uid string, deadline time.Time) error {
	ns := ss.namespace
	if len(p.objects) > 0 {
		fmt.Fprintln(ss.out, "\nDeleting the objects whose controllers run in the namespace, while they still run:")
		var all []actions.Action
		var targets []actions.Target
		for _, o := range p.objects {
			all = append(all, o.actions...)
			for _, a := range o.actions {
				targets = append(targets, a.Target)
			}
		}
		if _, err := ss.execute(ctx, all); err != nil {
			fmt.Fprintf(ss.out, "Namespace %s was not deleted.\n", ns)
			return withCode(exitFindings, nil)
		}
		left, err := ss.waitObjectsGone(ctx, targets, deadline)
		if err != nil {
			return withCode(exitUsage, err)
		}
		if len(left) > 0 {
			fmt.Fprintf(ss.out, "\nThese objects are still there: %s.\nTheir controller has not finished its cleanup in time; namespace %s was not deleted (its pods would go first, and these would hang). Look at the controller's logs, then run nsguard delete %s again.\n",
				strings.Join(left, ", "), ns, ns)
			return withCode(exitFindings, nil)
		}
	}
	var rest []actions.Action
	for _, j := range p.removals {
		rest = append(rest, j.c.Action)
	}
	for _, c := range p.configs {
		rest = append(rest, c.action)
	}
	if len(rest) > 0 {
		fmt.Fprintln(ss.out, "\nRunning:")
		if _, err := ss.execute(ctx, rest); err != nil {
			fmt.Fprintf(ss.out, "Namespace %s was not deleted.\n", ns)
			return withCode(exitFindings, nil)
		}
	}

	// What the steps did, and anything that changed since the first
	// diagnosis, shows in a second one.
	res, err := ss.diagnose(ctx)
	if errors.Is(err, inventory.ErrNamespaceNotFound) {
		fmt.Fprintf(ss.out, "Namespace %s is gone: something else deleted it.\n", ns)
		return nil
	}
	if err != nil {
		return withCode(exitUsage, err)
	}
	if res.Report.Blocked || !res.Report.Complete || res.Report.State != diagnose.StateActive {
		fmt.Fprintf(ss.out, "\nChecked again: namespace %s was not deleted.\n", ns)
		writeSummary(ss.out, res.Report)
		return withCode(exitFindings, nil)
	}
	fmt.Fprintf(ss.out, "\nChecked again: nothing would block the deletion of %s.\n", ns)

	u := types.UID(uid)
	if err := ss.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &u}}); err != nil {
		fmt.Fprintf(ss.out, "Deleting namespace %s failed: %v\n", ns, err)
		return withCode(exitFindings, nil)
	}
	fmt.Fprintf(ss.out, "Deleted namespace %s.\n", ns)
	return ss.waitGoneOrExplain(ctx, deadline, "Run nsguard remediate "+ns+" to un-stick it.")
}

// waitObjectsGone waits until no object of the targets' resource types is
// left in the namespace, or the deadline passes, with a progress line. It
// returns what is left, with finalizers.
func (ss *session) waitObjectsGone(ctx context.Context, targets []actions.Target, deadline time.Time) ([]string, error) {
	p := ss.newProgress()
	defer p.end()
	began := time.Now()
	for {
		var left, counts []string
		for _, t := range targets {
			gvr := schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}
			list, err := ss.dyn.Resource(gvr).Namespace(ss.namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				left = append(left, fmt.Sprintf("%s (cannot list: %v)", t, err))
				continue
			}
			if n := len(list.Items); n > 0 {
				counts = append(counts, countOf(n, t.Kind))
			}
			for _, u := range list.Items {
				left = append(left, fmt.Sprintf("%s %s/%s (finalizers: %s)", t.Kind, u.GetNamespace(), u.GetName(), strings.Join(u.GetFinalizers(), ", ")))
			}
		}
		if len(left) == 0 {
			p.end()
			fmt.Fprintf(ss.out, "  all gone (%s)\n", time.Since(began).Round(100*time.Millisecond))
			return nil, nil
		}
		status := "waiting for " + strings.Join(counts, ", ") + " to go"
		p.show(status, fmt.Sprintf("%s (%s)", status, time.Since(began).Round(time.Second)))
		if !time.Now().Before(deadline) {
			return left, nil
		}
		select {
		case <-ctx.Done():
			return left, ctx.Err()
		case <-time.After(min(ss.act.poll, time.Until(deadline)+time.Millisecond)):
		}
	}
}
