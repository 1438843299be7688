package webhook

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
)

// operatorInNamespace is the classic hang as the cluster shows it: an
// operator, ready, in the namespace of the Widget it finalizes.
const operatorInNamespace = `apiVersion: v1
kind: Namespace
metadata: {name: shop, uid: ns-uid}
status: {phase: Active}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: shop, uid: w1-uid, finalizers: [example.com/cleanup]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: operator, namespace: shop}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get, list, watch, update, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: operator, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: operator}
subjects: [{kind: ServiceAccount, name: operator, namespace: shop}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator, namespace: shop, uid: op-uid}
spec:
  replicas: 1
  template: {spec: {serviceAccountName: operator}}
status: {readyReplicas: 1}`

// fakeSource serves snapshots built from YAML, counting its calls.
type fakeSource struct {
	docs  string
	delay time.Duration
	err   error
	// incomplete marks the snapshot as cut short.
	incomplete string
	calls      atomic.Int32
}

func (f *fakeSource) Snapshot(ctx context.Context, ns string) (*inventory.Snapshot, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	s := inventory.NewSnapshot(inventory.SourceCluster, inventory.KubeVersion{Major: 1, Minor: 37, GitVersion: "v1.37.2"})
	s.Target = ns
	m := inventory.NewMapper()
	for _, doc := range strings.Split(f.docs, "\n---\n") {
		var u map[string]any
		if err := yaml.Unmarshal([]byte(doc), &u); err != nil {
			return nil, err
		}
		o, err := inventory.NewObject(u)
		if err != nil {
			return nil, err
		}
		o.Ref.Resource, _, _ = m.Lookup(o.Ref.Group, o.Ref.Kind)
		s.Add(o)
	}
	s.Discovery = &inventory.Discovery{ResourceTypes: 40}
	if f.incomplete != "" {
		s.Complete, s.Incomplete = false, []string{f.incomplete}
	}
	inventory.Analyze(s, nil, time.Now())
	return s, nil
}

var engine *policies.Engine

func testEngine(t testing.TB) *policies.Engine {
	t.Helper()
	if engine == nil {
		e, err := policies.New(context.Background(), policies.Options{})
		if err != nil {
			t.Fatal(err)
		}
		engine = e
	}
	return engine
}

