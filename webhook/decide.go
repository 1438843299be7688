package webhook

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
)

// Results of a decision, as logged and counted.
const (
	ResultAllowed     = "allowed"     // nothing found
	ResultWarned      = "warned"      // allowed, with warnings
	ResultDenied      = "denied"      // enforce, deny findings
	ResultWouldDeny   = "would-deny"  // dryrun or warn mode: enforce would have denied
	ResultBreakGlass  = "break-glass" // deny findings, let through by break-glass
	ResultTerminating = "terminating" // already being deleted: not checked
	ResultExcluded    = "excluded"    // excluded namespace: not checked
	ResultSelf        = "self"        // nsguard's own request: not checked
	ResultUnchecked   = "unchecked"   // no decision in time, or an error: allowed
)

// DefaultBudget is how long a decision may take. The API server waits for
// the webhook up to its configuration's timeoutSeconds (10 s by default,
// 30 at most) and then applies its failurePolicy; nsguard answers well
// before, so that a slow cluster yields an allow with a warning rather
// than a timeout.
const DefaultBudget = 3 * time.Second

// Evaluator evaluates the rules (a *policies.Engine).
type Evaluator interface {
	EvaluateWithWaivers(ctx context.Context, s *inventory.Snapshot) ([]policies.Finding, error)
}

// Options configure a Decider.
type Options struct {
	Source inventory.Source
	Engine Evaluator
	Config *Config
	// Mode overrides Config.Mode when set; the default is enforce.
	Mode string
	// Budget bounds a decision (DefaultBudget when 0).
	Budget time.Duration
	// Self are nsguard's own user names: their deletions are not checked.
	Self []string
	// Catalog is the engine's finalizer catalog, for the denial's plan
	// (default: the built-in one).
	Catalog *catalog.Catalog
	Metrics *Metrics
	Logger  logr.Logger
}

// Decider decides on namespace deletions.
type Decider struct {
	opts Options
	mode string
}

