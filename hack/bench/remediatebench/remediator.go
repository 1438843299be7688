package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/test/controlplane"
)

// leaseName is the remediator's leader-election Lease (cmd/nsguard/serve.go).
const leaseName = "nsguard-remediator"

// remediator is a running nsguard serve --components remediator.
type remediator struct {
	cmd        *exec.Cmd
	done       chan struct{}
	logPath    string
	metricsURL string
	readyURL   string
	args       []string
}

// settings are the remediator's flags that the figures depend on.
type settings struct {
	StuckAfter          time.Duration `json:"stuckAfterNs"`
	ControllerGoneAfter time.Duration `json:"controllerGoneAfterNs"`
	Recheck             time.Duration `json:"recheckIntervalNs"`
	QPS                 float64       `json:"remediationQps"`
}

// startRemediator starts nsguard serve --components remediator as the
// end-to-end tests do: the control plane's administrator, its state and
// Lease in stateNS, metrics and probes on free loopback ports. It returns
// once /readyz passes (caches synced) and it holds the Lease (only the
// leader reconciles).
func startRemediator(ctx context.Context, cp *controlplane.ControlPlane, nsguard, stateNS, finalizer, logPath string, s settings) (*remediator, error) {
	var ports [2]string
	for i := range ports {
		p, err := controlplane.FreePort()
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ports[i] = p
	}
	r := &remediator{
		done: make(chan struct{}), logPath: logPath,
		metricsURL: "http://127.0.0.1:" + ports[0] + "/metrics",
		readyURL:   "http://127.0.0.1:" + ports[1] + "/readyz",
	}
	r.args = []string{"serve", "--components", "remediator",
		"--kubeconfig", cp.Kubeconfig(), "--state-namespace", stateNS,
		"--metrics-bind-address", "127.0.0.1:" + ports[0], "--health-probe-bind-address", "127.0.0.1:" + ports[1],
		"--remediation", "on", "--remediation-actions", "remove-finalizer", "--allow-finalizer", finalizer,
		"--stuck-after", s.StuckAfter.String(), "--controller-gone-after", s.ControllerGoneAfter.String(),
		"--recheck-interval", s.Recheck.String(), "--remediation-qps", fmt.Sprint(s.QPS),
		// The pass log lines (level 1) count the passes per namespace.
		"-v", "1"}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("remediator log: %w", err)
	}
	r.cmd = exec.Command(nsguard, r.args...)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	dieWithParent(r.cmd)
	if err := r.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start nsguard serve --components remediator: %w", err)
	}
	go func() { _ = r.cmd.Wait(); logf.Close(); close(r.done) }()
	if err := r.waitReady(ctx, cp, stateNS); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *remediator) waitReady(ctx context.Context, cp *controlplane.ControlPlane, stateNS string) error {
	exited := func() error {
		select {
		case <-r.done:
			return fmt.Errorf("nsguard serve exited:\n%s", r.logTail(30))
		default:
			return nil
		}
	}
	err := controlplane.WaitFor(ctx, 60*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.readyURL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the remediator to be ready: %w\n%s", err, r.logTail(20))
	}
	// A fresh state namespace per run: the first holder is this process.
	err = controlplane.WaitFor(ctx, 60*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		l, err := cp.Client.CoordinationV1().Leases(stateNS).Get(ctx, leaseName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read the remediator's Lease: %w", err)
		}
		return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", nil
	})
	if err != nil {
		return fmt.Errorf("wait for the remediator to lead: %w\n%s", err, r.logTail(20))
	}
	return nil
}

// stop interrupts the remediator (it then releases its Lease) and waits
// for it, killing it after 10 s.
func (r *remediator) stop() { controlplane.Interrupt(r.cmd, r.done, 10*time.Second) }

func (r *remediator) pid() int { return r.cmd.Process.Pid }

// metrics returns the text of the remediator's /metrics.
func (r *remediator) metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.metricsURL, nil)
	if err != nil {
		return "", fmt.Errorf("read the remediator's metrics: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("read the remediator's metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read the remediator's metrics: %w", err)
	}
	return string(b), nil
}

// requests is what rest_client_requests_total says the process has sent,
// by "METHOD code".
type requests map[string]float64

func restRequests(text string) requests {
	out := requests{}
	for _, s := range measure.MetricSamples(text, "rest_client_requests_total") {
		out[s.Labels["method"]+" "+s.Labels["code"]] += s.Value
	}
	return out
}

// since returns the requests made after before.
func (q requests) since(before requests) requests {
	out := requests{}
	for k, v := range q {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (q requests) total() float64 {
	var n float64
	for _, v := range q {
		n += v
	}
	return n
}

func (r *remediator) logText() string {
	b, _ := os.ReadFile(r.logPath)
	return string(b)
}

func (r *remediator) logTail(lines int) string {
	l := strings.Split(strings.TrimRight(r.logText(), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// activity is what the remediator logged about the measured namespaces.
type activity struct {
	// Passes counts the passes over stuck namespaces (level 1 "pass"
	// lines), MaxPasses the most of one namespace.
	Passes    int `json:"passes"`
	MaxPasses int `json:"maxPassesPerNamespace"`
	// Remediated and Failed count the actions that succeeded and failed.
	Remediated int `json:"remediated"`
	Failed     int `json:"failed"`
	// Errors counts the lines with an error, whatever they are about (the
	// process is started for one run), but the readiness probe's.
	Errors int `json:"errors"`
}

// parseActivity reads the remediator's JSON log lines about the namespaces
// in names.
func parseActivity(text string, names map[string]bool) activity {
	var a activity
	passes := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var e struct {
			Logger    string `json:"logger"`
			Msg       string `json:"msg"`
			Namespace string `json:"namespace"`
			Error     string `json:"error"`
		}
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		// The readiness probe fails until the caches have synced: not an
		// error of the run.
		if e.Error != "" && e.Logger != "controller-runtime/healthz" {
			a.Errors++
		}
		if !names[e.Namespace] {
			continue
		}
		switch e.Msg {
		case "pass":
			passes[e.Namespace]++
			a.Passes++
		case "remediated":
			a.Remediated++
		case "remediation failed":
			a.Failed++
		}
	}
	for _, n := range passes {
		a.MaxPasses = max(a.MaxPasses, n)
	}
	return a
}
