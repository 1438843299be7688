package remediate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
)

// Label that switches remediation on or off for one namespace; a user may
// add it to a namespace that is already stuck.
const (
	Label         = "nsguard.io/remediation"
	LabelEnabled  = "enabled"
	LabelDisabled = "disabled"
)

// Defaults of Options.
const (
	DefaultStuckAfter          = 5 * time.Minute
	DefaultControllerGoneAfter = 10 * time.Minute
	// DefaultRecheck is how often a stuck namespace is looked at again.
	DefaultRecheck = 30 * time.Second
)

// Engine is what the remediator needs of the policy engine.
type Engine interface {
	diagnose.Engine
	Vetoes(ctx context.Context, input map[string]any) ([]string, error)
}

// Options configure a Reconciler.
type Options struct {
	Source   inventory.Source
	Engine   Engine
	Executor *Executor
	State    *StateStore
	Recorder events.EventRecorder
	// Mode is off, dryrun (default) or on.
	Mode string
	// Actions are the action types that may run (default none).
	Actions []actions.Type
	// DefaultEnabled applies to namespaces without the nsguard.io/remediation label.
	DefaultEnabled bool
	// StuckAfter and ControllerGoneAfter: see the flags. Recheck is how
	// often a stuck namespace is looked at again (default 30s).
	StuckAfter, ControllerGoneAfter, Recheck time.Duration
	// AllowFinalizers may be removed although the catalog says they leak,
	// or does not know them (finalizer names or catalog ids).
	AllowFinalizers []string
	// MaxActionsPerPass bounds the actions of one namespace per pass, and
	// ClusterQPS the actions across all namespaces.
	MaxActionsPerPass int
	ClusterQPS        float32
	// Now is the clock (the API server's, from the cache).
	Now     func() time.Time
	Metrics *Metrics
	Logger  logr.Logger
}

// Reconciler reconciles namespaces that are being deleted: when one is
// stuck, it diagnoses it and takes the allowed, proven-safe steps.
type Reconciler struct {
	opts    Options
	gate    Gate
	limiter flowcontrol.RateLimiter
	client  client.Client

	mu sync.Mutex
	// said remembers the last message per (namespace, candidate), so that
	// an Event is written when what nsguard would do or why it does not
	// changes, not on every pass.
	said map[string]string
}

// NewReconciler checks the options.
func NewReconciler(opts Options) (*Reconciler, error) {
	if opts.Source == nil || opts.Engine == nil || opts.Executor == nil || opts.State == nil {
		return nil, errors.New("remediate: source, engine, executor and state are required")
	}
	switch opts.Mode {
	case "":
		opts.Mode = ModeDryRun
	case ModeOff, ModeDryRun, ModeOn:
	default:
		return nil, fmt.Errorf("remediate: mode %q: want off, dryrun or on", opts.Mode)
	}
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = DefaultStuckAfter
	}
	if opts.ControllerGoneAfter <= 0 {
		opts.ControllerGoneAfter = DefaultControllerGoneAfter
	}
	if opts.Recheck <= 0 {
		opts.Recheck = DefaultRecheck
	}
	if opts.MaxActionsPerPass <= 0 {
		opts.MaxActionsPerPass = 10
	}
	if opts.ClusterQPS <= 0 {
		opts.ClusterQPS = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	allowed := map[actions.Type]bool{}
	for _, t := range opts.Actions {
		if _, err := actions.ParseType(string(t)); err != nil {
			return nil, fmt.Errorf("remediate: %w", err)
		}
		allowed[t] = true
	}
	leak := map[string]bool{}
	for _, f := range opts.AllowFinalizers {
		leak[f] = true
	}
	r := &Reconciler{
		opts:    opts,
		gate:    Gate{Allowed: allowed, ControllerGoneAfter: opts.ControllerGoneAfter, AllowLeaking: leak, Veto: opts.Engine.Vetoes},
		limiter: flowcontrol.NewTokenBucketRateLimiter(opts.ClusterQPS, max(1, int(opts.ClusterQPS*10))),
		said:    map[string]string{},
	}
	return r, nil
}

