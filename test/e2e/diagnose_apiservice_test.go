package e2e

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/test/controlplane"
)

// TestDiagnoseUnavailableAPIService: an aggregated APIService whose Service
// does not exist (its server was uninstalled with its namespace). Discovery
// of its group-version fails, and the namespace controller then cannot
// finish deleting ANY namespace: the test deletes the namespace the Service
// lived in and an unrelated one, and both hang with
// NamespaceDeletionDiscoveryFailure. Diagnose says so for each; its plan
// deletes the APIService, and both namespaces go.
//
// Breaking discovery breaks every namespace deletion in the cluster, so this
// test runs on a control plane of its own: the tests that share the
// package's control plane never see it.
func TestDiagnoseUnavailableAPIService(t *testing.T) {
	t.Parallel()
	requireCluster(t) // skips in -short mode like the others
	cp := controlplane.StartForTest(t, controlplane.Options{})
	ctx := t.Context()
	metrics := cp.NewNamespace(t, "dg-metrics")
	other := cp.NewNamespace(t, "dg-unrelated")
	const apiService = "v1alpha1.missing.e2e.nsguard.io"
	if err := cp.Apply(ctx, fmt.Sprintf(apiServiceManifest, metrics)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // whatever happens, give the control plane its discovery back
		err := cp.Dynamic.Resource(apiServicesResource).Delete(context.Background(), apiService, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("deleting APIService %s: %v", apiService, err)
		}
	})
	// Wait until the aggregator has found the APIService unavailable.
	err := cp.WaitFor(ctx, hangTimeout, poll, func(ctx context.Context) (bool, error) {
		a, err := cp.Dynamic.Resource(apiServicesResource).Get(ctx, apiService, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return unstructuredConditions(a.Object)["Available"] == "False", nil
	})
	if err != nil {
		t.Fatalf("APIService %s never became unavailable: %v", apiService, err)
	}

	deleteNamespace(t, cp, metrics)
	deleteNamespace(t, cp, other)
	waitHangs(t, cp, metrics, corev1.NamespaceDeletionDiscoveryFailure)
	waitHangs(t, cp, other, corev1.NamespaceDeletionDiscoveryFailure)

	var cmd string
	for _, ns := range []string{metrics, other} {
		res := runDiagnose(t, cp.Config, ns)
		r := res.Report
		if r.State != diagnose.StateTerminating || !r.Blocked {
			t.Errorf("%s: state %s, blocked %v; want Terminating and blocked", ns, r.State, r.Blocked)
		}
		f := requireRule(t, r, "unavailable-apiservice")
		if f.Object.Name != apiService {
			t.Errorf("%s: the finding is about %s, want %s", ns, f.Object.Name, apiService)
		}
		if !regexp.MustCompile(`(any|every) namespace`).MatchString(f.Message) {
			t.Errorf("%s: the finding does not say that every namespace deletion stalls: %s", ns, f.Message)
		}
		failed := res.Snapshot.Discovery.FailedGroupVersions
		if len(failed) != 1 || failed[0].GroupVersion != "missing.e2e.nsguard.io/v1alpha1" {
			t.Errorf("%s: failed group-versions %+v, want missing.e2e.nsguard.io/v1alpha1", ns, failed)
		}
		requireNoForbiddenAdvice(t, r)
		st, c, i := stepWith(r, "kubectl delete apiservices.apiregistration.k8s.io "+apiService)
		if c == "" || i != 0 || st.Safety != diagnose.SafetySafe {
			t.Fatalf("%s: the plan does not start with a safe deletion of the APIService (step %d, %s): %+v", ns, i, st.Safety, r.Plan)
		}
		cmd = c
	}
	runPlanCommand(t, cp, cmd)
	waitGone(t, cp, metrics)
	waitGone(t, cp, other)
}

var apiServicesResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

const apiServiceManifest = `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.missing.e2e.nsguard.io}
spec:
  group: missing.e2e.nsguard.io
  version: v1alpha1
  service: {namespace: %[1]s, name: missing-metrics-server, port: 443}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
`

// unstructuredConditions maps status.conditions type → status.
func unstructuredConditions(obj map[string]any) map[string]string {
	out := map[string]string{}
	st, _ := obj["status"].(map[string]any)
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		typ, _ := cm["type"].(string)
		status, _ := cm["status"].(string)
		out[typ] = status
	}
	return out
}
