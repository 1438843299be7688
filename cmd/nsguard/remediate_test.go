package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/remediate"
)

func TestConfirm(t *testing.T) {
	for _, c := range []struct {
		name        string
		input       string
		interactive bool
		yes         bool
		want        bool
		wantErr     string
		prompted    bool
	}{
		{name: "--yes does not ask", yes: true, want: true},
		{name: "--yes without a terminal", yes: true, interactive: false, want: true},
		{name: "no terminal, no --yes", wantErr: "standard input is not a terminal; pass --yes"},
		{name: "y", interactive: true, input: "y\n", want: true, prompted: true},
		{name: "YES", interactive: true, input: " YES \n", want: true, prompted: true},
		{name: "n", interactive: true, input: "n\n", prompted: true},
		{name: "enter is no", interactive: true, input: "\n", prompted: true},
		{name: "anything else is no", interactive: true, input: "sure\n", prompted: true},
		{name: "end of input is no", interactive: true, input: "", prompted: true},
		{name: "y without a newline", interactive: true, input: "y", want: true, prompted: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := confirm(strings.NewReader(c.input), &out, c.interactive, c.yes, "Run 1 action on namespace shop?")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("confirm = %v, %v; want %v", got, err, c.want)
			}
			if prompted := strings.Contains(out.String(), "Run 1 action on namespace shop? [y/N] "); prompted != c.prompted {
				t.Errorf("prompted %v, want %v: %q", prompted, c.prompted, out.String())
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestConfirmReadError(t *testing.T) {
	if ok, err := confirm(failingReader{}, &bytes.Buffer{}, true, false, "?"); ok || err == nil {
		t.Errorf("a read error: %v, %v; want no and an error", ok, err)
	}
}

func TestRemediateUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"remediate"}, "which namespace? usage: nsguard remediate NAMESPACE"},
		{[]string{"remediate", "a", "-n", "b"}, "namespace given twice"},
		{[]string{"remediate", "a", "b"}, "accepts at most 1 arg"},
		{[]string{"remediate", "a", "--remediation-actions", "remove-finalizer,delete-everything"}, `--remediation-actions: unknown action type "delete-everything"`},
		{[]string{"remediate", "a", "--controller-gone-after", "-1s"}, "--controller-gone-after -1s: want 0 or more"},
		{[]string{"remediate", "a", "--timeout", "0s"}, "--timeout 0s: want more than 0"},
		{[]string{"remediate", "a", "--workers", "0"}, "--workers must be at least 1"},
		{[]string{"remediate", "a", "--kubeconfig", "/nonexistent/kubeconfig"}, "load kubeconfig"},
	} {
		var out, errOut bytes.Buffer
		code := run(c.args, &streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		if code != exitUsage || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("nsguard %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errOut.String(), exitUsage, c.want)
		}
	}
}

// The defaults a person gets, and the help that says why.
func TestRemediateDefaults(t *testing.T) {
	cmd := newRemediateCommand(newStreams())
	if got := cmd.Flags().Lookup("remediation-actions").DefValue; got != "[remove-finalizer,delete-apiservice,delete-webhook-configuration,patch-webhook-failure-policy]" {
		t.Errorf("--remediation-actions default %s", got)
	}
	if got := cmd.Flags().Lookup("controller-gone-after").DefValue; got != "0s" {
		t.Errorf("--controller-gone-after default %s, want 0s", got)
	}
	if got := cmd.Flags().Lookup("timeout").DefValue; got != "2m0s" {
		t.Errorf("--timeout default %s, want 2m0s", got)
	}
	if !strings.Contains(cmd.Long, "a person runs it on purpose") || !strings.Contains(cmd.Long, "Exit codes: 0") {
		t.Errorf("the help does not say why the defaults differ from the remediator's, or the exit codes")
	}
	if got := newDeleteCommand(newStreams()).Flags().Lookup("timeout").DefValue; got != "5m0s" {
		t.Errorf("delete --timeout default %s, want 5m0s", got)
	}
}

func removalOf(finalizer, liveness string) remediate.Candidate {
	return remediate.Candidate{
		Action: actions.Action{Type: actions.RemoveFinalizer, Finalizer: finalizer, Index: 0,
			Target: actions.Target{Group: "example.com", Version: "v1", Resource: "gadgets", Kind: "Gadget", Namespace: "shop", Name: "g1", UID: "u1"}},
		Step: "Remove finalizer " + finalizer + " from 1 object",
		Fact: &inventory.FinalizerFact{Finalizer: finalizer, Liveness: liveness, Evidence: []string{"no running pod's service account may update gadgets.example.com"}},
	}
}