// SetupWithManager registers the reconciler for namespaces being deleted.
// It runs on the leader only (controller-runtime's default): two replicas
// never act at once.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.client = mgr.GetClient()
	deleting := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetDeletionTimestamp() != nil })
	gone := predicate.Funcs{DeleteFunc: func(e event.DeleteEvent) bool { r.forget(e.Object.GetName()); return false }}
	return ctrl.NewControllerManagedBy(mgr).
		Named("nsguard-remediator").
		For(&corev1.Namespace{}, builder.WithPredicates(predicate.Or[client.Object](deleting, gone))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: 2,
			// Per namespace: back off on failures, from 5 s to 5 min.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Second, 5*time.Minute),
		}).
		Complete(r)
}

// Reconcile looks at one namespace.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := r.opts.Logger.WithValues("namespace", req.Name)
	ns := &corev1.Namespace{}
	if err := r.client.Get(ctx, req.NamespacedName, ns); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get namespace %s: %w", req.Name, err)
	}
	if ns.DeletionTimestamp == nil {
		r.forget(ns.Name)
		return reconcile.Result{}, nil
	}
	now := r.opts.Now()
	age := now.Sub(ns.DeletionTimestamp.Time)
	reason := StuckReason(ns)
	r.opts.Metrics.terminating(ns.Name, reason, age)
	switch {
	case age < r.opts.StuckAfter:
		return reconcile.Result{RequeueAfter: r.opts.StuckAfter - age}, nil
	case reason == "":
		// Terminating, but nothing reported left: the namespace controller
		// is at work.
		return reconcile.Result{RequeueAfter: r.opts.Recheck}, nil
	}
	r.opts.Metrics.stuck(ns.Name, reason)
	if r.opts.Mode == ModeOff {
		return reconcile.Result{RequeueAfter: r.opts.Recheck}, nil
	}
	if !r.enabled(ns) {
		r.say(ns, Candidate{}, ReasonDisabled, "stuck in Terminating (%s); remediation is disabled for this namespace (label %s=%s enables it)", reason, Label, LabelEnabled)
		return reconcile.Result{RequeueAfter: r.opts.Recheck}, nil
	}
	return r.remediate(ctx, log, ns, age, reason)
}

// StuckReason says why a Terminating namespace is not going away, from
// what the namespace controller reports and its own finalizers; "" when
// nothing is reported left.
func StuckReason(ns *corev1.Namespace) string {
	var reasons []string
	for _, c := range ns.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case corev1.NamespaceDeletionDiscoveryFailure, corev1.NamespaceDeletionContentFailure, corev1.NamespaceDeletionGVParsingFailure,
			corev1.NamespaceContentRemaining, corev1.NamespaceFinalizersRemaining:
			reasons = append(reasons, string(c.Type))
		}
	}
	if len(ns.Finalizers) > 0 {
		reasons = append(reasons, "NamespaceOwnFinalizers")
	}
	for _, f := range ns.Spec.Finalizers {
		if f != corev1.FinalizerKubernetes {
			reasons = append(reasons, "NamespaceSpecFinalizers")
			break
		}
	}
	sort.Strings(reasons)
	return strings.Join(reasons, ",")
}

func (r *Reconciler) enabled(ns *corev1.Namespace) bool {
	switch ns.Labels[Label] {
	case LabelEnabled:
		return true
	case LabelDisabled:
		return false
	}
	return r.opts.DefaultEnabled
}

