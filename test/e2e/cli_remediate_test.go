package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nsguard/nsguard/test/controlplane"
)

// nsguard remediate and nsguard delete, as built, on the real control
// plane: delete on the diagnose scenarios (those whose plan is all safe
// go, the others are refused with the reason and left as they were), and
// remediate on stuck namespaces (an orphaned finalizer that is allow-listed
// goes; a live controller's finalizer stays, whatever the flags).
//
// No remediator runs for these namespaces: they do not carry the label
// nsguard.io/remediation, so the one TestRemediator starts leaves them alone.

var widgetsResource = schema.GroupVersionResource{Group: "operator.e2e.nsguard.io", Version: "v1", Resource: "widgets"}

// operatorInItsNamespace sets up the operator scenario of
// TestDiagnoseOperatorInItsNamespace in a new namespace: the operator's
// Deployment, ready, and a Widget with its finalizer.
func operatorInItsNamespace(t *testing.T, cp *controlplane.ControlPlane, prefix string) string {
	t.Helper()
	ns := cp.NewNamespace(t, prefix)
	apply(t, cp, fmt.Sprintf(operatorManifest, ns))
	markDeploymentReady(t, cp, ns, "operator")
	waitReadyReplicas(t, cp, ns, "operator", 1)
	t.Cleanup(func() { removeWidgetFinalizers(cp, ns) })
	return ns
}

// playOperator plays the widget operator of operatorManifest, for which
// the test has no image: while its Deployment has ready replicas and one of
// its pods runs, ready and not being deleted, it removes its finalizer from
// the Widgets being deleted, as the operator does after its cleanup. It
// stops once the Deployment is gone. stop returns how many finalizers it
// removed.
func playOperator(t *testing.T, cp *controlplane.ControlPlane, ns string) (stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		removed int
	)
	alive := func() (bool, bool) {
		d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "operator", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, true
		}
		if err != nil || d.Status.ReadyReplicas == 0 {
			return false, false
		}
		pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=operator"})
		if err != nil {
			return false, false
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return true, false
				}
			}
		}
		return false, false
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			running, gone := alive()
			if gone {
				return
			}
			if !running {
				continue
			}
			list, err := cp.Dynamic.Resource(widgetsResource).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				continue
			}
			for _, w := range list.Items {
				if w.GetDeletionTimestamp() == nil {
					continue
				}
				for i, f := range w.GetFinalizers() {
					if f != operatorFinalizer {
						continue
					}
					patch := fmt.Sprintf(`[{"op":"test","path":"/metadata/finalizers/%d","value":%q},{"op":"remove","path":"/metadata/finalizers/%d"}]`, i, f, i)
					if _, err := cp.Dynamic.Resource(widgetsResource).Namespace(ns).Patch(ctx, w.GetName(), types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err == nil {
						mu.Lock()
						removed++
						mu.Unlock()
					}
				}
			}
		}
	}()
	var once sync.Once
	stop = func() int {
		once.Do(func() { cancel(); wg.Wait() })
		mu.Lock()
		defer mu.Unlock()
		return removed
	}
	t.Cleanup(func() { stop() })
	return stop
}

// requireGone fails t unless ns no longer exists.
func requireGone(t *testing.T, cp *controlplane.ControlPlane, ns string) {
	t.Helper()
	if phase := namespacePhase(t, cp, ns); phase != "Gone" {
		t.Errorf("namespace %s is %s, want gone", ns, phase)
	}
}

// requireContains fails t unless out contains every part.
func requireContains(t *testing.T, what, out string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(out, p) {
			t.Errorf("%s lacks %q", what, p)
		}
	}
}

