package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
	"github.com/nsguard/nsguard/remediate"
)

// deleteFixture is a pre-flight snapshot of namespace "shop" with one
// object of each kind a plan step of nsguard delete can concern.
type deleteFixture struct {
	s   *inventory.Snapshot
	cat *catalog.Catalog
	// refs by name
	refs map[string]inventory.ObjectRef
}

func newDeleteFixture(t *testing.T) *deleteFixture {
	t.Helper()
	cat, err := catalog.Parse([]byte(`finalizers:
  - id: safe
    name: safe.example.com/cleanup
    project: Example
    handledBy: the example controller
    protects: nothing outside the cluster
    leaks: false
    removal: safe once the controller is gone
  - id: leaky
    name: leaky.example.com/cleanup
    project: Example
    handledBy: the load balancer controller
    protects: a cloud load balancer
    leaks: true
    removal: the load balancer stays
`))
	if err != nil {
		t.Fatal(err)
	}
	f := &deleteFixture{s: inventory.NewSnapshot(inventory.SourceCluster, inventory.KubeVersion{}), cat: cat, refs: map[string]inventory.ObjectRef{}}
	add := func(group, version, kind, resource, ns, name string, fins []string, body map[string]any) {
		o := &inventory.Object{
			Ref:      inventory.ObjectRef{Group: group, Version: version, Kind: kind, Resource: resource, Namespace: ns, Name: name},
			Metadata: inventory.Metadata{Name: name, Namespace: ns, UID: "uid-" + name, Finalizers: fins},
			Body:     body,
		}
		f.s.Add(o)
		f.refs[name] = o.Ref
	}
	svc := func(ns, name string) map[string]any { return map[string]any{"namespace": ns, "name": name} }
	hook := func(name, ns string) map[string]any {
		return map[string]any{"name": name, "clientConfig": map[string]any{"service": svc(ns, "hooks")}}
	}
	add("apiregistration.k8s.io", "v1", "APIService", "apiservices", "", "v1.inside.example.com", nil,
		map[string]any{"spec": map[string]any{"service": svc("shop", "api")}})
	add("apiregistration.k8s.io", "v1", "APIService", "apiservices", "", "v1.outside.example.com", nil,
		map[string]any{"spec": map[string]any{"service": svc("monitoring", "api")}})
	add("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "", "inside", nil,
		map[string]any{"webhooks": []any{hook("a.example.com", "shop"), hook("b.example.com", "shop")}})
	add("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "", "mixed", nil,
		map[string]any{"webhooks": []any{hook("a.example.com", "shop"), hook("b.example.com", "policy")}})
	add("example.com", "v1", "Widget", "widgets", "shop", "w-safe", []string{"safe.example.com/cleanup"}, nil)
	add("example.com", "v1", "Widget", "widgets", "shop", "w-leaky", []string{"leaky.example.com/cleanup"}, nil)
	add("example.com", "v1", "Widget", "widgets", "shop", "w-unknown", []string{"unknown.example.com/cleanup"}, nil)
	for _, name := range []string{"safe.example.com/cleanup", "leaky.example.com/cleanup", "unknown.example.com/cleanup"} {
		obj := "w-" + strings.Split(name, ".")[0]
		f.s.Finalizers = append(f.s.Finalizers, &inventory.FinalizerFact{Finalizer: name, Namespace: "shop", Objects: []int{f.refs[obj].ID},
			Liveness: inventory.LivenessAbsent, Evidence: []string{"no running pod's service account may update widgets.example.com"}})
	}
	return f
}

func (f *deleteFixture) action(typ actions.Type, name string) actions.Action {
	return actions.Action{Type: typ, Target: actions.TargetOf(f.refs[name], "uid-"+name)}
}

func (f *deleteFixture) removal(name, finalizer string) actions.Action {
	a := f.action(actions.RemoveFinalizer, name)
	a.Finalizer = finalizer
	return a
}

