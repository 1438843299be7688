package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
)

// slowTransport delays every request but the GET of one namespace, as a
// slow or overloaded API server would, until the request's context ends.
type slowTransport struct {
	next      http.RoundTripper
	namespace string
	delay     time.Duration
}

func (s *slowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/api/v1/namespaces/"+s.namespace {
		select {
		case <-time.After(s.delay):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return s.next.RoundTrip(req)
}

// TestDiagnoseDeadline: when the deadline expires before the cluster has
// answered, the snapshot comes back at once, marked incomplete, saying in
// words what was not checked; the report is still built from what was
// gathered, and unknown liveness is never reported as absent.
func TestDiagnoseDeadline(t *testing.T) {
	t.Parallel()
	cp := requireCluster(t)
	ns := cp.NewNamespace(t, "dg-deadline")
	if err := cp.Apply(t.Context(), `
apiVersion: v1
kind: ConfigMap
metadata: {name: held, namespace: `+ns+`, finalizers: [example.com/hold]}
`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // let the namespace go once the test is over
		_, _ = cp.Kubectl(context.Background(), "patch", "configmap", "held", "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	})

	const delay = 2 * time.Second
	cfg := rest.CopyConfig(cp.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &slowTransport{next: rt, namespace: ns, delay: delay}
	})
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	began := time.Now()
	s, err := inventory.FromCluster(ctx, cfg, ns, inventory.ClusterOptions{})
	took := time.Since(began)
	if err != nil {
		t.Fatalf("FromCluster with an expired deadline: %v", err)
	}
	t.Logf("FromCluster returned after %s; incomplete: %q", took.Round(time.Millisecond), s.Incomplete)
	// Waiting for any delayed request would take the whole delay; a busy
	// machine may add some time to the deadline, never that much.
	if took >= delay {
		t.Errorf("FromCluster took %s with a deadline of %s: it waited for a slow request", took, deadline)
	}
	if s.Complete || len(s.Incomplete) == 0 {
		t.Fatalf("the snapshot should be incomplete")
	}
	text := strings.Join(s.Incomplete, "\n")
	for _, want := range []string{"context deadline exceeded", "Deployments cluster-wide not checked", "resource types in the namespace not checked"} {
		if !strings.Contains(text, want) {
			t.Errorf("Incomplete does not say %q:\n%s", want, text)
		}
	}
	if s.Namespaces[ns] == nil || s.Namespaces[ns].ObjectID < 0 {
		t.Errorf("the namespace itself, read before the deadline, is missing from the snapshot")
	}

	r := diagnose.Build(s, nil, diagnose.Options{})
	if r.Complete || len(r.Incomplete) == 0 || r.Namespace != ns {
		t.Errorf("report: namespace %q complete %v incomplete %q", r.Namespace, r.Complete, r.Incomplete)
	}
	for _, f := range s.Finalizers {
		if f.Liveness == inventory.LivenessAbsent {
			t.Errorf("finalizer %s called absent from an incomplete snapshot", f.Finalizer)
		}
	}

	// The command prints the incomplete report; with nothing found to
	// block, it exits 0 but says what it could not check.
	out, _, code := runCLI(t, cp, cp.Kubeconfig(), "nsguard diagnose "+ns+" --timeout=1ns -o json")
	if code != 2 && code != 0 {
		t.Errorf("nsguard diagnose --timeout=1ns: exit %d, want 0 (incomplete report) or 2 (namespace not read in time)", code)
	}
	if code == 0 {
		if jr := decodeReport(t, out); jr.Complete || len(jr.Incomplete) == 0 {
			t.Errorf("JSON report after a 1ns timeout: complete %v, incomplete %q", jr.Complete, jr.Incomplete)
		}
	}
}
