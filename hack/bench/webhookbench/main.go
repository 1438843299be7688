// Command webhookbench measures nsguard's admission webhook, `nsguard
// serve`, through the real kube-apiserver of the local control plane: the
// latency of a namespace DELETE (a server-side dry run, so that it can be
// repeated) as a client sees it and as the webhook decides it, the
// webhook's CPU per decision and its memory, with the namespace's objects
// read from metadata informers (--namespace-contents watch) and by LISTs at
// each decision (list); for namespaces of 10 to 20,000 objects over more
// than 100 resource types, in a cluster of more than 50,000 objects. In the
// same run it times the recipe people use today on the same namespaces,
//
//	kubectl api-resources --verbs=list --namespaced -o name |
//	  xargs -n 1 kubectl get --show-kind --ignore-not-found -n NS
//
// It is what `make bench-webhook` runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/hack/bench/internal/population"
	"github.com/nsguard/nsguard/hack/bench/internal/sysinfo"
	"github.com/nsguard/nsguard/test/controlplane"
)

// Targets the figures are held to.
const (
	targetP99        = 100 * time.Millisecond
	targetP99Objects = 5000
	targetSpeedup    = 100.0
)

// modeLabel on a namespace says which of the running webhooks the API
// server calls for its deletion: each is registered for one value.
const modeLabel = "bench.nsguard.io/webhook"

type options struct {
	nsguard        string
	binDir         string
	sizes          string
	crds           int
	schemas        bool
	crShare        float64
	fillNamespaces int
	fillObjects    int
	fillPods       int
	modes          string
	reps           int
	smallReps      int
	cellTime       time.Duration
	smallCellTime  time.Duration
	warmup         int
	recipeRuns     int
	workers        int
	results        string
	strict         bool
}

func main() {
	var o options
	flag.StringVar(&o.nsguard, "nsguard", "bin/nsguard", "nsguard binary")
	flag.StringVar(&o.binDir, "k8s-bin", "", "directory of etcd, kube-apiserver, kube-controller-manager and kubectl (default: test/controlplane's: $KUBEBUILDER_ASSETS or bin/k8s/<version>)")
	flag.StringVar(&o.sizes, "sizes", "10,1000,5000,20000", "objects in each measured namespace (comma-separated)")
	flag.IntVar(&o.crds, "crds", 100, "CustomResourceDefinitions to create")
	flag.BoolVar(&o.schemas, "large-crd-schemas", false, "give the CRDs schemas of the size operators ship (tens of KiB each; slower to set up)")
	flag.Float64Var(&o.crShare, "cr-share", 0.6, "share of custom resources among a namespace's objects")
	flag.IntVar(&o.fillNamespaces, "fill-namespaces", 25, "other namespaces to fill, so that the cluster holds more than the measured namespaces")
	flag.IntVar(&o.fillObjects, "fill-objects", 1000, "objects in each of the other namespaces, pods included")
	flag.IntVar(&o.fillPods, "fill-pods", 100, "pods in each of the other namespaces")
	flag.StringVar(&o.modes, "modes", "watch,list", "--namespace-contents modes to measure")
	flag.IntVar(&o.reps, "reps", 200, "measured dry-run deletions of each namespace in the full cluster, per mode")
	flag.IntVar(&o.smallReps, "small-cluster-reps", 50, "measured dry-run deletions of each namespace in the first mode before the other namespaces are filled (0: skip)")
	flag.DurationVar(&o.cellTime, "cell-time", 30*time.Second, "time after which a series of -reps stops early (after 10 deletions at least)")
	flag.DurationVar(&o.smallCellTime, "small-cluster-cell-time", 10*time.Second, "the same for -small-cluster-reps")
	flag.IntVar(&o.warmup, "warmup", 20, "dry-run deletions before each measured series")
	flag.IntVar(&o.recipeRuns, "recipe-runs", 3, "measured runs of the kubectl recipe per namespace, after one warm-up run")
	flag.IntVar(&o.workers, "workers", 32, "parallel API requests while creating the objects")
	flag.StringVar(&o.results, "results", "bin/bench/webhook.json", "file the figures are written to as JSON (\"\" for none)")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a target is missed")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "webhookbench: %v\n", err)
		os.Exit(2)
	}
}

// measured is one namespace the webhook decides on.
type measured struct {
	name    string
	created int
}

