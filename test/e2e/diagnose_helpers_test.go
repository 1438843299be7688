package e2e

import (
	"bytes"
	"context"
	"encoding/json"
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
	"k8s.io/client-go/rest"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/test/controlplane"
)

// The diagnose scenarios: each builds one cause of a stuck namespace on a
// real control plane, proves that the namespace really hangs, and checks
// what `nsguard diagnose` says about it (in-process through diagnose.Run,
// the command's own code path, and, in some, through the built binary).

// Deadlines of the scenarios. The namespace controller first acts ~5 s
// after a deletion and re-checks every ~8 s (see test/controlplane).
const (
	hangTimeout = 60 * time.Second // until a deleted namespace shows it hangs
	goneTimeout = 60 * time.Second // until an unblocked namespace is gone
	poll        = 200 * time.Millisecond
)

var (
	engineOnce sync.Once
	engine     *policies.Engine
	engineErr  error
)

// policyEngine is the built-in rule set, compiled once per package.
func policyEngine(t *testing.T) *policies.Engine {
	t.Helper()
	engineOnce.Do(func() { engine, engineErr = policies.New(context.Background(), policies.Options{}) })
	if engineErr != nil {
		t.Fatalf("compiling the policies: %v", engineErr)
	}
	return engine
}

// runDiagnose diagnoses ns in-process, the way the command does, and logs
// the text report and the time the inventory took.
func runDiagnose(t *testing.T, cfg *rest.Config, ns string) *diagnose.Result {
	t.Helper()
	res, err := tryDiagnose(t, cfg, ns)
	if err != nil {
		t.Fatalf("diagnose %s: %v", ns, err)
	}
	return res
}

