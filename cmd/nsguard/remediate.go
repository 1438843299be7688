package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/remediate"
)

// defaultRemediationActions are what `nsguard remediate` may run unless
// told otherwise: a person runs it on purpose, for one namespace, after
// reading the plan, so every action type the remediator can run is on;
// the gate still decides, action by action.
var defaultRemediationActions = []string{
	string(actions.RemoveFinalizer), string(actions.DeleteAPIService),
	string(actions.DeleteWebhookConfiguration), string(actions.PatchWebhookFailurePolicy),
}

// goneRecheck is how often remediate diagnoses again while it waits for a
// controller to stay absent for --controller-gone-after.
const goneRecheck = 5 * time.Second

type remediateOptions struct {
	cluster             *clusterFlags
	act                 actFlags
	actionTypes         []string
	allowFinalizers     []string
	controllerGoneAfter time.Duration
}

func newRemediateCommand(s *streams) *cobra.Command {
	o := &remediateOptions{cluster: newClusterFlags(), act: newActFlags()}
	cmd := &cobra.Command{
		Use:   "remediate NAMESPACE",
		Short: "Un-stick a namespace stuck in Terminating: run the remediator's plan once, with its safety rules",
		Long: `Remediate runs, once and from a terminal, what the remediator of nsguard serve
does for a namespace stuck in Terminating.

It diagnoses the namespace (the same analysis as nsguard diagnose), and judges
every action of the fix plan with the remediator's own gate, whose rules are
Go code that no flag or policy can loosen:

  - a finalizer is removed only when its controller is proven absent now
    (alive, down or unknown: never), and, when the finalizer catalog says
    removing it leaks something or does not know it, only when it is named
    in --allow-finalizer;
  - an APIService or a webhook configuration is deleted or made to fail
    open only when the Service behind it is gone for good;
  - policies may veto any action (data.nsguard.remediation.veto);
  - steps for a person (scaling a controller up, switching a CRD's
    conversion off, deleting objects) are never run.

It prints each action it may run as the kubectl command it amounts to, with
its evidence, and each one it refuses with the reason; then, on a terminal,
it asks before acting (--yes for scripts, --dry-run to only print). Each
object's metadata is read and printed before it is changed (the audit
record), and every change carries its guard: a JSON-patch test of the
object's UID and of the value it removes, or a UID precondition. It never
uses the namespace's finalize subresource.

Then it waits, up to --timeout, for the namespace to go; if it does not, it
diagnoses it again and says what still holds it.

Because a person runs it on purpose, for one namespace, it may run every
action type the remediator can run (--remediation-actions) and needs no
waiting period (--controller-gone-after 0): the controller must still be
proven absent at the moment it acts. A namespace that is not being deleted
is refused: use nsguard delete, the safe teardown, instead.

Exit codes: 0 the namespace is gone (or nothing holds it and there was
nothing to do), 1 something still holds it (or the confirmation was
declined, or --dry-run), 2 usage or connection error (a missing namespace,
one that is not being deleted, no terminal to confirm on and no --yes),
3 the diagnosis was incomplete and nothing was done.`,
		Example: `  # What would nsguard do about "legacy", stuck in Terminating? (changes nothing)
  nsguard remediate legacy --dry-run

  # Do it: ask, then remove the orphaned finalizers whose controllers are proven gone
  kubectl nsguard remediate legacy

  # A finalizer the catalog does not know, whose protected resources you cleaned up by hand
  nsguard remediate legacy --allow-finalizer example.com/cleanup --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runRemediate(ctx, s, o, args)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.actionTypes, "remediation-actions", defaultRemediationActions, "action types that may run, each still judged by the gate (one or more of: "+typeNames()+")")
	f.StringSliceVar(&o.allowFinalizers, "allow-finalizer", nil, "finalizers (names or catalog ids) that may be removed although the catalog says removing them leaks something, or does not know them")
	f.DurationVar(&o.controllerGoneAfter, "controller-gone-after", 0, "how long a finalizer's controller must be seen absent before its finalizer is removed: remediate diagnoses again every 5s until then (0: proven absent now)")
	o.act.register(cmd, 2*time.Minute, "for the namespace to go after the actions")
	o.cluster.register(cmd, "remediate")
	return cmd
}

func typeNames() string {
	var names []string
	for _, t := range actions.Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

func (o *remediateOptions) gate(veto func(context.Context, map[string]any) ([]string, error)) (remediate.Gate, error) {
	g := remediate.Gate{Allowed: map[actions.Type]bool{}, ControllerGoneAfter: o.controllerGoneAfter, AllowLeaking: map[string]bool{}, Veto: veto}
	for _, a := range o.actionTypes {
		t, err := actions.ParseType(strings.TrimSpace(a))
		if err != nil {
			return g, fmt.Errorf("--remediation-actions: %w", err)
		}
		g.Allowed[t] = true
	}
	for _, f := range o.allowFinalizers {
		g.AllowLeaking[f] = true
	}
	if o.controllerGoneAfter < 0 {
		return g, fmt.Errorf("--controller-gone-after %s: want 0 or more", o.controllerGoneAfter)
	}
	return g, nil
}

func runRemediate(ctx context.Context, s *streams, o *remediateOptions, args []string) error {
	namespace, err := o.cluster.namespace(args, "remediate")
	if err != nil {
		return withCode(exitUsage, err)
	}
	if _, err := o.gate(nil); err != nil {
		return withCode(exitUsage, err)
	}
	if err := o.act.validate(); err != nil {
		return withCode(exitUsage, err)
	}
	ss, err := o.cluster.connect(ctx, s, &o.act, namespace)
	if err != nil {
		return err
	}
	gate, _ := o.gate(ss.engine.Vetoes)

	res, judged, err := o.judgeAll(ctx, ss, gate)
	if err != nil {
		return err
	}
	r := res.Report
	writeSummary(s.Out, r)
	var run []actions.Action
	for _, j := range judged {
		if j.v.Run {
			run = append(run, j.c.Action)
		}
	}
	writeRemediationPlan(s.Out, judged, leftAlone(r, judged))
	if len(run) == 0 {
		fmt.Fprintln(s.Out, "\nNothing that nsguard may do.")
		return nothingDone(r)
	}
	if o.act.dryRun {
		fmt.Fprintln(s.Out, "\nDry run: nothing was changed.")
		return nothingDone(r)
	}
	ok, err := confirm(s.In, s.Out, o.act.terminal(s.In), o.act.yes, fmt.Sprintf("Run %s on namespace %s?", countOf(len(run), "action"), namespace))
	if err != nil {
		return withCode(exitUsage, err)
	}
	if !ok {
		fmt.Fprintln(s.Out, "Nothing was changed.")
		return nothingDone(r)
	}

	began := time.Now()
	fmt.Fprintln(s.Out, "\nRunning:")
	done, _ := ss.execute(ctx, run)
	if done == 0 {
		fmt.Fprintln(s.Out, "\nNo action succeeded; namespace "+namespace+" is still held.")
		return withCode(exitFindings, nil)
	}
	return ss.waitGoneOrExplain(ctx, began.Add(o.act.timeout), "Run nsguard remediate "+namespace+" again once that is resolved.")
}

// judgedAction is a candidate of the plan with the gate's verdict.
type judgedAction struct {
	c remediate.Candidate
	v remediate.Verdict
}

// judgeAll diagnoses the namespace and judges every candidate. With
// --controller-gone-after, it diagnoses again every goneRecheck until each
// removal's controller has been seen absent, on every pass, for that
// long: the remediator's rule, observed from here.
func (o *remediateOptions) judgeAll(ctx context.Context, ss *session, gate remediate.Gate) (*diagnose.Result, []judgedAction, error) {
	since := map[string]time.Time{}
	p := ss.newProgress()
	defer p.end()
	for {
		res, err := ss.diagnose(ctx)
		if errors.Is(err, inventory.ErrNamespaceNotFound) {
			return nil, nil, withCode(exitUsage, fmt.Errorf("namespace %q not found", ss.namespace))
		}
		if err != nil {
			return nil, nil, withCode(exitUsage, err)
		}
		if res.Report.State != diagnose.StateTerminating {
			return nil, nil, withCode(exitUsage, fmt.Errorf("namespace %s is not being deleted: use nsguard delete %s (remediate is for namespaces stuck in Terminating)", ss.namespace, ss.namespace))
		}
		ns, err := ss.readNamespace(ctx)
		if err != nil {
			return nil, nil, err
		}
		info := remediate.NamespaceInfo{Name: ns.Name, Labels: ns.Labels, Annotations: ns.Annotations}
		cands := remediate.Candidates(res.Snapshot, res.Report, ss.engine.Catalog())
		now := time.Now()
		since = remediate.AbsentSince(since, cands, now)
		var out []judgedAction
		waiting := 0
		var least time.Duration
		for _, c := range cands {
			absentFor := time.Duration(0)
			if t, ok := since[c.Key()]; ok {
				absentFor = now.Sub(t)
			}
			v := gate.Judge(ctx, res.Snapshot, c, info, absentFor)
			if v.Waiting {
				if waiting == 0 || absentFor < least {
					least = absentFor
				}
				waiting++
			}
			out = append(out, judgedAction{c: c, v: v})
		}
		if waiting == 0 {
			return res, out, nil
		}
		line := fmt.Sprintf("waiting until the controllers of %s have been absent for %s (--controller-gone-after): %s so far",
			countOf(waiting, "removal"), o.controllerGoneAfter, least.Round(time.Second))
		p.show(line, line)
		select {
		case <-ctx.Done():
			return nil, nil, withCode(exitUsage, ctx.Err())
		case <-time.After(min(goneRecheck, o.controllerGoneAfter-least)):
		}
	}
}

// leftAlone says, for each finalizer that holds the namespace and that no
// action of the plan removes, why nsguard leaves it there.
func leftAlone(r *diagnose.Report, judged []judgedAction) []string {
	planned := map[string]bool{}
	for _, j := range judged {
		if j.c.Action.Type == actions.RemoveFinalizer {
			planned[j.c.Action.Finalizer] = true
		}
	}
	var out []string
	for _, f := range r.Finalizers {
		if planned[f.Name] {
			continue
		}
		switch {
		case f.Removal == diagnose.RemovalNever:
			out = append(out, fmt.Sprintf("finalizer %s on %s: %s", f.Name, countOf(f.Objects, "object"), f.RemovalReason))
		case f.Liveness == inventory.LivenessAbsent:
			out = append(out, fmt.Sprintf("finalizer %s on %s: its controller is absent, but no action nsguard may run removes it: %s", f.Name, countOf(f.Objects, "object"), f.RemovalReason))
		default:
			why := f.Liveness
			if len(f.Evidence) > 0 {
				why += " (" + strings.Join(f.Evidence, "; ") + ")"
			}
			out = append(out, fmt.Sprintf("will not remove finalizer %s from %s: its controller is %s", f.Name, countOf(f.Objects, "object"), why))
		}
	}
	return out
}

// writeRemediationPlan prints the actions that may run, as kubectl
// commands with their evidence, then those refused and the finalizers left
// alone, each with why.
func writeRemediationPlan(w io.Writer, judged []judgedAction, alone []string) {
	var run, refused []judgedAction
	for _, j := range judged {
		if j.v.Run {
			run = append(run, j)
		} else {
			refused = append(refused, j)
		}
	}
	fmt.Fprintf(w, "\nPlan: %s to run, %s\n", countOf(len(run), "action"), countOf(len(refused)+len(alone), "refusal"))
	for i, j := range run {
		fmt.Fprintf(w, "  %d. %s\n", i+1, j.c.Action.String())
		if j.c.Step != "" {
			fmt.Fprintf(w, "     step:     %s\n", j.c.Step)
		}
		fmt.Fprintf(w, "     evidence: %s\n", j.v.Reason)
		if cmd, err := actions.Command(j.c.Action); err == nil {
			fmt.Fprintf(w, "     $ %s\n", cmd)
		}
	}
	if len(refused)+len(alone) == 0 {
		return
	}
	fmt.Fprintln(w, "\nRefused:")
	for _, j := range refused {
		fmt.Fprintf(w, "  - will not %s: %s\n", j.c.Action.String(), j.v.Reason)
	}
	for _, a := range alone {
		fmt.Fprintf(w, "  - %s\n", a)
	}
}

// nothingDone is the exit of a run that changed nothing: 3 when the
// diagnosis was incomplete, 1 when something holds the namespace, 0 when
// nothing does.
func nothingDone(r *diagnose.Report) error {
	switch {
	case !r.Complete:
		return withCode(exitIncomplete, nil)
	case held(r):
		return withCode(exitFindings, nil)
	}
	return nil
}

// held tells whether something is known to hold the namespace: a blocking
// finding, or objects that still carry finalizers.
func held(r *diagnose.Report) bool {
	return r.Blocked || len(r.Objects) > 0
}

// writeSummary prints the short form of a diagnosis: the state and
// verdict, the root cause, the objects that carry finalizers, what was not
// checked, and where the full report is.
func writeSummary(w io.Writer, r *diagnose.Report) {
	deny := 0
	for _, f := range r.Findings {
		if f.Severity == policies.SeverityDeny {
			deny++
		}
	}
	state := r.State
	if r.State == diagnose.StateTerminating {
		state += " for " + (time.Duration(r.TerminatingSeconds) * time.Second).String()
	}
	var verdict string
	switch {
	case deny > 0 && r.State == diagnose.StateTerminating:
		verdict = "BLOCKED (" + countOf(deny, "blocking finding") + ")"
	case deny > 0:
		verdict = "WOULD BLOCK: deleting it now would hang (" + countOf(deny, "blocking finding") + ")"
	case r.State == diagnose.StateTerminating:
		verdict = "NOT BLOCKED: no rule finds anything that holds it up"
	default:
		verdict = "OK: nothing would block its deletion"
	}
	if !r.Complete {
		verdict += ", INCOMPLETE"
	}
	fmt.Fprintf(w, "Namespace %s: %s, %s\n", r.Namespace, state, verdict)
	for _, c := range r.RootCause {
		fmt.Fprintf(w, "  - %s\n", c)
	}
	if n := len(r.Objects); n > 0 {
		var names []string
		for i, o := range r.Objects {
			if i == 5 {
				names = append(names, fmt.Sprintf("and %d more", n-i))
				break
			}
			fins := append(append([]string(nil), o.Finalizers...), o.SpecFinalizers...)
			name := o.Object.GroupKind() + " " + o.Object.Name
			if o.Object.Namespace != "" {
				name = o.Object.GroupKind() + " " + o.Object.Namespace + "/" + o.Object.Name
			}
			names = append(names, name+" ("+strings.Join(fins, ", ")+")")
		}
		fmt.Fprintf(w, "  %s with finalizers: %s\n", countOf(n, "object"), strings.Join(names, ", "))
	}
	if !r.Complete {
		fmt.Fprintf(w, "  Not checked: %s\n", strings.Join(r.Incomplete, "; "))
	}
	fmt.Fprintf(w, "  Full report and plan: %s\n", actions.Diagnose(r.Namespace))
}

// confirm asks the person at the terminal before acting. yes answers for
// them; without a terminal to ask on, it is an error: nothing is done
// unless someone said so.
func confirm(in io.Reader, out io.Writer, interactive, yes bool, question string) (bool, error) {
	if yes {
		return true, nil
	}
	if !interactive {
		return false, errors.New("refusing to act without confirmation: standard input is not a terminal; pass --yes to run the actions above, or --dry-run to only print them")
	}
	fmt.Fprintf(out, "\n%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	if errors.Is(err, io.EOF) && line == "" {
		fmt.Fprintln(out)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// clusterFlags are the flags of the commands that act on a live cluster:
// kubectl's connection flags (bound as in diagnose), the policies, and
// what each diagnosis may take.
type clusterFlags struct {
	workers         int
	cacheDir        string
	diagnoseTimeout time.Duration
	verbosity       int
	policyDirs      []string
	dataFiles       []string
	loading         *clientcmd.ClientConfigLoadingRules
	overrides       *clientcmd.ConfigOverrides
}

func newClusterFlags() *clusterFlags {
	return &clusterFlags{loading: clientcmd.NewDefaultClientConfigLoadingRules(), overrides: &clientcmd.ConfigOverrides{}}
}

func (c *clusterFlags) register(cmd *cobra.Command, verb string) {
	f := cmd.Flags()
	f.DurationVar(&c.diagnoseTimeout, "diagnose-timeout", 30*time.Second, "time allowed for reading the cluster in each diagnosis; after it the diagnosis is marked incomplete")
	f.IntVar(&c.workers, "workers", inventory.DefaultClusterWorkers, "API requests in flight at once while diagnosing")
	f.StringVar(&c.cacheDir, "cache-dir", inventory.DefaultCacheDir(), `directory of the per-cluster CRD cache; "" reads every CRD in full`)
	f.IntVarP(&c.verbosity, "verbose", "v", 0, "log level on standard error: 1 shows the inventory's progress and timing")
	f.StringArrayVar(&c.policyDirs, "policy", nil, "directory or file of additional Rego policies (repeatable); they may veto actions")
	f.StringArrayVar(&c.dataFiles, "data", nil, "JSON or YAML data file for the policies, e.g. finalizer catalog entries (repeatable)")
	f.StringVar(&c.loading.ExplicitPath, clientcmd.RecommendedConfigPathFlag, "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	clientcmd.BindOverrideFlags(c.overrides, f, clientcmd.RecommendedConfigOverrideFlags(""))
	f.Lookup(clientcmd.FlagNamespace).Usage = "the namespace to " + verb + ", as an alternative to the argument"
}

// namespace is the argument, or kubectl's -n when given instead.
func (c *clusterFlags) namespace(args []string, verb string) (string, error) {
	return namespaceArg(args, c.overrides.Context.Namespace, verb)
}

// namespaceArg is the namespace a command names: its argument, or
// kubectl's -n flag (flagNS) when given instead, never two different ones.
func namespaceArg(args []string, flagNS, verb string) (string, error) {
	switch {
	case len(args) == 1 && flagNS != "" && flagNS != args[0]:
		return "", fmt.Errorf("namespace given twice: %q and -n %q", args[0], flagNS)
	case len(args) == 1:
		return args[0], nil
	case flagNS != "":
		return flagNS, nil
	}
	return "", fmt.Errorf("which namespace? usage: nsguard %s NAMESPACE", verb)
}

func (c *clusterFlags) validate() error {
	if c.workers < 1 {
		return errors.New("--workers must be at least 1")
	}
	if c.diagnoseTimeout <= 0 {
		return errors.New("--diagnose-timeout must be more than 0")
	}
	return nil
}

func (c *clusterFlags) logger(w io.Writer) logr.Logger {
	if c.verbosity <= 0 {
		return logr.Discard()
	}
	return funcr.New(func(prefix, args string) { fmt.Fprintln(w, prefix, args) }, funcr.Options{Verbosity: c.verbosity})
}

// actFlags are how remediate and delete act: confirmation, dry run, and
// how long they wait.
type actFlags struct {
	yes, dryRun bool
	timeout     time.Duration
	// terminal tells whether a stream is a terminal; tests replace it.
	terminal func(any) bool
	// poll is how often a wait looks again.
	poll time.Duration
}

func newActFlags() actFlags {
	return actFlags{terminal: isTerminal, poll: 500 * time.Millisecond}
}

func (a *actFlags) register(cmd *cobra.Command, timeout time.Duration, waitFor string) {
	f := cmd.Flags()
	f.BoolVarP(&a.yes, "yes", "y", false, "do not ask for confirmation (for scripts)")
	f.BoolVar(&a.dryRun, "dry-run", false, "only print the plan; change nothing")
	f.DurationVar(&a.timeout, "timeout", timeout, "how long to wait "+waitFor)
}

func (a *actFlags) validate() error {
	if a.timeout <= 0 {
		return fmt.Errorf("--timeout %s: want more than 0", a.timeout)
	}
	return nil
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// session is one run of remediate or delete against one namespace.
type session struct {
	out       io.Writer
	errOut    io.Writer
	namespace string
	flags     *clusterFlags
	act       *actFlags
	cfg       *rest.Config
	kube      kubernetes.Interface
	dyn       dynamic.Interface
	exec      *remediate.Executor
	engine    *lazyEngine
	log       logr.Logger
}

// connect loads the kubeconfig, makes the clients and starts compiling the
// policies.
func (c *clusterFlags) connect(ctx context.Context, s *streams, act *actFlags, namespace string) (*session, error) {
	if err := c.validate(); err != nil {
		return nil, withCode(exitUsage, err)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(c.loading, c.overrides).ClientConfig()
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("load kubeconfig: %w", err))
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("client: %w", err))
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("client: %w", err))
	}
	engine, err := compileWhileListing(ctx, policies.Options{PolicyDirs: c.policyDirs, DataFiles: c.dataFiles})
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("load policies: %w", err))
	}
	return &session{
		out: s.Out, errOut: s.ErrOut, namespace: namespace, flags: c, act: act, cfg: cfg, kube: kube, dyn: dyn,
		exec:   &remediate.Executor{Client: dyn, FieldManager: "nsguard"},
		engine: engine, log: c.logger(s.ErrOut),
	}, nil
}

// Vetoes asks the policies whether a remediation action may run.
func (l *lazyEngine) Vetoes(ctx context.Context, input map[string]any) ([]string, error) {
	<-l.done
	if l.err != nil {
		return nil, fmt.Errorf("load policies: %w", l.err)
	}
	return l.engine.Vetoes(ctx, input)
}

func (ss *session) diagnose(ctx context.Context) (*diagnose.Result, error) {
	return diagnose.Run(ctx, ss.cfg, ss.namespace, ss.engine, diagnose.RunOptions{
		Timeout: ss.flags.diagnoseTimeout,
		Cluster: inventory.ClusterOptions{Workers: ss.flags.workers, Logger: ss.log, CacheDir: ss.flags.cacheDir, NoCache: ss.flags.cacheDir == ""},
	})
}

// readNamespace reads the namespace: its UID guards its deletion, and its
// labels and annotations are what the policies' vetoes see.
func (ss *session) readNamespace(ctx context.Context) (*corev1.Namespace, error) {
	ns, err := ss.kube.CoreV1().Namespaces().Get(ctx, ss.namespace, metav1.GetOptions{})
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("read namespace %s: %w", ss.namespace, err))
	}
	return ns, nil
}

// execute runs actions in order through the executor, each with its audit
// record: its object's metadata, read just before the change, printed and
// written to an Event on the namespace, as the remediator controller does
// (the API server's audit log says who made the change; the Events say why,
// and what the object was). It returns how many succeeded (or found nothing
// left to do) and the failures.
func (ss *session) execute(ctx context.Context, list []actions.Action) (int, error) {
	rec := ss.recorder(ctx)
	done := 0
	var errs []error
	for i, a := range list {
		fmt.Fprintf(ss.out, "  %d. %s\n", i+1, a.String())
		if a.Type != actions.DeleteAll {
			before, err := ss.exec.Read(ctx, a)
			if errors.Is(err, remediate.ErrGone) {
				fmt.Fprintf(ss.out, "     nothing to do: %v\n", err)
				done++
				continue
			}
			if err != nil {
				fmt.Fprintf(ss.out, "     failed: %v\n", err)
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(ss.out, "     before: %s\n", before)
			rec.event(ctx, a, corev1.EventTypeNormal, remediate.ReasonRemediating, fmt.Sprintf("about to %s; its metadata before: %s", a.String(), before))
		} else {
			rec.event(ctx, a, corev1.EventTypeNormal, remediate.ReasonRemediating, "about to "+a.String())
		}
		if err := ss.exec.Execute(ctx, a); err != nil {
			fmt.Fprintf(ss.out, "     failed: %v\n", err)
			rec.event(ctx, a, corev1.EventTypeWarning, remediate.ReasonFailed, fmt.Sprintf("could not %s: %v", a.String(), err))
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(ss.out, "     done")
		rec.event(ctx, a, corev1.EventTypeNormal, remediate.ReasonRemediated, "did "+a.String())
		done++
	}
	return done, errors.Join(errs...)
}

// eventController is the reportingController of the command line's Events
// (the controller's are nsguard-remediator's).
const eventController = "nsguard.io/cli"

// eventRecorder writes the command line's Events about one namespace. The
// first Event that cannot be written (no permission to create Events in
// "default", say) is reported once on standard error; the actions go on.
type eventRecorder struct {
	ss       *session
	ns       *corev1.Namespace
	instance string
	off      bool
}

func (ss *session) recorder(ctx context.Context) *eventRecorder {
	r := &eventRecorder{ss: ss, instance: "nsguard"}
	if h, err := os.Hostname(); err == nil && h != "" {
		r.instance = "nsguard@" + h
		if len(r.instance) > 128 {
			r.instance = r.instance[:128]
		}
	}
	ns, err := ss.readNamespace(ctx)
	if err != nil {
		r.off = true // gone already: nothing to record about
		return r
	}
	r.ns = ns
	return r
}

func (r *eventRecorder) event(ctx context.Context, a actions.Action, typ, reason, note string) {
	if r.off {
		return
	}
	ev := remediate.EventFor(r.ns, a, typ, reason, eventController, r.instance, note, time.Now())
	if _, err := r.ss.kube.EventsV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		r.off = true
		fmt.Fprintf(r.ss.errOut, "warning: the steps are not recorded as Events on namespace %s: %v\n", r.ns.Name, err)
	}
}

// waitGoneOrExplain waits until the namespace is gone or the deadline
// passes; then it diagnoses it again and says what still holds it, and
// next (exit 1).
func (ss *session) waitGoneOrExplain(ctx context.Context, deadline time.Time, next string) error {
	fmt.Fprintf(ss.out, "\nWaiting up to %s for namespace %s to go:\n", time.Until(deadline).Round(time.Second), ss.namespace)
	began := time.Now()
	gone, err := ss.waitNamespaceGone(ctx, deadline)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if gone {
		fmt.Fprintf(ss.out, "Namespace %s is gone (%s).\n", ss.namespace, time.Since(began).Round(100*time.Millisecond))
		return nil
	}
	res, err := ss.diagnose(ctx)
	if errors.Is(err, inventory.ErrNamespaceNotFound) {
		fmt.Fprintf(ss.out, "Namespace %s is gone.\n", ss.namespace)
		return nil
	}
	if err != nil {
		return withCode(exitUsage, err)
	}
	fmt.Fprintf(ss.out, "\nNamespace %s is still there after %s. What holds it:\n", ss.namespace, time.Since(began).Round(time.Second))
	writeSummary(ss.out, res.Report)
	fmt.Fprintln(ss.out, next)
	return withCode(exitFindings, nil)
}

// waitNamespaceGone polls the namespace until it is gone (true) or the
// deadline passes (false), with a progress line: the objects the namespace
// controller reports left and its conditions.
func (ss *session) waitNamespaceGone(ctx context.Context, deadline time.Time) (bool, error) {
	p := ss.newProgress()
	defer p.end()
	began := time.Now()
	for {
		ns, err := ss.kube.CoreV1().Namespaces().Get(ctx, ss.namespace, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			p.show("error "+err.Error(), "cannot read the namespace: "+err.Error())
		default:
			status := namespaceProgress(ns)
			p.show(status, fmt.Sprintf("%s (%s)", status, time.Since(began).Round(time.Second)))
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(min(ss.act.poll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

var resourceInstances = regexp.MustCompile(`has (\d+) resource instances`)

// namespaceProgress words what the namespace controller reports of a
// namespace being deleted: the objects left, and its true conditions.
func namespaceProgress(ns *corev1.Namespace) string {
	parts := []string{"namespace " + ns.Name + ": " + string(ns.Status.Phase)}
	left, counted := 0, false
	var conds []string
	for _, c := range ns.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		if c.Type == corev1.NamespaceContentRemaining {
			for _, m := range resourceInstances.FindAllStringSubmatch(c.Message, -1) {
				n, _ := strconv.Atoi(m[1])
				left += n
				counted = true
			}
		}
		conds = append(conds, string(c.Type)+": "+c.Message)
	}
	if counted {
		parts = append(parts, countOf(left, "object")+" left")
	}
	parts = append(parts, conds...)
	return strings.Join(parts, "; ")
}

// progress shows a status that changes while a command waits: one line
// rewritten in place on a terminal, a line per change otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	width int
	last  string
	shown bool
}

func (ss *session) newProgress() *progress {
	p := &progress{w: ss.out, tty: ss.act.terminal(ss.out), width: 120}
	if f, ok := ss.out.(*os.File); ok && p.tty {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			p.width = w - 1
		}
	}
	return p
}

// show displays line; key is what counts as a change (line without the
// elapsed time).
func (p *progress) show(key, line string) {
	if p.tty {
		if r := []rune(line); len(r) > p.width {
			line = string(r[:p.width-1]) + "…"
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.shown = true
		return
	}
	if key != p.last {
		fmt.Fprintf(p.w, "  %s\n", line)
		p.last = key
	}
}

func (p *progress) end() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