func run(ctx context.Context, o options, out io.Writer) (retErr error) {
	sizes, err := measure.ParseSizes("sizes", o.sizes)
	if err != nil {
		return err
	}
	modes := strings.Split(o.modes, ",")
	for i, m := range modes {
		if (m != "watch" && m != "list") || slices.Contains(modes[:i], m) {
			return fmt.Errorf("-modes %q: want watch, list or both, once each", o.modes)
		}
	}
	if o.reps < 1 || o.recipeRuns < 1 || o.warmup < 0 || o.fillPods > o.fillObjects {
		return fmt.Errorf("-reps and -recipe-runs must be at least 1, -warmup at least 0, -fill-pods at most -fill-objects")
	}
	nsguard, err := filepath.Abs(o.nsguard)
	if err != nil {
		return err
	}
	if _, err := os.Stat(nsguard); err != nil {
		return fmt.Errorf("find nsguard: %w (make build)", err)
	}
	began := time.Now()
	elapsed := func() string { return fmt.Sprintf("[%4.0fs]", time.Since(began).Seconds()) }
	r := results{Date: time.Now().UTC().Format(time.RFC3339), Machine: sysinfo.Describe(), CRDs: o.crds, LargeSchemas: o.schemas}
	fmt.Fprintf(out, "Machine  %s\n", r.Machine)
	fmt.Fprintf(out, "Load     %s\n", sysinfo.Load())

	// envtest's service range, a /24, holds fewer Services than the
	// namespaces built here.
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: o.binDir, APIServerArgs: []string{"--service-cluster-ip-range=10.0.0.0/16"}})
	if err != nil {
		return fmt.Errorf("start the control plane: %w", err)
	}
	defer func() {
		if err := cp.Stop(); err != nil && retErr == nil {
			retErr = fmt.Errorf("stop the control plane: %w", err)
		}
	}()
	fmt.Fprintf(out, "%s Cluster  local control plane (etcd, kube-apiserver, kube-controller-manager %s) from %s\n",
		elapsed(), controlplane.KubernetesVersion, cp.BinDir())

	creator, err := population.NewCreator(cp.Config)
	if err != nil {
		return err
	}
	crds := population.CRDs(o.crds, o.schemas)
	if err := creator.CreateCRDs(ctx, crds); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s CRDs     %d established and discovered\n", elapsed(), len(crds))

	// Both webhooks run from here on, each registered for the namespaces
	// labelled with its mode, so that their memory is seen to grow with
	// what the cluster holds.
	procs := map[string]*webhookProc{}
	defer func() {
		for _, p := range procs {
			p.w.Stop()
		}
	}()
	for _, mode := range modes {
		p, err := startWebhook(ctx, cp, nsguard, "nsguard-bench-"+mode, mode, mode)
		if err != nil {
			return err
		}
		procs[mode] = p
		fmt.Fprintf(out, "%s Webhook  nsguard serve --namespace-contents %s started and called by the API server in %s (pid %d)\n",
			elapsed(), mode, p.startedIn.Round(10*time.Millisecond), p.w.PID())
	}
	sampler := startSampling(ctx, procs, began, 1)
	defer func() { sampler() }()
	// What the cluster holds: the watch-mode cache's count when there is
	// one (the list mode caches the cluster-wide kinds only).
	clusterSize := func() int {
		if p, ok := procs["watch"]; ok {
			return p.cachedObjects(ctx)
		}
		return procs[modes[0]].cachedObjects(ctx)
	}

	// The measured namespaces, labelled for the first mode.
	var nss []measured
	var items []population.Item
	for _, size := range sizes {
		name := fmt.Sprintf("bench-%d", size)
		if err := creator.CreateNamespace(ctx, name, map[string]string{modeLabel: modes[0]}); err != nil {
			return err
		}
		ns := population.Namespace(name, o.crds, int(o.crShare*float64(size)), size)
		nss = append(nss, measured{name: name, created: len(ns)})
		items = append(items, ns...)
	}
	if err := populate(ctx, creator, items, o.workers, out, elapsed); err != nil {
		return err
	}
	r.Created = len(items)

	if o.smallReps > 0 {
		if err := settle(ctx, procs, sampler, out, elapsed); err != nil {
			return err
		}
		cluster := clusterSize()
		fmt.Fprintf(out, "%s Measure  cluster of %s objects: up to %d dry-run deletions of each namespace, --namespace-contents %s (%s)\n",
			elapsed(), measure.Group(int64(cluster)), o.smallReps, modes[0], sysinfo.Load())
		// The default mode only: what grows with the cluster is the
		// cluster-wide facts, which both modes keep in informers.
		cells, err := measureAll(ctx, cp, procs, modes[:1], nss, o.warmup, o.smallReps, o.smallCellTime, "measured namespaces only", cluster, out)
		if err != nil {
			return err
		}
		r.Cells = append(r.Cells, cells...)
		sampler = startSampling(ctx, procs, began, 2)
	}

	// The other namespaces: everything but pods first, so that each
	// namespace's default service account exists when its pods come.
	var fill, pods []population.Item
	for i := range o.fillNamespaces {
		name := fmt.Sprintf("fill-%02d", i)
		if err := creator.CreateNamespace(ctx, name, nil); err != nil {
			return err
		}
		n := o.fillObjects - o.fillPods
		fill = append(fill, population.Namespace(name, o.crds, int(o.crShare*float64(n)), n)...)
		pods = append(pods, population.Pods(name, o.fillPods)...)
	}
	if err := populate(ctx, creator, append(fill, pods...), o.workers, out, elapsed); err != nil {
		return err
	}
	r.Created += len(fill) + len(pods)
	fmt.Fprintf(out, "%s Setup    %s objects created: %d namespaces measured (%s objects), %d others of %d objects (%d pods each); %d CRDs (%s)\n",
		elapsed(), measure.Group(int64(r.Created)), len(nss), measure.Group(int64(len(items))), o.fillNamespaces, o.fillObjects, o.fillPods,
		len(crds), schemaWords(crds, o.schemas))

	if err := settle(ctx, procs, sampler, out, elapsed); err != nil {
		return err
	}
	cluster := clusterSize()
	r.ClusterObjects = cluster
	r.LoadBefore = sysinfo.Load()
	fmt.Fprintf(out, "%s Measure  cluster of %s objects: up to %d warm-up + %d dry-run deletions of each namespace per mode (%s)\n",
		elapsed(), measure.Group(int64(cluster)), o.warmup, o.reps, r.LoadBefore)
	cells, err := measureAll(ctx, cp, procs, modes, nss, o.warmup, o.reps, o.cellTime, "full", cluster, out)
	if err != nil {
		return err
	}
	r.Cells = append(r.Cells, cells...)

	// The recipe on the same namespaces.
	fmt.Fprintf(out, "%s Recipe   1 warm-up + %d runs per namespace\n", elapsed(), o.recipeRuns)
	types, err := cp.Kubectl(ctx, "api-resources", "--verbs=list", "--namespaced", "-o", "name")
	if err != nil {
		return err
	}
	r.ResourceTypes = len(strings.Fields(string(types)))
	recipes, err := runRecipes(ctx, cp, nss, o.recipeRuns, out)
	if err != nil {
		return err
	}
	r.Recipes = recipes
	r.LoadAfter = sysinfo.Load()

	for _, mode := range modes {
		p := procs[mode]
		m, err := measure.ProcMemory(p.w.PID())
		if err != nil {
			return err
		}
		r.Memory = append(r.Memory, p.memoryResult(mode+", running from the start", m))
		p.w.Stop()
		delete(procs, mode)
	}

	// A webhook started on the full cluster, as after a restart: how soon
	// it serves, how soon its caches hold everything, and its peak.
	if slices.Contains(modes, "watch") {
		fmt.Fprintf(out, "%s Restart  nsguard serve --namespace-contents watch on the full cluster\n", elapsed())
		p, err := startWebhook(ctx, cp, nsguard, "nsguard-bench-cold", "watch", "cold")
		if err != nil {
			return err
		}
		procs["cold"] = p
		synced, err := p.waitCache(ctx, cluster*99/100)
		if err != nil {
			return err
		}
		if _, err := p.sample(ctx, began, 2); err != nil {
			return err
		}
		m, err := measure.ProcMemory(p.w.PID())
		if err != nil {
			return err
		}
		mem := p.memoryResult("watch, started on the full cluster", m)
		mem.ReadyIn, mem.SyncedIn = p.startedIn, synced
		r.Memory = append(r.Memory, mem)
		p.w.Stop()
		delete(procs, "cold")
	}

	r.evaluate(modes)
	fmt.Fprintln(out)
	r.print(out, modes)
	if o.results != "" {
		if err := measure.WriteJSON(o.results, r); err != nil {
			return err
		}
		fmt.Fprintf(out, "Figures written to %s\n", o.results)
	}
	fmt.Fprintf(out, "Total    %s\n", time.Since(began).Round(time.Second))
	if o.strict && !(r.P99TargetMet && r.SpeedupTargetMet) {
		return fmt.Errorf("target missed")
	}
	return nil
}

