package diagnose

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
)

func orphaned(name, finalizer string) policies.Finding {
	return policies.Finding{
		Rule:     "orphaned-finalizer",
		Severity: policies.SeverityDeny,
		Message:  "Widget shop/" + name + " keeps finalizer " + finalizer + " and its controller is gone.",
		Object:   inventory.ObjectRef{Group: "example.com", Kind: "Widget", Namespace: "shop", Name: name},
	}
}

func TestGroupFindings(t *testing.T) {
	warn := orphaned("w1", "a.example.com/x")
	warn.Severity = policies.SeverityWarn
	crd := policies.Finding{Rule: "conversion-webhook-unavailable", Severity: policies.SeverityDeny,
		Message: "CustomResourceDefinition widgets.example.com converts through a Service that is gone.",
		Object:  inventory.ObjectRef{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.com"}}
	groups := groupFindings([]policies.Finding{
		orphaned("w1", "a.example.com/x"), crd, orphaned("w2", "a.example.com/x"),
		orphaned("w3", "b.example.com/y"), warn, orphaned("w4", "a.example.com/x"),
	})
	var got []string
	for _, g := range groups {
		var names []string
		for _, o := range g.objects {
			names = append(names, o.Name)
		}
		got = append(got, g.first.Rule+"/"+g.first.Severity+":"+strings.Join(names, ","))
	}
	want := []string{
		"orphaned-finalizer/deny:w1,w2,w4", // the same cause, in the order first seen
		"conversion-webhook-unavailable/deny:widgets.example.com",
		"orphaned-finalizer/deny:w3", // another finalizer: another cause
		"orphaned-finalizer/warn:w1", // another severity
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("groups:\n got %q\nwant %q", got, want)
	}
	if o := groups[0].others(1); o != "Widget shop/w2 and 1 more" {
		t.Errorf("others(1) = %q", o)
	}
}

// TestGroupedRootCauseAndText: many objects that keep one orphaned
// finalizer are one root cause and one finding in the text, which name a
// few of the others; the JSON keeps every finding.
func TestGroupedRootCauseAndText(t *testing.T) {
	r := &Report{Namespace: "shop", State: StateTerminating, Complete: true}
	for _, n := range []string{"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"} {
		r.Findings = append(r.Findings, orphaned(n, "a.example.com/x"))
	}
	r.Findings = append(r.Findings, orphaned("w9", "b.example.com/y"))
	r.RootCause = rootCause(r)
	if len(r.RootCause) != 2 {
		t.Fatalf("root cause = %q, want one per finalizer", r.RootCause)
	}
	if want := "The same holds for 7 more objects: Widget shop/w2, Widget shop/w3, Widget shop/w4, Widget shop/w5, Widget shop/w6 and 2 more."; !strings.HasSuffix(r.RootCause[0], want) {
		t.Errorf("root cause %q does not end with %q", r.RootCause[0], want)
	}
	if strings.Contains(r.RootCause[1], "same holds") {
		t.Errorf("a single object's root cause names others: %q", r.RootCause[1])
	}

	var buf bytes.Buffer
	if err := (&TextRenderer{MaxCommands: 3, Width: 1000}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{
		"Findings (9)",
		"DENY  orphaned-finalizer  Widget.example.com shop/w1 and 7 more like it",
		"The same for Widget shop/w2, Widget shop/w3, Widget shop/w4 and 4 more (all in -o json).",
		"DENY  orphaned-finalizer  Widget.example.com shop/w9\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "keeps finalizer a.example.com/x"); n != 2 { // root cause + finding
		t.Errorf("the grouped message is printed %d times, want 2:\n%s", n, text)
	}
}
