package policies

import (
	"bytes"
	"context"
	"testing"
)

// TestRegoPolicies runs every built-in _test.rego through OPA's tester, so
// that `go test ./policies/` fails when a Rego test fails.
func TestRegoPolicies(t *testing.T) {
	results, err := RunTests(context.Background(), TestOptions{Builtin: true})
	if err != nil {
		t.Fatalf("run Rego tests: %v", err)
	}
	if len(results) < 50 {
		t.Fatalf("found %d Rego tests, want the built-in suite", len(results))
	}
	var buf bytes.Buffer
	ok, err := ReportTests(&buf, results, false)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Errorf("Rego tests failed:\n%s", buf.String())
	}
}