func decider(t testing.TB, src inventory.Source, mode, config string) *Decider {
	t.Helper()
	c, err := ParseConfig([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecider(Options{Source: src, Engine: testEngine(t), Config: c, Mode: mode, Budget: time.Second,
		Self: []string{"system:serviceaccount:nsguard:nsguard"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func namespace(name string, mutate ...func(*corev1.Namespace)) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelMetadataName: name}}}
	for _, m := range mutate {
		m(ns)
	}
	return ns
}

var (
	alice = Request{User: "alice", Groups: []string{"platform-admins", "system:authenticated"}}
	bob   = Request{User: "bob", Groups: []string{"developers", "system:authenticated"}}
)

func TestDecide(t *testing.T) {
	breakGlass := func(ns *corev1.Namespace) {
		ns.Annotations = map[string]string{BreakGlassAnnotation: "decommissioned with its operator"}
	}
	cases := []struct {
		name     string
		mode     string
		config   string
		req      Request
		ns       *corev1.Namespace
		src      *fakeSource
		allowed  bool
		result   string
		listed   bool
		message  []string // in the denial
		warnings []string // in some warning
		audit    string
	}{
		{name: "already terminating: no listing", ns: namespace("shop", func(ns *corev1.Namespace) { now := metav1.Now(); ns.DeletionTimestamp = &now }),
			req: bob, allowed: true, result: ResultTerminating},
		{name: "nsguard's own request: no listing", ns: namespace("shop"), req: Request{User: "system:serviceaccount:nsguard:nsguard"}, allowed: true, result: ResultSelf},
		{name: "excluded by default", ns: namespace("kube-system"), req: bob, allowed: true, result: ResultExcluded},
		{name: "excluded by label", config: "exclude: {selector: {matchLabels: {team: platform}}}",
			ns: namespace("shop", func(ns *corev1.Namespace) { ns.Labels["team"] = "platform" }), req: bob, allowed: true, result: ResultExcluded},
		{name: "enforce denies with the blocker, the first safe step and the report", ns: namespace("shop"), req: bob, listed: true,
			result: ResultDenied, message: []string{"nsguard: deleting namespace shop now would leave it stuck", "controller-in-namespace",
				"First safe step", "kubectl delete widgets.example.com --all -n shop --wait=true", "kubectl nsguard diagnose shop"}},
		{name: "warn mode allows with the findings as warnings", mode: ModeWarn, ns: namespace("shop"), req: bob, listed: true,
			allowed: true, result: ResultWouldDeny, warnings: []string{"deny controller-in-namespace: "}},
		{name: "dryrun allows silently", mode: ModeDryRun, ns: namespace("shop"), req: bob, listed: true, allowed: true, result: ResultWouldDeny},
		{name: "a rule switched off", config: "rules: {controller-in-namespace: off}", ns: namespace("shop"), req: bob, listed: true, allowed: true, result: ResultAllowed},
		{name: "a rule lowered to warn", config: "rules: {controller-in-namespace: warn}", ns: namespace("shop"), req: bob, listed: true,
			allowed: true, result: ResultWarned, warnings: []string{"Deployment shop/operator"}},
		{name: "an owner's waiver does not lower a deny by default", ns: namespace("shop"), req: bob, listed: true, result: ResultDenied,
			src: &fakeSource{docs: waived(operatorInNamespace)}, message: []string{"controller-in-namespace"}},
		{name: "a waiver the configuration allows lowers it to a warning", config: "waivers: {rules: [controller-in-namespace]}", ns: namespace("shop"), req: bob, listed: true,
			src: &fakeSource{docs: waived(operatorInNamespace)}, allowed: true, result: ResultWarned, warnings: []string{"waived (moved to ops first)"}},
		{name: "break-glass for a member", config: "breakGlass: {groups: [platform-admins]}", ns: namespace("shop", breakGlass), req: alice, listed: true,
			allowed: true, result: ResultBreakGlass, warnings: []string{"break-glass"}, audit: "alice (groups platform-admins,system:authenticated): decommissioned with its operator; bypassed controller-in-namespace"},
		{name: "break-glass annotation for anyone else", config: "breakGlass: {groups: [platform-admins]}", ns: namespace("shop", breakGlass), req: bob, listed: true,
			result: ResultDenied, message: []string{"annotation lets only members of platform-admins through; bob is not one"}},
		{name: "break-glass with no group configured", ns: namespace("shop", breakGlass), req: alice, listed: true,
			result: ResultDenied, message: []string{"no break-glass group is configured"}},
		{name: "an incomplete snapshot says what was not checked and denies on what it saw", ns: namespace("shop"), req: bob, listed: true,
			src:    &fakeSource{docs: operatorInNamespace, incomplete: "objects of 1 resource type not listed: forbidden (secrets)"},
			result: ResultDenied, warnings: []string{"nsguard could not check everything in shop: objects of 1 resource type not listed"}},
		{name: "a source that fails allows, saying so", ns: namespace("shop"), req: bob, listed: true, src: &fakeSource{err: errors.New("connection refused")},
			allowed: true, result: ResultUnchecked, warnings: []string{"could not read the namespace (connection refused); deletion of shop not checked"}},
		{name: "a source slower than the budget allows, saying so", ns: namespace("shop"), req: bob, listed: true, src: &fakeSource{docs: operatorInNamespace, delay: time.Minute},
			allowed: true, result: ResultUnchecked, warnings: []string{"deletion of shop not checked"}},
		{name: "a healthy namespace is allowed silently", ns: namespace("shop"), req: bob, listed: true,
			src:     &fakeSource{docs: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}"},
			allowed: true, result: ResultAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src == nil {
				src = &fakeSource{docs: operatorInNamespace}
			}
			began := time.Now()
			dec := decider(t, src, tc.mode, tc.config).Decide(context.Background(), tc.req, tc.ns)
			took := time.Since(began)
			if dec.Allowed != tc.allowed || dec.Result != tc.result {
				t.Errorf("allowed %v, result %s; want %v, %s (message %q, warnings %q)", dec.Allowed, dec.Result, tc.allowed, tc.result, dec.Message, dec.Warnings)
			}
			if listed := src.calls.Load() > 0; listed != tc.listed {
				t.Errorf("source called: %v, want %v", listed, tc.listed)
			}
			for _, want := range tc.message {
				if !strings.Contains(dec.Message, want) {
					t.Errorf("the denial lacks %q:\n%s", want, dec.Message)
				}
			}
			all := strings.Join(dec.Warnings, "\n")
			for _, want := range tc.warnings {
				if !strings.Contains(all, want) {
					t.Errorf("no warning contains %q:\n%s", want, all)
				}
			}
			if tc.mode == ModeDryRun && len(dec.Warnings) > 0 {
				t.Errorf("dryrun warned: %q", dec.Warnings)
			}
			for _, w := range dec.Warnings {
				if n := len([]rune(w)); n > maxWarning {
					t.Errorf("warning of %d characters: %q", n, w)
				}
			}
			if got := dec.Audit["nsguard.io/break-glass"]; got != tc.audit {
				t.Errorf("audit annotation %q, want %q", got, tc.audit)
			}
			// Never the cause of a hang: a late source is cut at the budget.
			if took > 5*time.Second {
				t.Errorf("decision took %s with a 1s budget", took)
			}
		})
	}
}

// waived adds an owner's waiver of controller-in-namespace to the operator.
func waived(docs string) string {
	return strings.Replace(docs, "metadata: {name: operator, namespace: shop, uid: op-uid}",
		"metadata: {name: operator, namespace: shop, uid: op-uid, annotations: {ignore.nsguard.io/controller-in-namespace: moved to ops first}}", 1)
}

func TestWarningsFitTheAPIServersLimits(t *testing.T) {
	var deny []policies.Finding
	for i := 0; i < 200; i++ {
		deny = append(deny, policies.Finding{Rule: "orphaned-finalizer", Summary: strings.Repeat("x", 150)})
	}
	ws := warnings(deny, nil, []string{"note"})
	total := 0
	for _, w := range ws {
		if n := len([]rune(w)); n > maxWarning {
			t.Errorf("warning of %d characters", n)
		}
		total += len(w)
	}
	if total > maxWarningsTotal {
		t.Errorf("%d characters of warnings, want at most %d", total, maxWarningsTotal)
	}
	if last := ws[len(ws)-1]; !strings.Contains(last, "more: kubectl nsguard diagnose") {
		t.Errorf("the last warning does not say more were left out: %q", last)
	}
}

func TestConfig(t *testing.T) {
	for _, bad := range []string{
		"mode: block",
		"rules: {orphaned-finalizer: maybe}",
		"unknown: 1",
		"breakGlass: {groups: [system:authenticated]}",
		"exclude: {selector: {matchExpressions: [{key: a, operator: Sideways}]}}",
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%q) succeeded, want an error", bad)
		}
	}
	c, err := ParseConfig([]byte("rules: {no-such-rule: warn}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckRules(map[string]bool{"orphaned-finalizer": true}); err == nil || !strings.Contains(err.Error(), "no-such-rule") {
		t.Errorf("CheckRules: %v, want an error naming no-such-rule", err)
	}
	if c, _ := ParseConfig([]byte("exclude: {namespaces: []}")); len(c.Exclude.Namespaces) != 0 {
		t.Errorf("an explicit empty exclusion list became %v", c.Exclude.Namespaces)
	}
	if c, _ := ParseConfig(nil); len(c.Exclude.Namespaces) != len(DefaultExcludedNamespaces) {
		t.Errorf("default exclusions = %v", c.Exclude.Namespaces)
	}
}