// TestCLIDeleteOperatorNamespace: the operator runs in the namespace of the
// Widget it finalizes, and nsguard's webhook guards the namespace. Plain
// kubectl is denied (a dry run shows it); nsguard delete --dry-run prints
// the plan and changes nothing; without a terminal and without --yes it
// refuses; with --yes it deletes the Widgets while the operator runs, waits
// for them to go, deletes the namespace through the webhook, which now
// allows it, and watches it go.
func TestCLIDeleteOperatorNamespace(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	startWebhook(t, cp, "cli-delete", "--mode", "enforce")
	ns := guardedNamespace(t, cp, "cli-delete", "cli-del-op")
	apply(t, cp, fmt.Sprintf(operatorManifest, ns))
	markDeploymentReady(t, cp, ns, "operator")
	waitReadyReplicas(t, cp, ns, "operator", 1)
	t.Cleanup(func() { removeWidgetFinalizers(cp, ns) })
	stop := playOperator(t, cp, ns)

	if stderr, code := kubectlDelete(t, cp, cp.Kubeconfig(), ns, "--dry-run=server"); code == 0 || !strings.Contains(stderr, "controller-in-namespace") {
		t.Fatalf("plain kubectl delete --dry-run=server: exit %d, want a denial by the webhook\n%s", code, stderr)
	}

	deleteWidgets := "$ kubectl delete widgets.operator.e2e.nsguard.io --all -n " + ns + " --wait=true"
	out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard delete "+ns+" --dry-run")
	if code != 0 {
		t.Errorf("nsguard delete --dry-run: exit %d, want 0 (it would go ahead)", code)
	}
	requireContains(t, "the dry run", out, "WOULD BLOCK", deleteWidgets, "then wait for 1 object to go: Widget.operator.e2e.nsguard.io w1",
		"Check again, then delete namespace "+ns, "Dry run: nothing was changed.")
	if _, err := cp.Dynamic.Resource(widgetsResource).Namespace(ns).Get(t.Context(), "w1", metav1.GetOptions{}); err != nil || namespacePhase(t, cp, ns) != "Active" {
		t.Fatalf("the dry run changed something: widget %v, namespace %s", err, namespacePhase(t, cp, ns))
	}

	_, stderr, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard delete "+ns+" </dev/null")
	if code != 2 || !strings.Contains(stderr, "standard input is not a terminal; pass --yes") {
		t.Errorf("nsguard delete without a terminal or --yes: exit %d, want 2 and the reason", code)
	}

	out, _, code = runCLI(t, cp, cp.Kubeconfig(), "kubectl nsguard delete "+ns+" --yes --timeout 50s")
	if code != 0 {
		t.Fatalf("nsguard delete --yes: exit %d, want 0", code)
	}
	requireContains(t, "the output", out, deleteWidgets, "  1. delete every Widget.operator.e2e.nsguard.io in namespace "+ns, "all gone",
		"Checked again: nothing would block the deletion of "+ns, "Deleted namespace "+ns, "Namespace "+ns+" is gone")
	requireGone(t, cp, ns)
	if n := stop(); n != 1 {
		t.Errorf("the operator removed %d finalizers, want 1: the Widget must go through its cleanup, while it runs", n)
	}
}

// TestCLIDeleteHealthyNamespace: nothing to do first; delete deletes the
// namespace and watches it go. remediate refuses an Active namespace.
func TestCLIDeleteHealthyNamespace(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ns := cp.NewNamespace(t, "cli-del-healthy")
	apply(t, cp, fmt.Sprintf(healthyManifest, ns))

	_, stderr, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard remediate "+ns+" --yes")
	if code != 2 || !strings.Contains(stderr, "namespace "+ns+" is not being deleted: use nsguard delete "+ns) {
		t.Errorf("nsguard remediate of an Active namespace: exit %d, want 2 and a pointer to nsguard delete", code)
	}
	out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard delete "+ns+" --yes --timeout 50s")
	if code != 0 {
		t.Fatalf("nsguard delete: exit %d, want 0", code)
	}
	requireContains(t, "the output", out, "OK: nothing would block its deletion", "  1. Check again, then delete namespace "+ns, "Namespace "+ns+" is gone")
	requireGone(t, cp, ns)
	if _, stderr, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard delete "+ns+" --yes"); code != 2 || !strings.Contains(stderr, "not found") {
		t.Errorf("nsguard delete of a missing namespace: exit %d, want 2", code)
	}
}

