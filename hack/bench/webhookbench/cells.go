package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/hack/bench/internal/recipe"
	"github.com/nsguard/nsguard/test/controlplane"
)

// cell is one series of dry-run deletions of one namespace through one
// webhook.
type cell struct {
	Cluster          string `json:"cluster"`
	ClusterObjects   int    `json:"clusterObjects"`
	Mode             string `json:"mode"`
	Namespace        string `json:"namespace"`
	NamespaceObjects int    `json:"namespaceObjectsCreated"`
	Reps             int    `json:"reps"`
	// RoundTrip is the DELETE as the client sees it: API server, webhook
	// call and decision.
	RoundTripP50  time.Duration `json:"roundTripP50Ns"`
	RoundTripP99  time.Duration `json:"roundTripP99Ns"`
	RoundTripMean time.Duration `json:"roundTripMeanNs"`
	// Decision is the webhook's own time (its log line), Snapshot the
	// part of it spent reading the namespace and the cluster-wide facts.
	DecisionP50  time.Duration `json:"decisionP50Ns"`
	DecisionP99  time.Duration `json:"decisionP99Ns"`
	DecisionMean time.Duration `json:"decisionMeanNs"`
	SnapshotP50  time.Duration `json:"snapshotP50Ns"`
	SnapshotP99  time.Duration `json:"snapshotP99Ns"`
	// HistogramMean is nsguard_admission_decision_duration_seconds' sum
	// over its count for the series: the metric agrees with the log.
	HistogramMean  time.Duration `json:"histogramMeanNs"`
	CPUPerDecision time.Duration `json:"cpuPerDecisionNs"`
	// SnapshotObjects is what a snapshot held (the namespace's objects and
	// the cluster-wide facts), SnapshotRequests the API requests it made.
	SnapshotObjects  int            `json:"snapshotObjects"`
	SnapshotRequests int            `json:"snapshotRequests"`
	Results          map[string]int `json:"results"`
	Incomplete       int            `json:"incomplete"`
}

// minReps is the fewest measured deletions of a series, whatever its time.
const minReps = 10

// measureAll measures every namespace through every mode's webhook: reps
// deletions each, or fewer (minReps at least) once budget has passed.
func measureAll(ctx context.Context, cp *controlplane.ControlPlane, procs map[string]*webhookProc, modes []string, nss []measured,
	warmup, reps int, budget time.Duration, cluster string, clusterObjects int, out io.Writer) ([]cell, error) {
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	// Warnings of allowed deletions would otherwise be printed for each.
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	var cells []cell
	for _, mode := range modes {
		for _, ns := range nss {
			patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, modeLabel, mode)
			if _, err := client.CoreV1().Namespaces().Patch(ctx, ns.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				return nil, fmt.Errorf("label namespace %s: %w", ns.name, err)
			}
		}
		for _, ns := range nss {
			c, err := measureCell(ctx, client, procs[mode], ns.name, warmup, reps, budget)
			if err != nil {
				return nil, fmt.Errorf("%s webhook, namespace %s: %w", mode, ns.name, err)
			}
			c.Cluster, c.ClusterObjects, c.Mode, c.NamespaceObjects = cluster, clusterObjects, mode, ns.created
			fmt.Fprintf(out, "         %-5s %-12s %3d reps, round trip p50 %-9s p99 %-9s decision p50 %-9s p99 %-9s snapshot p50 %-9s CPU/decision %-9s %s\n",
				mode, ns.name, c.Reps, measure.Millis(c.RoundTripP50), measure.Millis(c.RoundTripP99), measure.Millis(c.DecisionP50), measure.Millis(c.DecisionP99),
				measure.Millis(c.SnapshotP50), measure.Millis(c.CPUPerDecision), resultWords(c))
			cells = append(cells, c)
		}
	}
	return cells, nil
}

