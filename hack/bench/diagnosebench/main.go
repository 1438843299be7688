// Command diagnosebench measures `nsguard diagnose` against the manual
// recipe people use to see what is left in a namespace,
//
//	kubectl api-resources --verbs=list --namespaced -o name |
//	  xargs -n 1 kubectl get --show-kind --ignore-not-found -n NS
//
// on the same local control plane in the same run: a namespace of 2,000
// objects over more than 100 resource types, custom resources included,
// some of them with finalizers that no controller handles. It is what
// `make bench-diagnose` runs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/hack/bench/internal/recipe"
	"github.com/nsguard/nsguard/hack/bench/internal/sysinfo"
	"github.com/nsguard/nsguard/test/controlplane"
)

// targetSpeedup is the target of issue #3.
const targetSpeedup = 50.0

type options struct {
	nsguard    string
	binDir     string
	namespace  string
	crds       int
	crsPerCRD  int
	objects    int
	runs       int
	recipeRuns int
	workers    int
	schemas    bool
	results    string
	strict     bool
}

func main() {
	var o options
	flag.StringVar(&o.nsguard, "nsguard", "bin/nsguard", "nsguard binary")
	flag.StringVar(&o.binDir, "k8s-bin", "", "directory of etcd, kube-apiserver, kube-controller-manager and kubectl (default: test/controlplane's: $KUBEBUILDER_ASSETS or bin/k8s/<version>)")
	flag.StringVar(&o.namespace, "namespace", "bench", "namespace to fill and diagnose")
	flag.IntVar(&o.crds, "crds", 100, "CustomResourceDefinitions to create")
	flag.IntVar(&o.crsPerCRD, "crs-per-crd", 12, "custom resources of each CRD in the namespace")
	flag.IntVar(&o.objects, "objects", 2000, "objects to create in the namespace in total (custom resources, then built-in kinds)")
	flag.IntVar(&o.runs, "runs", 5, "measured runs of nsguard diagnose, after one warm-up run")
	flag.IntVar(&o.recipeRuns, "recipe-runs", 3, "measured runs of the kubectl recipe, after one warm-up run")
	flag.IntVar(&o.workers, "workers", 16, "parallel API requests while creating the objects")
	flag.BoolVar(&o.schemas, "large-crd-schemas", true, "give the CRDs schemas of the size operators ship (tens of KiB each) rather than a minimal one")
	flag.StringVar(&o.results, "results", "bin/bench/diagnose.json", "file the figures are written to as JSON (\"\" for none)")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when the target is missed")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "diagnosebench: %v\n", err)
		os.Exit(2)
	}
}

// report is the part of `nsguard diagnose -o json` the benchmark reads.
type report struct {
	Namespace          string            `json:"namespace"`
	State              string            `json:"state"`
	Blocked            bool              `json:"blocked"`
	ObjectsInNamespace int               `json:"objectsInNamespace"`
	ResourceTypes      int               `json:"resourceTypes"`
	Objects            []json.RawMessage `json:"objects"`
	Finalizers         []struct {
		Name        string            `json:"name"`
		Objects     int               `json:"objects"`
		Liveness    string            `json:"liveness"`
		Controllers []json.RawMessage `json:"controllers"`
	} `json:"finalizers"`
	RootCause []string          `json:"rootCause"`
	Findings  []json.RawMessage `json:"findings"`
	Plan      []json.RawMessage `json:"plan"`
	Complete  bool              `json:"complete"`
}