const cliGroup = "cli.e2e.nsguard.io"

// orphanedGadget creates a namespace holding a Gadget (of cliGroup, whose
// controller nothing runs) with finalizer, and a ConfigMap.
func orphanedGadget(t *testing.T, cp *controlplane.ControlPlane, prefix, finalizer string) string {
	t.Helper()
	apply(t, cp, strings.ReplaceAll(gadgetCRD, gadgetGroup, cliGroup))
	ns := cp.NewNamespace(t, prefix)
	apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: %s}", cliGroup, ns, finalizer, ns))
	t.Cleanup(func() { removeFinalizersOf(t, cp, ns, cliGroup) })
	return ns
}

// catalogFile writes a finalizer catalog entry for finalizer and returns
// the file's path.
func catalogFile(t *testing.T, finalizer string, leaks bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	protects, removal := "nothing outside the cluster", "safe once the controller is gone"
	if leaks {
		protects, removal = "a cloud load balancer per gadget", "the load balancer stays and keeps costing"
	}
	err := os.WriteFile(path, []byte(fmt.Sprintf(`nsguard:
  catalog:
    finalizers:
      - id: e2e-cli-gadgets
        name: %s
        project: e2e
        handledBy: the gadget controller
        protects: %s
        leaks: %v
        removal: %s
`, finalizer, protects, leaks, removal)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLIDeleteOrphanedFinalizer: an Active namespace holds a Gadget whose
// controller is absent. nsguard delete refuses, with the reason, when
// removing the finalizer would leak or the catalog does not know it, and
// changes nothing; when the catalog says it leaks nothing, the removal is
// a safe step: the finalizer goes first, then the namespace.
func TestCLIDeleteOrphanedFinalizer(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	for _, tc := range []struct {
		name    string
		catalog string // "", "leaks", "safe"
		code    int
		want    []string
	}{
		{"unknown to the catalog", "", 1, []string{"will not remove finalizer " + cliGroup + "/unknown from Gadget." + cliGroup + " ", "nsguard's catalog does not know what it protects", "[orphaned-finalizer]", "Nothing was changed."}},
		{"leaks what it protects", "leaks", 1, []string{"will not remove finalizer " + cliGroup + "/leaks", "removing it leaks a cloud load balancer per gadget", "Nothing was changed."}},
		{"safe to remove", "safe", 0, []string{"1. remove finalizer " + cliGroup + "/safe from Gadget." + cliGroup, "before: {", `"finalizers":["` + cliGroup + `/safe"]`, "is gone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			finalizer := cliGroup + "/" + map[string]string{"": "unknown", "leaks": "leaks", "safe": "safe"}[tc.catalog]
			ns := orphanedGadget(t, cp, "cli-del-orphan", finalizer)
			flags := ""
			if tc.catalog != "" {
				flags = " --data " + catalogFile(t, finalizer, tc.catalog == "leaks")
			}
			out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard delete "+ns+" --yes --timeout 50s"+flags)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			requireContains(t, "the output", out, tc.want...)
			if tc.code == 0 {
				requireGone(t, cp, ns)
				return
			}
			requireContains(t, "the output", out, "nsguard delete will not delete namespace "+ns+": it needs a decision by a person first.")
			if phase, fins := namespacePhase(t, cp, ns), gadgetFinalizersOf(t, cp, ns, cliGroup); phase != "Active" || len(fins) != 1 {
				t.Errorf("after a refusal: namespace %s, finalizers %v; want Active with its finalizer", phase, fins)
			}
		})
	}
}

// TestCLIDeleteRefusesConversionWebhookInNamespace: a CRD's conversion
// webhook is served from the namespace; there is no safe automatic step,
// so nsguard delete refuses and changes nothing. The CRD's webhook is down,
// which slows every namespace deletion: a control plane of its own.
func TestCLIDeleteRefusesConversionWebhookInNamespace(t *testing.T) {
	t.Parallel()
	requireCluster(t)
	cp := controlplane.StartForTest(t, controlplane.Options{})
	ns := cp.NewNamespace(t, "cli-del-conversion")
	const crd = "things.conversion.e2e.nsguard.io"
	apply(t, cp, fmt.Sprintf(conversionManifest, ns))
	t.Cleanup(func() { _ = cp.Dynamic.Resource(crdResource).Delete(context.Background(), crd, metav1.DeleteOptions{}) })
	apply(t, cp, fmt.Sprintf(thingManifest, ns))

	out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard delete "+ns+" --yes")
	if code != 1 {
		t.Errorf("exit %d, want 1 (refused)", code)
	}
	requireContains(t, "the output", out, "nsguard delete will not delete namespace "+ns, crd, "[conversion-webhook-in-namespace]", "Nothing was changed.")
	if phase := namespacePhase(t, cp, ns); phase != "Active" {
		t.Errorf("namespace %s after a refusal, want Active", phase)
	}
	c, err := cp.Dynamic.Resource(crdResource).Get(t.Context(), crd, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strategy, _, _ := unstructuredString(c.Object, "spec", "conversion", "strategy"); strategy != "Webhook" {
		t.Errorf("the CRD's conversion strategy became %q", strategy)
	}
}

func unstructuredString(obj map[string]any, path ...string) (string, bool, error) {
	var cur any = obj
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[k]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

// TestCLIRemediateOrphanedFinalizer: a namespace stuck in Terminating on a
// Gadget whose controller is absent. --dry-run prints the guarded patch
// and changes nothing; without a terminal and without --yes remediate
// refuses; without the finalizer in --allow-finalizer the gate refuses it
// (the catalog does not know it); with it, remediate removes it, printing
// the Gadget's metadata before, and the namespace goes.
func TestCLIRemediateOrphanedFinalizer(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	finalizer := cliGroup + "/cleanup"
	ns := orphanedGadget(t, cp, "cli-rem-orphan", finalizer)
	g, err := cp.Dynamic.Resource(schema.GroupVersionResource{Group: cliGroup, Version: "v1", Resource: "gadgets"}).Namespace(ns).Get(t.Context(), "g1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deleteNamespace(t, cp, ns)
	waitHangs(t, cp, ns, corev1.NamespaceFinalizersRemaining)

	patch := fmt.Sprintf(`$ kubectl patch gadgets.%s g1 -n %s --type=json -p '[{"op":"test","path":"/metadata/uid","value":"%s"},{"op":"test","path":"/metadata/finalizers/0","value":"%s"},{"op":"remove","path":"/metadata/finalizers/0"}]'`,
		cliGroup, ns, g.GetUID(), finalizer)
	out, _, code := runCLI(t, cp, cp.Kubeconfig(), "kubectl nsguard remediate "+ns+" --dry-run --allow-finalizer "+finalizer)
	if code != 1 {
		t.Errorf("--dry-run: exit %d, want 1 (it still holds)", code)
	}
	requireContains(t, "the dry run", out, "BLOCKED", "Plan: 1 action to run", "1. remove finalizer "+finalizer+" from Gadget."+cliGroup+" "+ns+"/g1",
		"evidence: ", patch, "Dry run: nothing was changed.")
	if fins := gadgetFinalizersOf(t, cp, ns, cliGroup); len(fins) != 1 {
		t.Fatalf("the dry run changed the finalizers: %v", fins)
	}

	_, stderr, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard remediate "+ns+" --allow-finalizer "+finalizer+" </dev/null")
	if code != 2 || !strings.Contains(stderr, "standard input is not a terminal; pass --yes") {
		t.Errorf("without a terminal or --yes: exit %d, want 2 and the reason", code)
	}

	out, _, code = runCLI(t, cp, cp.Kubeconfig(), "nsguard remediate "+ns+" --yes")
	if code != 1 {
		t.Errorf("not allow-listed: exit %d, want 1", code)
	}
	requireContains(t, "the output", out, "Plan: 0 actions to run", "will not remove finalizer "+finalizer,
		"nsguard's catalog does not know what it protects; removal needs the finalizer in --allow-finalizer", "Nothing that nsguard may do.")
	if fins := gadgetFinalizersOf(t, cp, ns, cliGroup); len(fins) != 1 {
		t.Fatalf("a finalizer that is not allow-listed was removed: %v", fins)
	}

	out, _, code = runCLI(t, cp, cp.Kubeconfig(), "nsguard remediate "+ns+" --yes --timeout 50s --allow-finalizer "+finalizer)
	if code != 0 {
		t.Errorf("allow-listed, --yes: exit %d, want 0", code)
	}
	requireContains(t, "the output", out, "Running:", "before: {", `"finalizers":["`+finalizer+`"]`, `"deletionTimestamp":"`, "     done", "Namespace "+ns+" is gone")
	requireGone(t, cp, ns)

	// The steps are Events on the namespace, as the controller's are: the
	// object's metadata before the change, then the result.
	evs, err := cp.Client.EventsV1().Events(metav1.NamespaceDefault).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range evs.Items {
		if e.Regarding.Kind == "Namespace" && e.Regarding.Name == ns && e.ReportingController == "nsguard.io/cli" {
			if e.Related == nil || e.Related.Name != "g1" || e.Related.UID != g.GetUID() {
				t.Errorf("Event %s %q is not related to the Gadget: %+v", e.Reason, e.Note, e.Related)
			}
			got[e.Reason] = e.Note
		}
	}
	if n := got["Remediating"]; !strings.Contains(n, "its metadata before:") || !strings.Contains(n, finalizer) {
		t.Errorf("no Remediating Event with the Gadget's metadata before the change; Events: %q", got)
	}
	if n := got["Remediated"]; !strings.Contains(n, "did remove finalizer "+finalizer) {
		t.Errorf("no Remediated Event; Events: %q", got)
	}
}

// TestCLIRemediateLeavesLiveControllers: every liveness case whose
// controller is alive, stuck in Terminating with that controller's
// finalizer. Even with every action type allowed, the finalizer named in
// --allow-finalizer and --yes, remediate removes nothing and says why.
// Each case has an API group of its own, so that no case's controller
// makes another's finalizer alive.
func TestCLIRemediateLeavesLiveControllers(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	type stuck struct{ ns, ops, name, finalizer, group string }
	var all []stuck
	for i := range aliveCases(caseEnv{group: gadgetGroup}) {
		// Granted through ClusterRoleBindings, which outlive the
		// namespace's deletion as an operator's do.
		env := caseEnv{group: fmt.Sprintf("cli-alive-%d.e2e.nsguard.io", i), clusterWide: true}
		tc := aliveCases(env)[i]
		apply(t, cp, strings.ReplaceAll(gadgetCRD, gadgetGroup, env.group))
		finalizer := env.group + "/cleanup"
		ns := cp.NewNamespace(t, "cli-rem-alive")
		ops := cp.NewNamespace(t, "cli-rem-alive-ops")
		tc.setup(t, cp, ns, ops)
		apply(t, cp, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g1, namespace: %s, finalizers: [%s]}", env.group, ns, finalizer))
		t.Cleanup(func() { removeFinalizersOf(t, cp, ns, env.group) })
		deleteNamespace(t, cp, ns)
		all = append(all, stuck{ns, ops, tc.name, finalizer, env.group})
	}
	if len(all) == 0 {
		t.Fatal("no liveness case has a live controller")
	}
	types := []string{"remove-finalizer", "delete-object", "delete-all", "delete-apiservice", "delete-webhook-configuration", "patch-webhook-failure-policy", "scale-workload", "set-conversion-none"}
	for _, s := range all {
		waitHangs(t, cp, s.ns, corev1.NamespaceFinalizersRemaining)
		out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard remediate "+s.ns+" --yes --remediation-actions "+strings.Join(types, ",")+" --allow-finalizer "+s.finalizer)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1 (still held)", s.name, code)
		}
		// The evidence names the case's own controller.
		requireContains(t, s.name+": the output", out, "will not remove finalizer "+s.finalizer+" from 1 object: its controller is alive (", " "+s.ops+"/")
		if strings.Contains(out, "Running:") {
			t.Errorf("%s: remediate acted", s.name)
		}
		if fins := gadgetFinalizersOf(t, cp, s.ns, s.group); len(fins) != 1 {
			t.Errorf("%s: the live controller's finalizer was removed: %v", s.name, fins)
		}
	}
}

// runLong runs a command line like runCLI, for up to limit.
func runLong(t *testing.T, cp *controlplane.ControlPlane, limit time.Duration, command string) (string, string, int, time.Duration) {
	t.Helper()
	dir := nsguardBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(),
		"PATH="+dir+string(os.PathListSeparator)+cp.BinDir()+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+cp.Kubeconfig(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	took := time.Since(began)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", command, err)
	}
	t.Logf("$ %s  (exit %d, %s)\n%s%s", command, code, took.Round(time.Millisecond), stdout.String(), stderr.String())
	return stdout.String(), stderr.String(), code, took
}

var goneIn = regexp.MustCompile(`Namespace \S+ is gone \(([0-9.]+m?s)\)`)

// TestCLIDeleteAgainstPlainKubectl measures the operator namespace both
// ways, side by side: plain kubectl delete namespace hangs (still
// Terminating, NamespaceFinalizersRemaining, when kubectl gives up after
// 60 s), while nsguard delete finishes. docs/benchmarks.md quotes it.
func TestCLIDeleteAgainstPlainKubectl(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	t.Run("kubectl delete namespace", func(t *testing.T) {
		t.Parallel()
		ns := operatorInItsNamespace(t, cp, "cli-bench-kubectl")
		playOperator(t, cp, ns)
		_, stderr, code, took := runLong(t, cp, 90*time.Second, "kubectl delete namespace "+ns+" --timeout=60s")
		if code == 0 {
			t.Fatalf("kubectl delete namespace %s finished: the scenario did not hang", ns)
		}
		got, err := cp.Client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cond := conditionLine(got, corev1.NamespaceFinalizersRemaining)
		if got.Status.Phase != corev1.NamespaceTerminating || !strings.Contains(cond, "=True") {
			t.Errorf("after kubectl gave up: phase %s, %s; want Terminating with NamespaceFinalizersRemaining", got.Status.Phase, cond)
		}
		t.Logf("MEASURE kubectl delete namespace: gave up after %s (%s); the namespace is %s, %s",
			took.Round(100*time.Millisecond), strings.TrimSpace(stderr), got.Status.Phase, cond)
	})
	t.Run("nsguard delete", func(t *testing.T) {
		t.Parallel()
		ns := operatorInItsNamespace(t, cp, "cli-bench-nsguard")
		playOperator(t, cp, ns)
		out, _, code, took := runLong(t, cp, 90*time.Second, "nsguard delete "+ns+" --yes")
		if code != 0 {
			t.Fatalf("nsguard delete %s: exit %d", ns, code)
		}
		requireGone(t, cp, ns)
		watched := ""
		if m := goneIn.FindStringSubmatch(out); m != nil {
			watched = m[1]
		}
		t.Logf("MEASURE nsguard delete: gone after %s in all, of which %s watching the namespace go after its DELETE", took.Round(100*time.Millisecond), watched)
	})
}