// remediate diagnoses a stuck namespace and takes what the gate allows.
func (r *Reconciler) remediate(ctx context.Context, log logr.Logger, ns *corev1.Namespace, age time.Duration, reason string) (reconcile.Result, error) {
	s, err := r.opts.Source.Snapshot(ctx, ns.Name)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("snapshot of %s: %w", ns.Name, err)
	}
	findings, err := r.opts.Engine.Evaluate(ctx, s)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("evaluate policies on %s: %w", ns.Name, err)
	}
	report := diagnose.Build(s, findings, diagnose.Options{Catalog: r.opts.Engine.Catalog(), Now: r.opts.Now})
	cands := Candidates(s, report, r.opts.Engine.Catalog())

	since, err := r.opts.State.Load(ctx, ns.Name)
	if err != nil {
		return reconcile.Result{}, err
	}
	now := r.opts.Now()
	next := absentSince(AbsentSince(since, cands, now))
	if !sameState(since, next) {
		if err := r.opts.State.Save(ctx, ns.Name, next); err != nil {
			return reconcile.Result{}, err
		}
	}

	info := NamespaceInfo{Name: ns.Name, Labels: ns.Labels, Annotations: ns.Annotations}
	acted := 0
	var failed error
	for _, c := range cands {
		absentFor := time.Duration(0)
		if t, ok := next[c.Key()]; ok {
			absentFor = now.Sub(t)
		}
		v := r.gate.Judge(ctx, s, c, info, absentFor)
		if !v.Run {
			r.opts.Metrics.action(c.Action.Type, r.opts.Mode, "skipped")
			reason := ReasonRefused
			if v.Waiting {
				reason = ReasonWaiting
			}
			r.say(ns, c, reason, "will not %s: %s", c.Action.String(), v.Reason)
			continue
		}
		if r.opts.Mode == ModeDryRun {
			r.opts.Metrics.action(c.Action.Type, r.opts.Mode, "would-run")
			r.say(ns, c, ReasonWouldRun, "would %s%s: %s", c.Action.String(), absentWords(c, absentFor), v.Reason)
			continue
		}
		if acted == r.opts.MaxActionsPerPass || !r.limiter.TryAccept() {
			// The rest waits for the next pass.
			break
		}
		acted++
		if err := r.execute(ctx, log, ns, c, v, absentFor); err != nil {
			failed = errors.Join(failed, err)
		}
	}
	r.explainHeld(ns, s, report, cands)
	log.V(1).Info("pass", "age", age.Round(time.Second), "reason", reason, "candidates", len(cands), "acted", acted, "complete", s.Complete)
	if failed != nil {
		// Backs off, per namespace.
		return reconcile.Result{}, failed
	}
	return reconcile.Result{RequeueAfter: r.opts.Recheck}, nil
}

// execute runs one allowed action: its object's metadata first to the log
// and an Event, then the action, then its result.
func (r *Reconciler) execute(ctx context.Context, log logr.Logger, ns *corev1.Namespace, c Candidate, v Verdict, absentFor time.Duration) error {
	a := c.Action
	before, err := r.opts.Executor.Read(ctx, a)
	if errors.Is(err, ErrGone) {
		return nil
	}
	if err != nil {
		r.opts.Metrics.action(a.Type, r.opts.Mode, "failed")
		return err
	}
	log.Info("remediating", "action", a.Type, "target", a.Target.String(), "finalizer", a.Finalizer, "before", before.String(), "evidence", v.Reason)
	r.event(ns, c, corev1.EventTypeNormal, ReasonRemediating, "about to %s%s; its metadata before: %s; evidence: %s", a.String(), absentWords(c, absentFor), before, v.Reason)
	if err := r.opts.Executor.Execute(ctx, a); err != nil {
		r.opts.Metrics.action(a.Type, r.opts.Mode, "failed")
		log.Error(err, "remediation failed", "action", a.Type, "target", a.Target.String())
		r.event(ns, c, corev1.EventTypeWarning, ReasonFailed, "could not %s: %v", a.String(), err)
		return err
	}
	r.opts.Metrics.action(a.Type, r.opts.Mode, "executed")
	log.Info("remediated", "action", a.Type, "target", a.Target.String(), "finalizer", a.Finalizer)
	r.event(ns, c, corev1.EventTypeNormal, ReasonRemediated, "did %s", a.String())
	return nil
}