type results struct {
	Date    string `json:"date"`
	Machine string `json:"machine"`
	// LoadBefore and LoadAfter say how busy the machine was around the
	// measured runs.
	LoadBefore string `json:"loadBefore"`
	LoadAfter  string `json:"loadAfter"`
	// Populated namespace.
	Namespace     string        `json:"namespace"`
	CRDs          int           `json:"crds"`
	LargeSchemas  bool          `json:"largeCrdSchemas"`
	Created       int           `json:"objectsCreated"`
	CreateTime    time.Duration `json:"createNs"`
	ResourceTypes int           `json:"resourceTypes"` // namespaced, listable, as kubectl api-resources lists them
	// nsguard diagnose.
	DiagnoseRuns    int           `json:"diagnoseRuns"`
	DiagnoseBest    time.Duration `json:"diagnoseBestNs"`
	DiagnoseMedian  time.Duration `json:"diagnoseMedianNs"`
	DiagnoseCPU     time.Duration `json:"diagnoseBestCpuNs"`
	DiagnosePeakRSS int64         `json:"diagnosePeakRssBytes"`
	DiagnoseObjects int           `json:"diagnoseObjects"`
	DiagnoseTypes   int           `json:"diagnoseResourceTypes"`
	Findings        int           `json:"findings"`
	BlockingObjects int           `json:"blockingObjects"`
	Finalizers      int           `json:"finalizers"`
	PlanSteps       int           `json:"planSteps"`
	Complete        bool          `json:"complete"`
	// The kubectl recipe.
	RecipeRuns       int           `json:"recipeRuns"`
	RecipeBest       time.Duration `json:"recipeBestNs"`
	RecipeMedian     time.Duration `json:"recipeMedianNs"`
	RecipeCPU        time.Duration `json:"recipeBestCpuNs"`
	RecipeObjects    int           `json:"recipeObjects"`
	RecipeTypesFound int           `json:"recipeTypesWithObjects"`
	Speedup          float64       `json:"speedup"`
	TargetMet        bool          `json:"targetMet"`
}