// populate creates items, printing progress.
func populate(ctx context.Context, c *population.Creator, items []population.Item, workers int, out io.Writer, elapsed func() string) error {
	began := time.Now()
	err := c.Create(ctx, items, workers, 10*time.Second, func(done int) {
		fmt.Fprintf(out, "%s Populate %s / %s objects (%.0f/s)\n", elapsed(), measure.Group(int64(done)), measure.Group(int64(len(items))),
			float64(done)/time.Since(began).Seconds())
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s Populate %s objects in %s (%.0f/s)\n", elapsed(), measure.Group(int64(len(items))), time.Since(began).Round(100*time.Millisecond),
		float64(len(items))/time.Since(began).Seconds())
	return nil
}

// settle stops the memory sampling once the webhooks' caches hold what
// was created, and waits (briefly) for the cores to be idle.
func settle(ctx context.Context, procs map[string]*webhookProc, sampler func(), out io.Writer, elapsed func() string) error {
	for mode, p := range procs {
		if _, err := p.waitCache(ctx, 0); err != nil {
			return fmt.Errorf("%s webhook: %w", mode, err)
		}
	}
	sampler()
	idle, err := sysinfo.WaitIdle(ctx, 0.6, 2*time.Second, 15*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s Settle   caches filled; cores %.0f%% idle over the last 2 s\n", elapsed(), idle*100)
	return nil
}

func schemaWords(crds []*unstructured.Unstructured, large bool) string {
	if !large {
		return "minimal schemas"
	}
	return fmt.Sprintf("schemas of %.1f MiB in all", float64(population.CRDBytes(crds))/(1<<20))
}