// explainHeld says, for each finalizer that holds the namespace and that no
// action of the plan may remove (its controller is alive, down or unknown),
// why nothing is done about it: the Event a person looks for first.
func (r *Reconciler) explainHeld(ns *corev1.Namespace, s *inventory.Snapshot, report *diagnose.Report, cands []Candidate) {
	planned := map[string]bool{}
	for _, c := range cands {
		if c.Action.Type == actions.RemoveFinalizer {
			planned[c.Action.Finalizer] = true
		}
	}
	for _, f := range report.Finalizers {
		if planned[f.Name] || f.Liveness == inventory.LivenessAbsent || f.Removal == diagnose.RemovalNever {
			continue
		}
		c := Candidate{Action: actions.Action{Type: actions.RemoveFinalizer, Finalizer: f.Name}}
		for _, b := range report.Objects {
			if contains(b.Finalizers, f.Name) {
				c.Action.Target = actions.TargetOf(b.Object, uidOf(s, b.Object))
				break
			}
		}
		r.say(ns, c, ReasonRefused, "will not remove finalizer %s from %d object(s): its controller is %s (%s)",
			f.Name, f.Objects, f.Liveness, strings.Join(f.Evidence, "; "))
	}
}

func uidOf(s *inventory.Snapshot, ref inventory.ObjectRef) string {
	if ref.ID >= 0 && ref.ID < len(s.Objects) {
		return s.Objects[ref.ID].Metadata.UID
	}
	return ""
}

func contains(l []string, x string) bool {
	for _, v := range l {
		if v == x {
			return true
		}
	}
	return false
}

// Reasons of the remediator's Events.
const (
	ReasonDisabled    = "RemediationDisabled"
	ReasonWaiting     = "RemediationWaiting"
	ReasonRefused     = "RemediationRefused"
	ReasonWouldRun    = "WouldRemediate"
	ReasonRemediating = "Remediating"
	ReasonRemediated  = "Remediated"
	ReasonFailed      = "RemediationFailed"
)

// say writes an Event when the message for a candidate changes.
func (r *Reconciler) say(ns *corev1.Namespace, c Candidate, reason, note string, args ...any) {
	msg := fmt.Sprintf(note, args...)
	k := ns.Name + "\x00" + c.Key()
	r.mu.Lock()
	same := r.said[k] == reason+msg
	r.said[k] = reason + msg
	r.mu.Unlock()
	if !same {
		r.event(ns, c, corev1.EventTypeNormal, reason, "%s", msg)
	}
}

// event records an Event about the namespace, related to the candidate's
// object: events.k8s.io groups Events by what they regard, what they
// relate to, their reason and their action, so each candidate and each
// kind of answer gets a series of its own. Events about the object itself
// cannot be written: its namespace is Terminating and accepts no new
// objects.
func (r *Reconciler) event(ns *corev1.Namespace, c Candidate, typ, reason, note string, args ...any) {
	if r.opts.Recorder == nil {
		return
	}
	msg := eventNote(fmt.Sprintf(note, args...))
	action := actionName(c.Action)
	var related runtime.Object
	if r := relatedObject(c.Action); r != nil {
		related = r
	}
	r.opts.Recorder.Eventf(ns, related, typ, reason, action, "%s", msg)
}

// forget drops what is kept of a namespace that is gone or no longer
// being deleted.
func (r *Reconciler) forget(name string) {
	r.mu.Lock()
	for k := range r.said {
		if strings.HasPrefix(k, name+"\x00") {
			delete(r.said, k)
		}
	}
	r.mu.Unlock()
	r.opts.Metrics.forget(name)
	if r.opts.State != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.opts.State.Save(ctx, name, nil)
	}
}

func absentWords(c Candidate, absentFor time.Duration) string {
	if c.Action.Type != actions.RemoveFinalizer {
		return ""
	}
	return fmt.Sprintf(": no controller has been able to handle it for %s", absentFor.Round(time.Second))
}

func sameState(a, b absentSince) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}
