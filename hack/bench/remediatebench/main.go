// Command remediatebench measures nsguard's remediator, `nsguard serve
// --components remediator --remediation on --remediation-actions
// remove-finalizer`, on the local control plane with
// kube-controller-manager running, so that namespaces really get stuck and
// really go: 1, 10 and 100 namespaces, each holding a few ordinary objects
// and one custom resource whose finalizer no controller handles, deleted at
// once. For each run it reports the time from stuck to gone and from the
// DELETE to gone, the process's CPU and peak memory, and its API requests
// per namespace (client-go's rest_client_requests_total, and the API
// server's audit log for what they were).
//
// It is what `make bench-remediate` runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/hack/bench/internal/population"
	"github.com/nsguard/nsguard/hack/bench/internal/sysinfo"
	"github.com/nsguard/nsguard/test/controlplane"
)

type options struct {
	nsguard  string
	binDir   string
	sizes    string
	objects  int
	settings settings
	timeout  time.Duration
	settle   time.Duration
	workers  int
	audit    bool
	logDir   string
	results  string
}

func main() {
	var o options
	flag.StringVar(&o.nsguard, "nsguard", "bin/nsguard", "nsguard binary")
	flag.StringVar(&o.binDir, "k8s-bin", "", "directory of etcd, kube-apiserver, kube-controller-manager and kubectl (default: test/controlplane's: $KUBEBUILDER_ASSETS or bin/k8s/<version>)")
	flag.StringVar(&o.sizes, "sizes", "1,10,100", "namespaces stuck at once in each run (comma-separated)")
	flag.IntVar(&o.objects, "objects", 10, "objects in each namespace: one custom resource with an orphaned finalizer, the rest ordinary objects")
	flag.DurationVar(&o.settings.StuckAfter, "stuck-after", 10*time.Second, "the remediator's --stuck-after")
	flag.DurationVar(&o.settings.ControllerGoneAfter, "controller-gone-after", 10*time.Second, "the remediator's --controller-gone-after")
	flag.DurationVar(&o.settings.Recheck, "recheck-interval", 5*time.Second, "the remediator's --recheck-interval")
	flag.Float64Var(&o.settings.QPS, "remediation-qps", 1, "the remediator's --remediation-qps (its default: 1)")
	flag.DurationVar(&o.timeout, "timeout", 4*time.Minute, "longest wait for a run's namespaces to go")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "wait after the last namespace went before the second scrape (the remediator forgets its state then)")
	flag.IntVar(&o.workers, "workers", 16, "parallel API requests while creating the objects")
	flag.BoolVar(&o.audit, "audit", true, "record the administrators' requests in an API server audit log, to tell what the remediator's requests were")
	flag.StringVar(&o.logDir, "log-dir", "", "keep the control plane's, the remediators' and the audit log in this directory (default: a temporary one, removed)")
	flag.StringVar(&o.results, "results", "bin/bench/remediate.json", "file the figures are written to as JSON (\"\" for none)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "remediatebench: %v\n", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, o options, out io.Writer) (retErr error) {
	sizes, err := measure.ParseSizes("sizes", o.sizes)
	if err != nil {
		return err
	}
	if o.objects < 1 {
		return fmt.Errorf("-objects must be at least 1 (the custom resource)")
	}
	nsguard, err := filepath.Abs(o.nsguard)
	if err != nil {
		return fmt.Errorf("find nsguard: %w", err)
	}
	if _, err := os.Stat(nsguard); err != nil {
		return fmt.Errorf("find nsguard: %w (make build)", err)
	}
	began := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[%4.0fs] "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	r := results{Date: time.Now().UTC().Format(time.RFC3339), Machine: sysinfo.Describe(), Settings: o.settings}
	fmt.Fprintf(out, "Machine  %s\n", r.Machine)
	fmt.Fprintf(out, "Load     %s\n", sysinfo.Load())

	var apiArgs []string
	var auditLog string
	if o.audit {
		dir := o.logDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "nsguard-bench-audit-"); err != nil {
				return fmt.Errorf("audit directory: %w", err)
			}
			defer os.RemoveAll(dir)
		} else if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("log directory: %w", err)
		}
		policy := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
			return fmt.Errorf("audit policy: %w", err)
		}
		auditLog = filepath.Join(dir, "audit.log")
		apiArgs = []string{"--audit-policy-file=" + policy, "--audit-log-path=" + auditLog}
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: o.binDir, APIServerArgs: apiArgs, LogDir: o.logDir})
	if err != nil {
		return fmt.Errorf("start the control plane: %w", err)
	}
	defer func() {
		if err := cp.Stop(); err != nil && retErr == nil {
			retErr = fmt.Errorf("stop the control plane: %w", err)
		}
	}()
	logf("Cluster  local control plane (etcd, kube-apiserver, kube-controller-manager %s) from %s", controlplane.KubernetesVersion, cp.BinDir())

	// No client-side limit: the DELETEs must leave together, and the
	// benchmark's watches must not wait behind them.
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = -1, 0
	e := &env{o: o, cp: cp, nsguard: nsguard, auditLog: auditLog, logf: logf}
	if e.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if e.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	if e.creator, err = population.NewCreator(cp.Config); err != nil {
		return err
	}
	// One CRD, whose custom resources carry a finalizer that nothing in
	// the cluster handles.
	if err := e.creator.CreateCRDs(ctx, population.CRDs(1, false)); err != nil {
		return err
	}
	probe := population.Namespace("probe", 1, 1, 1)[0]
	e.crd, e.finalizer = probe.GVR, probe.Obj.GetFinalizers()[0]
	r.Finalizer = e.finalizer
	logf("CRD      %s established; finalizer %s, handled by nothing", e.crd.GroupResource(), e.finalizer)

	for _, n := range sizes {
		res, err := runOnce(ctx, e, n)
		if err != nil {
			return fmt.Errorf("%d namespace(s): %w", n, err)
		}
		r.Runs = append(r.Runs, res)
		logf("Run      %d namespace(s): gone %s after stuck (p50), %s at most; %.1f requests per namespace",
			n, secs(res.GoneAfterStuck.P50), secs(res.GoneAfterStuck.Max), res.requestsPerNamespace())
	}
	r.Total = time.Since(began)
	fmt.Fprintln(out)
	r.print(out)
	if o.results != "" {
		if err := measure.WriteJSON(o.results, r); err != nil {
			return err
		}
		fmt.Fprintf(out, "Figures written to %s\n", o.results)
	}
	fmt.Fprintf(out, "Total    %s\n", r.Total.Round(time.Second))
	return nil
}
