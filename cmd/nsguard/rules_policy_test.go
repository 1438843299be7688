package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns its exit code and
// output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestRulesCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "rules")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ID", "SEVERITY", "LIVE", "controller-in-namespace", "orphaned-finalizer", "yes", "waiver-without-reason"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, "rules", "-o", "json", "--policy", filepath.Join("..", "..", "examples", "custom-policy"))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Rules []struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			Live     bool   `json:"live"`
			Builtin  bool   `json:"builtin"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("rules -o json: %v\n%s", err, out)
	}
	found := false
	for _, r := range doc.Rules {
		if r.ID == "team-finalizer-owner" && !r.Builtin && r.Severity == "deny" {
			found = true
		}
	}
	if !found {
		t.Errorf("custom rule missing from %s", out)
	}

	code, out, _ = runCLI(t, "rules", "unavailable-apiservice")
	if code != exitOK || !strings.Contains(out, "live:     yes") || !strings.Contains(out, "EVERY") {
		t.Errorf("rules ID: exit %d\n%s", code, out)
	}
	if code, _, errOut = runCLI(t, "rules", "no-such-rule"); code != exitUsage || !strings.Contains(errOut, "unknown rule") {
		t.Errorf("unknown rule: exit %d: %s", code, errOut)
	}
	if code, _, _ = runCLI(t, "rules", "-o", "yaml"); code != exitUsage {
		t.Errorf("unknown format: exit %d", code)
	}
}

func TestPolicyTestCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "test", filepath.Join("..", "..", "examples", "custom-policy"))
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "PASS: ") {
		t.Errorf("no summary:\n%s", out)
	}

	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fail_test.rego", "package mine_test\n\ntest_fails if {\n\t1 == 2\n}\n")
	code, out, _ = runCLI(t, "policy", "test", "--builtin=false", dir)
	if code != exitFindings || !strings.Contains(out, "fail_test.rego:4") {
		t.Errorf("failing test: exit %d\n%s", code, out)
	}

	write("broken.rego", "package nsguard.rules.broken\n\nfindings contains f if {\n\tf := nope(1)\n}\n")
	code, _, errOut = runCLI(t, "policy", "test", dir)
	if code != exitUsage || !strings.Contains(errOut, "broken.rego:4") {
		t.Errorf("compile error: exit %d: %s", code, errOut)
	}
}