// measureCell deletes ns with a server-side dry run warmup times, then
// reps times measured: the client's round trips, the webhook's decisions
// from its log, its CPU time and its latency histogram.
func measureCell(ctx context.Context, client kubernetes.Interface, p *webhookProc, ns string, warmup, reps int, budget time.Duration) (cell, error) {
	del := func() (time.Duration, error) {
		began := time.Now()
		err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		took := time.Since(began)
		// A denial is an answer like any other: the rules found what blocks.
		if err != nil && !strings.Contains(err.Error(), "denied the request") {
			return took, err
		}
		return took, nil
	}
	// Slow decisions (a large namespace, a rate-limited LIST mode) get
	// fewer runs, so that the whole benchmark keeps to its time.
	began := time.Now()
	for i := range warmup {
		if i >= 2 && time.Since(began) > budget/6 {
			break
		}
		if _, err := del(); err != nil {
			return cell{}, err
		}
	}
	logStart, err := fileSize(p.w.Log)
	if err != nil {
		return cell{}, err
	}
	hist0, err := histogram(ctx, p)
	if err != nil {
		return cell{}, err
	}
	cpu0, err := measure.ProcCPU(p.w.PID())
	if err != nil {
		return cell{}, err
	}
	trips := make([]time.Duration, 0, reps)
	began = time.Now()
	for i := range reps {
		if i >= minReps && time.Since(began) > budget {
			break
		}
		took, err := del()
		if err != nil {
			return cell{}, err
		}
		trips = append(trips, took)
	}
	cpu1, err := measure.ProcCPU(p.w.PID())
	if err != nil {
		return cell{}, err
	}
	hist1, err := histogram(ctx, p)
	if err != nil {
		return cell{}, err
	}
	text, err := readFrom(p.w.Log, logStart)
	if err != nil {
		return cell{}, err
	}
	reps = len(trips)
	d := parseLog(text, ns)
	if len(d.decisions) != reps {
		return cell{}, fmt.Errorf("the webhook logged %d decisions on %s for %d deletions (is another webhook called?)", len(d.decisions), ns, reps)
	}
	c := cell{
		Namespace: ns, Reps: reps,
		RoundTripP50: measure.Percentile(trips, 50), RoundTripP99: measure.Percentile(trips, 99), RoundTripMean: measure.Mean(trips),
		DecisionP50: measure.Percentile(d.decisions, 50), DecisionP99: measure.Percentile(d.decisions, 99), DecisionMean: measure.Mean(d.decisions),
		SnapshotP50: measure.Percentile(d.snapshots, 50), SnapshotP99: measure.Percentile(d.snapshots, 99),
		CPUPerDecision:  (cpu1 - cpu0) / time.Duration(reps),
		SnapshotObjects: d.objects, SnapshotRequests: d.requests, Results: d.results, Incomplete: d.incomplete,
	}
	if n := hist1.count - hist0.count; n > 0 {
		c.HistogramMean = time.Duration((hist1.sum - hist0.sum) / n * float64(time.Second))
	}
	return c, nil
}

type histSample struct{ sum, count float64 }

func histogram(ctx context.Context, p *webhookProc) (histSample, error) {
	text, err := p.w.Metrics(ctx)
	if err != nil {
		return histSample{}, fmt.Errorf("read nsguard serve's metrics: %w", err)
	}
	sum, _ := measure.MetricSum(text, "nsguard_admission_decision_duration_seconds_sum")
	count, _ := measure.MetricSum(text, "nsguard_admission_decision_duration_seconds_count")
	return histSample{sum: sum, count: count}, nil
}

func resultWords(c cell) string {
	var parts []string
	for r, n := range c.Results {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	if c.Incomplete > 0 {
		parts = append(parts, fmt.Sprintf("%d incomplete", c.Incomplete))
	}
	return strings.Join(parts, ", ")
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("nsguard serve's log: %w", err)
	}
	return fi.Size(), nil
}

// readFrom reads a file from offset on.
func readFrom(path string, offset int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("nsguard serve's log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "", fmt.Errorf("nsguard serve's log: %w", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return "", fmt.Errorf("nsguard serve's log: %w", err)
	}
	return string(b), nil
}

// recipeResult is the kubectl recipe on one namespace.
type recipeResult struct {
	Namespace string        `json:"namespace"`
	Runs      int           `json:"runs"`
	Best      time.Duration `json:"bestNs"`
	Median    time.Duration `json:"medianNs"`
	CPU       time.Duration `json:"bestCpuNs"`
	Objects   int           `json:"objectsSeen"`
	Types     int           `json:"typesWithObjects"`
}

// runRecipes runs the recipe once to warm kubectl's discovery cache, then
// runs times on each namespace.
func runRecipes(ctx context.Context, cp *controlplane.ControlPlane, nss []measured, runs int, out io.Writer) ([]recipeResult, error) {
	cacheDir, err := os.MkdirTemp("", "nsguard-bench-kubecache-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cacheDir)
	env := recipe.Env(cp.BinDir(), cp.Kubeconfig(), cacheDir)
	if _, _, err := measure.Run(ctx, recipe.Cmd(nss[0].name, env)); err != nil {
		return nil, fmt.Errorf("recipe warm-up: %w", err)
	}
	var res []recipeResult
	for _, ns := range nss {
		var s measure.Series
		var objects, types int
		for range runs {
			x, stdout, err := measure.Run(ctx, recipe.Cmd(ns.name, env))
			if err != nil {
				return nil, err
			}
			s = append(s, x)
			objects, types = recipe.Count(stdout)
		}
		r := recipeResult{Namespace: ns.name, Runs: runs, Best: s.Best().Wall, Median: s.Median(), CPU: s.Best().CPU(), Objects: objects, Types: types}
		fmt.Fprintf(out, "         %-12s best %s, median %s, %s objects seen in %d types\n", ns.name, measure.Seconds(r.Best), measure.Seconds(r.Median),
			measure.Group(int64(objects)), types)
		res = append(res, r)
	}
	return res, nil
}