func run(ctx context.Context, o options, out io.Writer) (retErr error) {
	if o.runs < 1 || o.recipeRuns < 1 {
		return fmt.Errorf("-runs and -recipe-runs must be at least 1")
	}
	nsguard, err := filepath.Abs(o.nsguard)
	if err != nil {
		return err
	}
	if _, err := os.Stat(nsguard); err != nil {
		return fmt.Errorf("find nsguard: %w (make build)", err)
	}
	r := results{Date: time.Now().UTC().Format(time.RFC3339), Machine: sysinfo.Describe(), Namespace: o.namespace, CRDs: o.crds, LargeSchemas: o.schemas}
	fmt.Fprintf(out, "Machine  %s\n", r.Machine)

	began := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: o.binDir})
	if err != nil {
		return fmt.Errorf("start the control plane: %w", err)
	}
	defer func() {
		if err := cp.Stop(); err != nil && retErr == nil {
			retErr = fmt.Errorf("stop the control plane: %w", err)
		}
	}()
	fmt.Fprintf(out, "Cluster  local control plane (etcd, kube-apiserver, kube-controller-manager %s) from %s, started in %s\n",
		controlplane.KubernetesVersion, cp.BinDir(), time.Since(began).Round(100*time.Millisecond))

	if err := populate(ctx, cp, o, &r, out); err != nil {
		return err
	}

	// The recipe exactly as people type it, with the kubectl built for the
	// control plane and a discovery cache of its own.
	cacheDir, err := os.MkdirTemp("", "nsguard-bench-kubecache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cacheDir)
	env := recipe.Env(cp.BinDir(), cp.Kubeconfig(), cacheDir)
	rcp := recipe.Cmd(o.namespace, env)
	diagnose := measure.Cmd{
		Path:    nsguard,
		Args:    []string{"diagnose", o.namespace, "-o", "json", "--kubeconfig", cp.Kubeconfig()},
		Env:     env,
		OKCodes: []int{0, 1}, // 1: something blocks the deletion, as built here
	}

	types, err := cp.Kubectl(ctx, "api-resources", "--verbs=list", "--namespaced", "-o", "name")
	if err != nil {
		return err
	}
	r.ResourceTypes = len(strings.Fields(string(types)))

	fmt.Fprintf(out, "Runs     1 warm-up + %d measured runs of nsguard diagnose, 1 warm-up + %d of the kubectl recipe, interleaved\n", o.runs, o.recipeRuns)
	r.LoadBefore = sysinfo.Load()
	fmt.Fprintf(out, "Load     before: %s\n\n", r.LoadBefore)
	s, stdout, err := measure.Run(ctx, diagnose)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	var rep report
	if err := json.Unmarshal(stdout, &rep); err != nil {
		return fmt.Errorf("decode nsguard diagnose JSON: %w", err)
	}
	fmt.Fprintf(out, "Warm-up  nsguard diagnose  %s\n", measure.Seconds(s.Wall))
	s, stdout, err = measure.Run(ctx, rcp)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	r.RecipeObjects, r.RecipeTypesFound = recipe.Count(stdout)
	fmt.Fprintf(out, "Warm-up  kubectl recipe    %s\n\n", measure.Seconds(s.Wall))

	var diag, rec measure.Series
	for i := range max(o.runs, o.recipeRuns) {
		if i < o.runs {
			s, _, err := measure.Run(ctx, diagnose)
			if err != nil {
				return err
			}
			diag = append(diag, s)
		}
		if i < o.recipeRuns {
			s, _, err := measure.Run(ctx, rcp)
			if err != nil {
				return err
			}
			rec = append(rec, s)
		}
	}
	r.LoadAfter = sysinfo.Load()
	fmt.Fprintf(out, "Load     after: %s\n\n", r.LoadAfter)
	r.DiagnoseRuns, r.RecipeRuns = o.runs, o.recipeRuns
	r.DiagnoseBest, r.DiagnoseMedian, r.DiagnoseCPU, r.DiagnosePeakRSS = diag.Best().Wall, diag.Median(), diag.Best().CPU(), diag.PeakRSS()
	r.RecipeBest, r.RecipeMedian, r.RecipeCPU = rec.Best().Wall, rec.Median(), rec.Best().CPU()
	r.DiagnoseObjects, r.DiagnoseTypes = rep.ObjectsInNamespace, rep.ResourceTypes
	r.Findings, r.BlockingObjects, r.Finalizers, r.PlanSteps, r.Complete = len(rep.Findings), len(rep.Objects), len(rep.Finalizers), len(rep.Plan), rep.Complete
	r.Speedup = r.RecipeBest.Seconds() / r.DiagnoseBest.Seconds()
	r.TargetMet = r.Speedup >= targetSpeedup

	row := func(label, a, b string) { fmt.Fprintf(out, "%-26s %-24s %-24s\n", label, a, b) }
	row("", "nsguard diagnose", "kubectl recipe")
	row("wall time, best", measure.Seconds(r.DiagnoseBest), measure.Seconds(r.RecipeBest))
	row("wall time, median", measure.Seconds(r.DiagnoseMedian), measure.Seconds(r.RecipeMedian))
	row("client CPU time, best run", measure.Seconds(r.DiagnoseCPU), measure.Seconds(r.RecipeCPU))
	row("peak RSS", measure.MiB(r.DiagnosePeakRSS), "(one kubectl per type)")
	row("objects seen", fmt.Sprint(r.DiagnoseObjects), fmt.Sprint(r.RecipeObjects))
	row("resource types", fmt.Sprintf("%d listed", r.DiagnoseTypes), fmt.Sprintf("%d listed, %d non-empty", r.ResourceTypes, r.RecipeTypesFound))
	fmt.Fprintln(out)
	fmt.Fprintf(out, "Speed-up: %.0f×  (target ≥ %.0f×: %s)\n", r.Speedup, targetSpeedup, map[bool]string{true: "met", false: "MISSED"}[r.TargetMet])
	fmt.Fprintf(out, "Beyond the list of objects, diagnose reported: blocked=%t, %d blocking objects, %d finalizers with their controllers and liveness (%s), %d findings, %d plan steps, root cause: %s; complete=%t\n",
		rep.Blocked, r.BlockingObjects, r.Finalizers, livenessSummary(rep), r.Findings, r.PlanSteps, firstOr(rep.RootCause, "none"), r.Complete)
	if o.results != "" {
		if err := measure.WriteJSON(o.results, r); err != nil {
			return err
		}
		fmt.Fprintf(out, "Figures written to %s\n", o.results)
	}
	if o.strict && !r.TargetMet {
		return fmt.Errorf("target missed")
	}
	return nil
}

func livenessSummary(rep report) string {
	counts := map[string]int{}
	var order []string
	for _, f := range rep.Finalizers {
		if counts[f.Liveness] == 0 {
			order = append(order, f.Liveness)
		}
		counts[f.Liveness]++
	}
	parts := make([]string, 0, len(order))
	for _, l := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[l], l))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// firstOr returns the first string, shortened for a one-line summary.
func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	if r := []rune(s[0]); len(r) > 160 {
		return string(r[:159]) + "…"
	}
	return s[0]
}