// verify is the plan's last step, as diagnose writes it.
var verify = diagnose.Step{Title: "Check again before deleting shop", Safety: diagnose.SafetySafe, Checks: []string{actions.Diagnose("shop")}}

func TestPlanDelete(t *testing.T) {
	f := newDeleteFixture(t)
	widgets := actions.Action{Type: actions.DeleteAll, Target: actions.Target{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespace: "shop"}}
	beforeDelete := diagnose.Step{Title: "Before deleting shop, delete the objects that carry op.example.com/cleanup while their controller (Deployment operator) still runs",
		Safety: diagnose.SafetySafe, Rules: []string{"controller-in-namespace"}, Actions: []actions.Action{widgets}}
	step := func(rule, safety string, as ...actions.Action) diagnose.Step {
		return diagnose.Step{Title: "a step of " + rule, Safety: safety, Rules: []string{rule}, Actions: as}
	}
	deny := func(rule string) policies.Finding {
		return policies.Finding{Rule: rule, Severity: policies.SeverityDeny, Message: "finding of " + rule + "."}
	}
	failOpen := f.action(actions.PatchWebhookFailurePolicy, "mixed")
	failOpen.Webhook, failOpen.Index, failOpen.FailurePolicy = "a.example.com", 0, "Ignore"

	for _, tc := range []struct {
		name     string
		plan     []diagnose.Step
		findings []policies.Finding
		complete bool
		// want: the descriptions of what runs, in order; refused: parts
		// of each refusal.
		want    []string
		refused []string
	}{
		{name: "a healthy namespace: nothing to do first", complete: true},
		{
			name: "the operator's objects first, then what is served from inside", complete: true,
			plan: []diagnose.Step{
				step("apiservice-in-namespace", diagnose.SafetyCaution, f.action(actions.DeleteAPIService, "v1.inside.example.com")),
				step("admission-webhook-in-namespace", diagnose.SafetyCaution, f.action(actions.DeleteWebhookConfiguration, "inside")),
				beforeDelete, verify,
			},
			findings: []policies.Finding{deny("apiservice-in-namespace"), deny("admission-webhook-in-namespace"), deny("controller-in-namespace")},
			want: []string{"objects: delete every Widget.example.com in namespace shop",
				"config: delete apiservice APIService.apiregistration.k8s.io v1.inside.example.com",
				"config: delete webhook configuration ValidatingWebhookConfiguration.admissionregistration.k8s.io inside"},
		},
		{
			name: "an orphaned finalizer the catalog says is safe to remove", complete: true,
			plan:     []diagnose.Step{step("orphaned-finalizer", diagnose.SafetySafe, f.removal("w-safe", "safe.example.com/cleanup")), verify},
			findings: []policies.Finding{deny("orphaned-finalizer")},
			want:     []string{"removal: remove finalizer safe.example.com/cleanup from Widget.example.com shop/w-safe"},
		},
		{
			name: "an orphaned finalizer whose removal leaks", complete: true,
			plan:     []diagnose.Step{beforeDelete, step("orphaned-finalizer", diagnose.SafetyUnsafe, f.removal("w-leaky", "leaky.example.com/cleanup")), verify},
			findings: []policies.Finding{deny("controller-in-namespace"), deny("orphaned-finalizer")},
			refused:  []string{"will not remove finalizer leaky.example.com/cleanup", "removing it leaks a cloud load balancer [orphaned-finalizer]"},
		},
		{
			name: "an orphaned finalizer the catalog does not know", complete: true,
			plan:     []diagnose.Step{step("orphaned-finalizer", diagnose.SafetyCaution, f.removal("w-unknown", "unknown.example.com/cleanup")), verify},
			findings: []policies.Finding{deny("orphaned-finalizer")},
			refused:  []string{"does not know what it protects"},
		},
		{
			name: "a controller whose liveness is unknown: a step without actions", complete: true,
			plan:     []diagnose.Step{{Title: "Find the controller of x.example.com/cleanup before removing anything", Safety: diagnose.SafetySafe, Rules: []string{"orphaned-finalizer"}}, verify},
			findings: []policies.Finding{deny("orphaned-finalizer")},
			refused:  []string{"Find the controller of x.example.com/cleanup", "no step nsguard can take"},
		},
		{
			name: "a conversion webhook served from the namespace", complete: true,
			plan: []diagnose.Step{{Title: "Before deleting shop, move the conversion webhook of CustomResourceDefinition things.example.com out of it",
				Safety: diagnose.SafetySafe, Rules: []string{"conversion-webhook-in-namespace"}, Checks: []string{actions.ConversionService("things.example.com")}}, beforeDelete, verify},
			findings: []policies.Finding{deny("conversion-webhook-in-namespace"), deny("controller-in-namespace")},
			refused:  []string{"move the conversion webhook", "[conversion-webhook-in-namespace]"},
		},
		{
			name: "a conversion webhook served from the namespace, down", complete: true,
			plan: []diagnose.Step{{Title: "Switch CustomResourceDefinition things.example.com to conversion strategy None", Safety: diagnose.SafetyCaution,
				Rules: []string{"conversion-webhook-in-namespace"}, Objects: []inventory.ObjectRef{{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "things.example.com"}},
				Actions: []actions.Action{{Type: actions.SetConversionNone, Target: actions.Target{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions", Kind: "CustomResourceDefinition", Name: "things.example.com"}}}}, verify},
			// Two findings on the CRD, one step: the step answers both.
			findings: []policies.Finding{deny("conversion-webhook-in-namespace"),
				{Rule: "conversion-webhook-unavailable", Severity: policies.SeverityDeny, Message: "unavailable.", Object: inventory.ObjectRef{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "things.example.com"}}},
			refused: []string{"there is no safe automatic step for a conversion webhook"},
		},
		{
			name: "an APIService served from another namespace", complete: true,
			plan:     []diagnose.Step{step("unavailable-apiservice", diagnose.SafetyCaution, f.action(actions.DeleteAPIService, "v1.outside.example.com")), verify},
			findings: []policies.Finding{deny("unavailable-apiservice")},
			refused:  []string{"also calls Service monitoring/api, outside namespace shop"},
		},
		{
			name: "a webhook configuration that also serves from elsewhere", complete: true,
			plan:     []diagnose.Step{step("admission-webhook-in-namespace", diagnose.SafetyCaution, f.action(actions.DeleteWebhookConfiguration, "mixed")), verify},
			findings: []policies.Finding{deny("admission-webhook-in-namespace")},
			refused:  []string{"also calls Service policy/hooks"},
		},
		{
			name: "making the webhook served from inside fail open", complete: true,
			plan:     []diagnose.Step{step("admission-webhook-in-namespace", diagnose.SafetyCaution, failOpen), verify},
			findings: []policies.Finding{deny("admission-webhook-in-namespace")},
			want:     []string{"config: set failurePolicy Ignore on webhook a.example.com of ValidatingWebhookConfiguration.admissionregistration.k8s.io mixed"},
		},
		{
			name: "a step for a person", complete: true,
			plan: []diagnose.Step{step("controller-not-running", diagnose.SafetySafe, actions.Action{Type: actions.ScaleWorkload, Replicas: ptr(int32(1)),
				Target: actions.Target{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespace: "shop", Name: "operator"}}), verify},
			findings: []policies.Finding{deny("controller-not-running")},
			refused:  []string{"scale workload Deployment.apps shop/operator is a step for a person"},
		},
		{
			name: "a blocking finding without a step", complete: true,
			findings: []policies.Finding{deny("large-namespace")},
			refused:  []string{"finding of large-namespace. [large-namespace]: the plan has no step for it"},
		},
		{
			name:    "an incomplete diagnosis",
			refused: []string{"the diagnosis is incomplete", "deployments could not be listed"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &diagnose.Report{Namespace: "shop", State: diagnose.StateActive, Plan: tc.plan, Findings: tc.findings, Complete: tc.complete}
			if !tc.complete {
				r.Incomplete = []string{"deployments could not be listed"}
			}
			p := planDelete(context.Background(), f.s, r, f.cat, deleteGate(nil), remediate.NamespaceInfo{Name: "shop"})
			var got []string
			for _, o := range p.objects {
				for _, a := range o.actions {
					got = append(got, "objects: "+a.String())
				}
			}
			for _, j := range p.removals {
				got = append(got, "removal: "+j.c.Action.String())
			}
			for _, c := range p.configs {
				got = append(got, "config: "+c.action.String())
			}
			if len(tc.refused) > 0 {
				all := strings.Join(p.refused, "\n")
				if strings.Contains(all, "the plan has no step for it") && !strings.Contains(strings.Join(tc.refused, " "), "the plan has no step for it") {
					t.Errorf("a finding answered by a step is said to have none:\n%s", all)
				}
				for _, part := range tc.refused {
					if !strings.Contains(all, part) {
						t.Errorf("refusals lack %q:\n%s", part, all)
					}
				}
				return
			}
			if len(p.refused) > 0 {
				t.Fatalf("refused: %q", p.refused)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// A policy veto stops a removal in delete too.
func TestPlanDeleteVeto(t *testing.T) {
	f := newDeleteFixture(t)
	r := &diagnose.Report{Namespace: "shop", State: diagnose.StateActive, Complete: true,
		Plan: []diagnose.Step{{Title: "Remove it", Safety: diagnose.SafetySafe, Rules: []string{"orphaned-finalizer"}, Actions: []actions.Action{f.removal("w-safe", "safe.example.com/cleanup")}}}}
	veto := func(context.Context, map[string]any) ([]string, error) { return []string{"never in shop"}, nil }
	p := planDelete(context.Background(), f.s, r, f.cat, deleteGate(veto), remediate.NamespaceInfo{Name: "shop"})
	if len(p.refused) != 1 || !strings.Contains(p.refused[0], "vetoed by policy: never in shop") {
		t.Errorf("refused %q, want the veto", p.refused)
	}
}

func TestWriteDeletePlan(t *testing.T) {
	f := newDeleteFixture(t)
	widgets := actions.Action{Type: actions.DeleteAll, Target: actions.Target{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespace: "shop"}}
	p := deletePlan{
		objects: []objectStep{{step: diagnose.Step{Title: "Before deleting shop, delete the objects first", Objects: []inventory.ObjectRef{f.refs["w-safe"]}}, actions: []actions.Action{widgets}}},
		configs: []configStep{{step: diagnose.Step{Title: "Before deleting shop, delete APIService v1.inside.example.com"}, action: f.action(actions.DeleteAPIService, "v1.inside.example.com")}},
	}
	var out bytes.Buffer
	writeDeletePlan(&out, p, "shop", 5*time.Minute)
	for _, want := range []string{
		"1. Before deleting shop, delete the objects first\n     $ kubectl delete widgets.example.com --all -n shop --wait=true\n     then wait for 1 object to go: Widget.example.com w-safe",
		"2. Before deleting shop, delete APIService v1.inside.example.com\n     $ kubectl delete apiservices.apiregistration.k8s.io v1.inside.example.com",
		"3. Check again, then delete namespace shop (with its UID as a precondition) and watch it go, up to 5m0s in all",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the plan lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDeleteUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"delete"}, "which namespace? usage: nsguard delete NAMESPACE"},
		{[]string{"delete", "a", "-n", "b"}, "namespace given twice"},
		{[]string{"delete", "a", "--timeout", "0s"}, "--timeout 0s: want more than 0"},
		{[]string{"delete", "a", "--allow-finalizer", "x"}, "unknown flag: --allow-finalizer"},
		{[]string{"delete", "a", "--kubeconfig", "/nonexistent/kubeconfig"}, "load kubeconfig"},
	} {
		var out, errOut bytes.Buffer
		code := run(c.args, &streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		if code != exitUsage || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("nsguard %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errOut.String(), exitUsage, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
