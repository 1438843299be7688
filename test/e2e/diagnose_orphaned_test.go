package e2e

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
)

// TestDiagnoseOrphanedFinalizer: a custom resource carries a finalizer that
// no controller anywhere handles. The namespace hangs with
// NamespaceFinalizersRemaining; diagnose finds the orphaned finalizer, says
// its controller is absent (with evidence), and its plan removes exactly that
// finalizer, keeping the other one the object carries. The test runs the
// plan's command as printed and the namespace goes. The built binary gives
// the same verdict (exit 1).
func TestDiagnoseOrphanedFinalizer(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ctx := t.Context()
	ns := cp.NewNamespace(t, "dg-orphan")
	if err := cp.Apply(ctx, fmt.Sprintf(orphanManifest, ns)); err != nil {
		t.Fatal(err)
	}

	deleteNamespace(t, cp, ns)
	// The Gadget keeps it: the namespace controller deletes the ConfigMap
	// next to it, marks the Gadget deleted, and waits for its finalizers.
	waitHangs(t, cp, ns, corev1.NamespaceFinalizersRemaining)

	res := runDiagnose(t, cp.Config, ns)
	requireComplete(t, res.Snapshot)
	r := res.Report
	if r.State != diagnose.StateTerminating || !r.Blocked || r.TerminatingSeconds < 1 {
		t.Errorf("state %s for %ds, blocked %v; want Terminating, blocked", r.State, r.TerminatingSeconds, r.Blocked)
	}
	requireRule(t, r, "orphaned-finalizer")
	fin := finalizerOf(t, r, orphanFinalizer)
	if fin.Liveness != inventory.LivenessAbsent || !fin.GoneForGood || len(fin.Evidence) == 0 {
		t.Errorf("finalizer %s: liveness %s, gone for good %v, evidence %q; want absent with evidence", orphanFinalizer, fin.Liveness, fin.GoneForGood, fin.Evidence)
	}
	if len(r.Objects) != 1 || r.Objects[0].Object.Name != "g1" || r.Objects[0].DeletionTimestamp == "" {
		t.Errorf("blocking objects = %+v; want the deleted Gadget g1", r.Objects)
	}
	requireNoForbiddenAdvice(t, r)

	st, cmd, _ := stepWith(r, "kubectl patch gadgets.orphan.e2e.nsguard.io g1 ", "-n "+ns, `"value":"`+orphanFinalizer+`"`)
	if cmd == "" {
		t.Fatalf("no plan step removes %s from g1; plan: %+v", orphanFinalizer, r.Plan)
	}
	if st.Safety != diagnose.SafetyCaution {
		t.Errorf("removing a finalizer the catalog does not know: safety %s, want %s", st.Safety, diagnose.SafetyCaution)
	}
	if strings.Contains(cmd, "example.com/keep") {
		t.Errorf("the patch touches the other finalizer too: %s", cmd)
	}

	// The built command says the same, and exits 1: something blocks.
	out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard diagnose "+ns+" -o json")
	if code != 1 {
		t.Errorf("nsguard diagnose %s: exit %d, want 1", ns, code)
	}
	if jr := decodeReport(t, out); !jr.Blocked || len(jr.Plan) != len(r.Plan) {
		t.Errorf("JSON report: blocked %v, %d plan steps; the library said %d", jr.Blocked, len(jr.Plan), len(r.Plan))
	}

	// Follow the plan, command by command, as printed. Each patch removes
	// one finalizer and keeps the others.
	var removals []string
	for _, st := range r.Plan {
		for _, c := range st.Commands {
			if strings.HasPrefix(c, "kubectl patch gadgets.orphan.e2e.nsguard.io g1 ") {
				removals = append(removals, c)
			}
		}
	}
	if len(removals) != 2 {
		t.Fatalf("want one patch per finalizer of g1, got %q", removals)
	}
	gadgets := cp.Dynamic.Resource(schema.GroupVersionResource{Group: "orphan.e2e.nsguard.io", Version: "v1", Resource: "gadgets"}).Namespace(ns)
	for i, c := range removals {
		runPlanCommand(t, cp, c)
		if i == len(removals)-1 {
			break
		}
		g, err := gadgets.Get(ctx, "g1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.GetFinalizers(); len(got) != 1 {
			t.Fatalf("after the plan's patch %q, g1 has finalizers %q; want exactly one left", c, got)
		}
	}
	waitGone(t, cp, ns)
}

const orphanFinalizer = "orphan.e2e.nsguard.io/cleanup"

const orphanManifest = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.orphan.e2e.nsguard.io}
spec:
  group: orphan.e2e.nsguard.io
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: orphan.e2e.nsguard.io/v1
kind: Gadget
metadata:
  name: g1
  namespace: %[1]s
  finalizers: [example.com/keep, orphan.e2e.nsguard.io/cleanup]
spec: {size: 1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain, namespace: %[1]s}
`