// tryDiagnose is runDiagnose for a namespace that may be gone by now.
func tryDiagnose(t *testing.T, cfg *rest.Config, ns string) (*diagnose.Result, error) {
	t.Helper()
	res, err := diagnose.Run(t.Context(), cfg, ns, policyEngine(t), diagnose.RunOptions{Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := (&diagnose.TextRenderer{Width: 120}).Render(&buf, res.Report); err != nil {
		t.Fatal(err)
	}
	t.Logf("diagnose %s: inventory %s (%d objects in the namespace, %d resource types, %d in the snapshot), rules %s\n%s",
		ns, res.Inventory.Round(time.Millisecond), res.Report.ObjectsInNamespace, res.Report.ResourceTypes,
		len(res.Snapshot.Objects), res.Evaluate.Round(time.Millisecond), buf.String())
	return res, nil
}

// deleteNamespace sends the DELETE of a namespace.
func deleteNamespace(t *testing.T, cp *controlplane.ControlPlane, ns string) {
	t.Helper()
	if err := cp.Client.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting namespace %s: %v", ns, err)
	}
}

// waitHangs waits until the namespace controller reports, with condition
// cond True, that it cannot finish deleting ns, and returns the namespace.
func waitHangs(t *testing.T, cp *controlplane.ControlPlane, ns string, cond corev1.NamespaceConditionType) *corev1.Namespace {
	t.Helper()
	var last *corev1.Namespace
	began := time.Now()
	err := cp.WaitFor(t.Context(), hangTimeout, poll, func(ctx context.Context) (bool, error) {
		got, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = got
		for _, c := range got.Status.Conditions {
			if c.Type == cond && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("namespace %s does not report %s: %v; status: %s", ns, cond, err, describeStatus(last))
	}
	t.Logf("namespace %s hangs: %s after %s", ns, conditionLine(last, cond), time.Since(began).Round(time.Millisecond))
	return last
}

// waitGone waits until ns no longer exists.
func waitGone(t *testing.T, cp *controlplane.ControlPlane, ns string) {
	t.Helper()
	began := time.Now()
	var last *corev1.Namespace
	err := cp.WaitFor(t.Context(), goneTimeout, poll, func(ctx context.Context) (bool, error) {
		got, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		last = got
		return false, err
	})
	if err != nil {
		t.Fatalf("namespace %s is still there: %v; status: %s", ns, err, describeStatus(last))
	}
	t.Logf("namespace %s gone after %s", ns, time.Since(began).Round(time.Millisecond))
}

func conditionLine(ns *corev1.Namespace, cond corev1.NamespaceConditionType) string {
	for _, c := range ns.Status.Conditions {
		if c.Type == cond {
			return fmt.Sprintf("%s=%s %q", c.Type, c.Status, c.Message)
		}
	}
	return string(cond) + " absent"
}

func describeStatus(ns *corev1.Namespace) string {
	if ns == nil {
		return "unknown"
	}
	b, _ := json.Marshal(ns.Status)
	return string(b)
}

// runPlanCommand runs one command of a fix plan exactly as printed, through
// a shell, with the control plane's kubectl first on PATH.
func runPlanCommand(t *testing.T, cp *controlplane.ControlPlane, command string) string {
	t.Helper()
	if !strings.HasPrefix(command, "kubectl ") {
		t.Fatalf("plan command %q does not start with kubectl", command)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(), "PATH="+cp.BinDir()+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+cp.Kubeconfig())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("plan command %q: %v\n%s", command, err, out)
	}
	t.Logf("ran the plan's command %q: %s", command, strings.TrimSpace(string(out)))
	return string(out)
}

// findings returns the report's findings of one rule.
func findingsOf(r *diagnose.Report, rule string) []policies.Finding {
	var out []policies.Finding
	for _, f := range r.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// requireRule fails t unless the report has a finding of one of the rules
// (rules that say the same thing from different facts).
func requireRule(t *testing.T, r *diagnose.Report, rules ...string) policies.Finding {
	t.Helper()
	for _, rule := range rules {
		if fs := findingsOf(r, rule); len(fs) > 0 {
			return fs[0]
		}
	}
	t.Fatalf("no finding of %s in the report of %s; findings: %s", strings.Join(rules, " or "), r.Namespace, ruleList(r))
	return policies.Finding{}
}

func ruleList(r *diagnose.Report) string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Severity+" "+f.Rule+" "+f.Object.GroupKind()+" "+f.Object.Name)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// stepWith returns the first plan step with a command containing all the
// given parts, and its index.
func stepWith(r *diagnose.Report, parts ...string) (diagnose.Step, string, int) {
	for i, st := range r.Plan {
		for _, c := range st.Commands {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(c, p)
			}
			if ok {
				return st, c, i
			}
		}
	}
	return diagnose.Step{}, "", -1
}

// forbiddenAdvice is what a plan must never suggest: kubectl proxy, the
// namespace finalize subresource, etcd, anonymous or cluster-admin access,
// emptying a finalizer list blindly.
var forbiddenAdvice = regexp.MustCompile(`proxy|/finalize\b|etcd|cluster-admin|anonymous|"finalizers":\s*(\[\s*\]|null)`)

// requireNoForbiddenAdvice checks what the plan must never suggest.
func requireNoForbiddenAdvice(t *testing.T, r *diagnose.Report) {
	t.Helper()
	for _, st := range r.Plan {
		for _, c := range st.Commands {
			if bad := forbiddenAdvice.FindString(c); bad != "" {
				t.Errorf("plan step %q suggests %q: %s", st.Title, bad, c)
			}
		}
	}
}

// finalizerOf returns what the report says of one finalizer.
func finalizerOf(t *testing.T, r *diagnose.Report, name string) diagnose.Finalizer {
	t.Helper()
	for _, f := range r.Finalizers {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("the report of %s says nothing of finalizer %s", r.Namespace, name)
	return diagnose.Finalizer{}
}

var (
	cliOnce sync.Once
	cliDir  string
	cliErr  error
)

// nsguardBinary builds cmd/nsguard once per package, as kubectl-nsguard
// beside a plain nsguard, and returns the directory that holds both.
func nsguardBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nsguard-e2e-bin-")
		if err != nil {
			cliErr = err
			return
		}
		cliDir = dir
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "nsguard"), "github.com/nsguard/nsguard/cmd/nsguard").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		cliErr = os.Symlink("nsguard", filepath.Join(dir, "kubectl-nsguard"))
	})
	if cliErr != nil {
		t.Fatalf("building nsguard: %v", cliErr)
	}
	return cliDir
}

// runCLI runs a command line in a shell with the built nsguard and the
// control plane's kubectl on PATH and KUBECONFIG pointing at it, and
// returns standard output, standard error and the exit code.
func runCLI(t *testing.T, cp *controlplane.ControlPlane, kubeconfig, command string) (string, string, int) {
	t.Helper()
	dir := nsguardBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(),
		"PATH="+dir+string(os.PathListSeparator)+cp.BinDir()+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+kubeconfig, "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", command, err)
	}
	t.Logf("$ %s  (exit %d, %s)\n%s%s", command, code, time.Since(began).Round(time.Millisecond), stdout.String(), stderr.String())
	return stdout.String(), stderr.String(), code
}

// decodeReport reads the JSON output of nsguard diagnose.
func decodeReport(t *testing.T, out string) *diagnose.Report {
	t.Helper()
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, out)
	}
	return &r
}

// requireComplete fails t when the snapshot missed something.
func requireComplete(t *testing.T, s *inventory.Snapshot) {
	t.Helper()
	if !s.Complete {
		t.Fatalf("the snapshot of %s is incomplete: %s", s.Target, strings.Join(s.Incomplete, "; "))
	}
}