// NewDecider checks the options and returns a Decider.
func NewDecider(opts Options) (*Decider, error) {
	if opts.Source == nil || opts.Engine == nil {
		return nil, errors.New("webhook: a source and an engine are required")
	}
	if opts.Config == nil {
		opts.Config = &Config{}
		if err := opts.Config.validate(); err != nil {
			return nil, err
		}
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	mode := opts.Mode
	if mode == "" {
		mode = opts.Config.Mode
	}
	if mode == "" {
		mode = ModeEnforce
	}
	switch mode {
	case ModeEnforce, ModeWarn, ModeDryRun:
	default:
		return nil, fmt.Errorf("webhook: mode %q: want enforce, warn or dryrun", mode)
	}
	return &Decider{opts: opts, mode: mode}, nil
}

// Mode is the mode in force.
func (d *Decider) Mode() string { return d.mode }

// Request is who asks, as the API server says.
type Request struct {
	User   string
	Groups []string
	DryRun bool
}

// Decision is the answer to one DELETE.
type Decision struct {
	Allowed bool
	// Message explains a denial.
	Message string
	// Warnings are shown by kubectl, most important first.
	Warnings []string
	// Audit are audit annotations on the admission response.
	Audit  map[string]string
	Result string
	// Rules are the rules that found something (after overrides).
	Rules []string
	// Complete is false when the snapshot left something unchecked.
	Complete bool
	Reason   string
}

// Decide decides on the deletion of ns. It never fails: a decision that
// cannot be made in time, or at all, allows with a warning that says so.
func (d *Decider) Decide(ctx context.Context, req Request, ns *corev1.Namespace) Decision {
	began := time.Now()
	dec := d.decide(ctx, req, ns)
	d.record(req, ns.Name, dec, time.Since(began))
	return dec
}

func (d *Decider) decide(ctx context.Context, req Request, ns *corev1.Namespace) Decision {
	switch {
	case ns.DeletionTimestamp != nil:
		// A repeated DELETE, or the namespace controller's own final one:
		// refusing it would cause the very hang nsguard prevents.
		return Decision{Allowed: true, Result: ResultTerminating, Complete: true, Reason: "already being deleted"}
	case d.self(req.User):
		return Decision{Allowed: true, Result: ResultSelf, Complete: true, Reason: "nsguard's own request"}
	}
	if ok, why := d.opts.Config.excluded(ns.Name, ns.Labels); ok {
		return Decision{Allowed: true, Result: ResultExcluded, Complete: true, Reason: why}
	}

	ctx, cancel := context.WithTimeout(ctx, d.opts.Budget)
	defer cancel()
	// The snapshot gets the budget but what evaluating the rules needs: a
	// LIST cut short leaves a snapshot that says what it missed, and the
	// decision is still made on what it holds.
	sctx, scancel := context.WithTimeout(ctx, d.opts.Budget-evaluationReserve(d.opts.Budget))
	defer scancel()
	s, err := d.opts.Source.Snapshot(sctx, ns.Name)
	if err != nil {
		return unchecked(ns.Name, fmt.Sprintf("could not read the namespace (%v)", shortErr(err)))
	}
	all, err := d.opts.Engine.EvaluateWithWaivers(ctx, s)
	if err != nil {
		if ctx.Err() != nil {
			return unchecked(ns.Name, fmt.Sprintf("did not finish within its %s budget", d.opts.Budget))
		}
		return unchecked(ns.Name, fmt.Sprintf("could not evaluate its policies (%v)", shortErr(err)))
	}
	findings := d.applyConfig(all, ns.Name)

	dec := Decision{Allowed: true, Complete: s.Complete, Result: ResultAllowed}
	var deny, warn []policies.Finding
	for _, f := range findings {
		dec.Rules = appendUnique(dec.Rules, f.Rule)
		if f.Severity == policies.SeverityDeny {
			deny = append(deny, f)
		} else {
			warn = append(warn, f)
		}
	}
	sort.Strings(dec.Rules)
	var notChecked []string
	if !s.Complete {
		notChecked = append(notChecked, fmt.Sprintf("nsguard could not check everything in %s: %s", ns.Name, s.Incomplete[0]))
	}

	glass := ""
	if len(deny) > 0 && d.mode == ModeEnforce {
		glass = breakGlass(ns, req, d.opts.Config)
	}
	switch {
	case len(deny) == 0:
		dec.Warnings = warnings(nil, warn, notChecked)
		if len(dec.Warnings) > 0 {
			dec.Result = ResultWarned
		}
	case d.mode == ModeDryRun:
		dec.Result, dec.Reason = ResultWouldDeny, "dryrun"
	case d.mode == ModeWarn:
		dec.Result = ResultWouldDeny
		dec.Warnings = warnings(deny, warn, notChecked)
	case glass != "":
		dec.Result = ResultBreakGlass
		dec.Warnings = append([]string{"nsguard break-glass: deletion allowed despite the findings below"}, warnings(deny, warn, notChecked)...)
		dec.Audit = map[string]string{
			"nsguard.io/break-glass": fmt.Sprintf("%s (groups %s): %s; bypassed %s", req.User, strings.Join(req.Groups, ","), glass, strings.Join(dec.Rules, ",")),
		}
	default:
		dec.Allowed, dec.Result = false, ResultDenied
		dec.Message = denial(d.plan(s, findings), deny, ns, req, d.opts.Config)
		dec.Warnings = warnings(nil, warn, notChecked)
	}
	return dec
}

// evaluationReserve is the part of the budget kept for the rules: half of
// it, at most 500 ms (they take milliseconds).
func evaluationReserve(budget time.Duration) time.Duration {
	return min(budget/2, 500*time.Millisecond)
}

// applyConfig keeps the findings about ns, with the configuration's
// severity overrides and waivers applied.
func (d *Decider) applyConfig(all []policies.Finding, ns string) []policies.Finding {
	out := make([]policies.Finding, 0, len(all))
	for _, f := range all {
		if !f.Concerns(ns) {
			continue
		}
		switch string(d.opts.Config.Rules[f.Rule]) {
		case RuleOff:
			continue
		case RuleWarn:
			f.Severity = policies.SeverityWarn
		case RuleDeny:
			f.Severity = policies.SeverityDeny
		}
		if f.Waiver != "" {
			if !d.opts.Config.waivable(f.Rule) {
				// The owner's annotation does not lower a finding at
				// admission unless the configuration lets it.
				f.Waiver = ""
			} else {
				f.Severity = policies.SeverityWarn
				f.Summary = truncate("waived ("+f.Waiver+"): "+f.Summary, maxWarning)
			}
		}
		out = append(out, f)
	}
	return out
}

func (d *Decider) self(user string) bool {
	for _, s := range d.opts.Self {
		if s == user {
			return true
		}
	}
	return false
}

// breakGlass returns the annotation's reason when it lets req through.
func breakGlass(ns *corev1.Namespace, req Request, c *Config) string {
	reason := strings.TrimSpace(ns.Annotations[BreakGlassAnnotation])
	if reason == "" {
		return ""
	}
	for _, g := range req.Groups {
		for _, allowed := range c.BreakGlass.Groups {
			if g == allowed {
				return reason
			}
		}
	}
	return ""
}

// unchecked allows a deletion nsguard could not check, saying so.
func unchecked(ns, why string) Decision {
	return Decision{Allowed: true, Result: ResultUnchecked, Reason: why,
		Warnings: []string{truncate(fmt.Sprintf("nsguard %s; deletion of %s not checked: run kubectl nsguard diagnose %s", why, ns, ns), maxWarning)}}
}

// record logs one line per decision and counts it.
func (d *Decider) record(req Request, ns string, dec Decision, took time.Duration) {
	d.opts.Logger.Info("decision", "namespace", ns, "user", req.User, "result", dec.Result, "allowed", dec.Allowed,
		"rules", dec.Rules, "duration", took.Round(time.Microsecond), "complete", dec.Complete, "dryRun", req.DryRun, "mode", d.mode, "reason", dec.Reason)
	if d.opts.Metrics != nil {
		d.opts.Metrics.observe(dec, d.mode, took)
	}
}

// plan is the diagnosis the denial's first safe step comes from.
func (d *Decider) plan(s *inventory.Snapshot, findings []policies.Finding) []diagnose.Step {
	return diagnose.Build(s, findings, diagnose.Options{Catalog: d.opts.Catalog}).Plan
}

func appendUnique(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

func shortErr(err error) string {
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80] + "…"
	}
	return msg
}