func TestWriteRemediationPlan(t *testing.T) {
	judged := []judgedAction{
		{c: removalOf("a.example.com/cleanup", inventory.LivenessAbsent), v: remediate.Verdict{Run: true, Reason: "no running pod's service account may update gadgets.example.com"}},
		{c: removalOf("b.example.com/cleanup", inventory.LivenessAbsent), v: remediate.Verdict{Reason: "nsguard's catalog does not know what it protects; removal needs the finalizer in --allow-finalizer"}},
	}
	r := &diagnose.Report{Namespace: "shop", Finalizers: []diagnose.Finalizer{
		{Name: "a.example.com/cleanup", Objects: 1, Liveness: inventory.LivenessAbsent},
		{Name: "b.example.com/cleanup", Objects: 1, Liveness: inventory.LivenessAbsent},
		{Name: "live.example.com/cleanup", Objects: 2, Liveness: inventory.LivenessAlive, Evidence: []string{"Deployment ops/operator has 1 pod(s) running and ready"}},
		{Name: "kubernetes.io/pvc-protection", Objects: 1, Liveness: inventory.LivenessAlive, Removal: diagnose.RemovalNever, RemovalReason: "Kubernetes itself removes it"},
	}}
	var out bytes.Buffer
	writeRemediationPlan(&out, judged, leftAlone(r, judged))
	got := out.String()
	cmd, err := actions.Command(judged[0].c.Action)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Plan: 1 action to run, 3 refusals",
		"  1. remove finalizer a.example.com/cleanup from Gadget.example.com shop/g1\n     step:     Remove finalizer a.example.com/cleanup from 1 object\n     evidence: no running pod's service account",
		"     $ " + cmd + "\n",
		`"op":"test","path":"/metadata/uid","value":"u1"`,
		"  - will not remove finalizer b.example.com/cleanup from Gadget.example.com shop/g1: nsguard's catalog does not know",
		"  - will not remove finalizer live.example.com/cleanup from 2 objects: its controller is alive (Deployment ops/operator has 1 pod(s) running and ready)",
		"  - finalizer kubernetes.io/pvc-protection on 1 object: Kubernetes itself removes it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "patch gadgets.example.com g1 -n shop --type=json -p '[{\"op\":\"test\",\"path\":\"/metadata/uid\",\"value\":\"u1\"},{\"op\":\"test\",\"path\":\"/metadata/finalizers/0\",\"value\":\"b.example.com") {
		t.Errorf("the refused removal is printed as a command:\n%s", got)
	}
}

func TestNothingDone(t *testing.T) {
	for _, c := range []struct {
		name string
		r    diagnose.Report
		want int
	}{
		{"nothing holds it", diagnose.Report{Complete: true}, exitOK},
		{"a blocking finding", diagnose.Report{Complete: true, Blocked: true}, exitFindings},
		{"objects with finalizers", diagnose.Report{Complete: true, Objects: []diagnose.BlockingObject{{Finalizers: []string{"x"}}}}, exitFindings},
		{"incomplete", diagnose.Report{Blocked: true}, exitIncomplete},
	} {
		got := exitOK
		var ee *exitError
		if err := nothingDone(&c.r); errors.As(err, &ee) {
			got = ee.code
		}
		if got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	r := &diagnose.Report{Namespace: "shop", State: diagnose.StateTerminating, TerminatingSeconds: 75, Blocked: true,
		Findings:   []policies.Finding{{Rule: "orphaned-finalizer", Severity: policies.SeverityDeny}, {Rule: "large-namespace", Severity: policies.SeverityWarn}},
		RootCause:  []string{"Gadget shop/g1 keeps finalizer x.example.com/cleanup and its controller is gone."},
		Objects:    []diagnose.BlockingObject{{Object: inventory.ObjectRef{Group: "example.com", Kind: "Gadget", Namespace: "shop", Name: "g1"}, Finalizers: []string{"x.example.com/cleanup"}}},
		Incomplete: []string{"leases could not be listed"},
	}
	var out bytes.Buffer
	writeSummary(&out, r)
	want := `Namespace shop: Terminating for 1m15s, BLOCKED (1 blocking finding), INCOMPLETE
  - Gadget shop/g1 keeps finalizer x.example.com/cleanup and its controller is gone.
  1 object with finalizers: Gadget.example.com shop/g1 (x.example.com/cleanup)
  Not checked: leases could not be listed
  Full report and plan: kubectl nsguard diagnose shop
`
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestNamespaceProgress(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating, Conditions: []corev1.NamespaceCondition{
		{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionFalse, Message: "All resources successfully discovered"},
		{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Message: "Some resources are remaining: configmaps. has 2 resource instances, widgets.example.com has 1 resource instances"},
		{Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Message: "Some content in the namespace has finalizers remaining: example.com/cleanup in 1 resource instances"},
	}}}
	got := namespaceProgress(ns)
	want := "namespace shop: Terminating; 3 objects left; NamespaceContentRemaining: Some resources are remaining: configmaps. has 2 resource instances, widgets.example.com has 1 resource instances; NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: example.com/cleanup in 1 resource instances"
	if got != want {
		t.Errorf("progress:\n%s\nwant:\n%s", got, want)
	}
	ns.Status.Conditions = nil
	if got := namespaceProgress(ns); got != "namespace shop: Terminating" {
		t.Errorf("without conditions: %q", got)
	}
}

func TestProgress(t *testing.T) {
	var plain bytes.Buffer
	p := &progress{w: &plain}
	p.show("a", "a (1s)")
	p.show("a", "a (2s)")
	p.show("b", "b (3s)")
	p.end()
	if plain.String() != "  a (1s)\n  b (3s)\n" {
		t.Errorf("plain output prints each change once: %q", plain.String())
	}
	var tty bytes.Buffer
	p = &progress{w: &tty, tty: true, width: 10}
	p.show("a", "a (1s)")
	p.show("a", "a long line (2s)")
	p.end()
	if tty.String() != "\r\x1b[Ka (1s)\r\x1b[Ka long li…\n" {
		t.Errorf("a terminal gets one line rewritten in place, cut to its width: %q", tty.String())
	}
}
