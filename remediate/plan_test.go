package remediate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies/catalog"
)

func removal(liveness string, entry *catalog.Entry) Candidate {
	return Candidate{
		Action: actions.Action{Type: actions.RemoveFinalizer, Finalizer: "example.com/cleanup", Index: 0,
			Target: actions.Target{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Namespace: "shop", Name: "w1", UID: "u1"}},
		Fact:  &inventory.FinalizerFact{Finalizer: "example.com/cleanup", Namespace: "shop", Liveness: liveness, Evidence: []string{"the evidence"}},
		Entry: entry,
	}
}

var (
	safe  = &catalog.Entry{ID: "example", Name: "example.com/cleanup", Protects: "nothing outside", Leaks: false}
	leaky = &catalog.Entry{ID: "example", Name: "example.com/cleanup", Protects: "a cloud load balancer", Leaks: true}
)

// Everything switched on, every policy silent: the gate still refuses to
// remove a finalizer whose controller is not proven absent, and one proven
// absent for less than --controller-gone-after.
func TestGateRemovesOnlyProvenAbsentFinalizers(t *testing.T) {
	all := map[actions.Type]bool{}
	for _, ty := range actions.Types() {
		all[ty] = true
	}
	g := Gate{Allowed: all, ControllerGoneAfter: 10 * time.Minute, AllowLeaking: map[string]bool{"example.com/cleanup": true}}
	s := inventory.NewSnapshot(inventory.SourceCluster, inventory.KubeVersion{})
	ns := NamespaceInfo{Name: "shop"}
	for _, tc := range []struct {
		name      string
		c         Candidate
		absentFor time.Duration
		gate      Gate
		run       bool
		reason    string
	}{
		{"alive", removal(inventory.LivenessAlive, safe), time.Hour, g, false, "its controller is alive"},
		{"down", removal(inventory.LivenessDown, safe), time.Hour, g, false, "its controller is down"},
		{"unknown", removal(inventory.LivenessUnknown, safe), time.Hour, g, false, "its controller is unknown"},
		{"absent, not long enough", removal(inventory.LivenessAbsent, safe), 3 * time.Minute, g, false, "removal waits until it has been absent for 10m0s"},
		{"absent long enough", removal(inventory.LivenessAbsent, safe), 11 * time.Minute, g, true, "the evidence"},
		{"leaks, not allow-listed", removal(inventory.LivenessAbsent, leaky), time.Hour, Gate{Allowed: all, ControllerGoneAfter: time.Minute}, false, "removing it leaks a cloud load balancer"},
		{"leaks, allow-listed", removal(inventory.LivenessAbsent, leaky), time.Hour, g, true, ""},
		{"not in the catalog, not allow-listed", removal(inventory.LivenessAbsent, nil), time.Hour, Gate{Allowed: all, ControllerGoneAfter: time.Minute}, false, "does not know what it protects"},
		{"type not allowed", removal(inventory.LivenessAbsent, safe), time.Hour, Gate{ControllerGoneAfter: time.Minute}, false, "not allowed (--remediation-actions)"},
		{"vetoed", removal(inventory.LivenessAbsent, safe), time.Hour, Gate{Allowed: all, Veto: func(context.Context, map[string]any) ([]string, error) {
			return []string{"never in production namespaces"}, nil
		}}, false, "vetoed by policy: never in production namespaces"},
		{"a veto that fails vetoes", removal(inventory.LivenessAbsent, safe), time.Hour, Gate{Allowed: all, Veto: func(context.Context, map[string]any) ([]string, error) {
			return nil, errors.New("boom")
		}}, false, "could not be evaluated"},
		{"a step for a person", Candidate{Action: actions.Action{Type: actions.DeleteAll, Target: actions.Target{Group: "example.com", Version: "v1", Resource: "widgets", Namespace: "shop"}}}, time.Hour, g, false, "never run by the remediator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.gate.Judge(context.Background(), s, tc.c, ns, tc.absentFor)
			if v.Run != tc.run || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("run %v, reason %q; want %v, containing %q", v.Run, v.Reason, tc.run, tc.reason)
			}
		})
	}
}

func TestBackendGone(t *testing.T) {
	s := inventory.NewSnapshot(inventory.SourceCluster, inventory.KubeVersion{})
	api := &inventory.Object{Ref: inventory.ObjectRef{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService", Resource: "apiservices", Name: "v1beta1.metrics.k8s.io"},
		Metadata: inventory.Metadata{Name: "v1beta1.metrics.k8s.io", UID: "a1"},
		Body:     map[string]any{"spec": map[string]any{"service": map[string]any{"namespace": "monitoring", "name": "metrics-server"}}}}
	s.Add(api)
	a := actions.Action{Type: actions.DeleteAPIService, Target: actions.TargetOf(api.Ref, "a1")}
	no, yes := false, true
	s.Services["monitoring/metrics-server"] = &inventory.ServiceFact{Namespace: "monitoring", Name: "metrics-server", Exists: &yes}
	if why := backendGone(s, a); why != "" {
		t.Errorf("a Service that exists: %q, want not gone", why)
	}
	s.EnsureNamespace("monitoring").Phase = "Terminating"
	if why := backendGone(s, a); !strings.Contains(why, "being deleted") {
		t.Errorf("a Service in a Terminating namespace: %q", why)
	}
	s.Namespaces["monitoring"].Phase = "Active"
	s.Services["monitoring/metrics-server"].Exists = &no
	if why := backendGone(s, a); !strings.Contains(why, "does not exist") {
		t.Errorf("a Service that does not exist: %q", why)
	}
}

// The clock of an absent controller survives a pass in which it stays
// absent, starts for a newly absent one, and is dropped (so restarts from
// zero later) as soon as the controller is anything but absent.
func TestAbsentSince(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	absent, other := removal(inventory.LivenessAbsent, safe), removal(inventory.LivenessAbsent, safe)
	other.Action.Target.UID, other.Action.Target.Name = "u2", "w2"

	since := AbsentSince(nil, []Candidate{absent}, t0)
	if got := since[absent.Key()]; !got.Equal(t0) {
		t.Fatalf("first pass: %v, want %v", got, t0)
	}
	t1 := t0.Add(time.Minute)
	since = AbsentSince(since, []Candidate{absent, other}, t1)
	if got := since[absent.Key()]; !got.Equal(t0) {
		t.Errorf("still absent: clock %v, want it kept at %v", got, t0)
	}
	if got := since[other.Key()]; !got.Equal(t1) {
		t.Errorf("newly absent: clock %v, want %v", got, t1)
	}
	for _, l := range []string{inventory.LivenessAlive, inventory.LivenessDown, inventory.LivenessUnknown} {
		back := removal(l, safe)
		if got := AbsentSince(since, []Candidate{back, other}, t1.Add(time.Minute)); len(got) != 1 {
			t.Errorf("controller %s: %d clocks kept, want only the other candidate's", l, len(got))
		} else if _, ok := got[absent.Key()]; ok {
			t.Errorf("controller %s: its absent clock was kept", l)
		}
	}
}
