package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/hack/bench/internal/population"
	"github.com/nsguard/nsguard/hack/bench/internal/sysinfo"
	"github.com/nsguard/nsguard/remediate"
	"github.com/nsguard/nsguard/test/controlplane"
)

// runLabel marks the namespaces of one run (its value: the number of
// namespaces), for the benchmark's own informers.
const runLabel = "bench.nsguard.io/remediate"

// env is what every run shares.
type env struct {
	o         options
	cp        *controlplane.ControlPlane
	kube      kubernetes.Interface
	dyn       dynamic.Interface
	creator   *population.Creator
	nsguard   string
	crd       schema.GroupVersionResource
	finalizer string
	auditLog  string
	logf      func(format string, args ...any)
}

// nsTimes is what happened to one namespace, on this machine's clock (the
// control plane's too).
type nsTimes struct {
	Name string `json:"name"`
	// Deleted is when the DELETE of the namespace returned.
	Deleted time.Time `json:"deleted"`
	// Condition is when NamespaceFinalizersRemaining was first seen True.
	Condition time.Time `json:"finalizersRemaining"`
	// Removed is when its custom resource went: the remediator removed
	// its finalizer.
	Removed time.Time `json:"removed"`
	// Gone is when the namespace was deleted.
	Gone time.Time `json:"gone"`
}

// stuck is when the namespace counts as stuck: Terminating for
// --stuck-after with NamespaceFinalizersRemaining (zero if never seen).
func (t nsTimes) stuck(after time.Duration) time.Time {
	if t.Condition.IsZero() {
		return time.Time{}
	}
	s := t.Deleted.Add(after)
	if t.Condition.After(s) {
		return t.Condition
	}
	return s
}

// observer records, from the benchmark's own informers, when each
// namespace of a run shows NamespaceFinalizersRemaining, loses its custom
// resource and goes.
type observer struct {
	mu    sync.Mutex
	times map[string]*nsTimes
	stop  chan struct{}
}

func observe(ctx context.Context, e *env, run string, names []string) (*observer, error) {
	ob := &observer{times: map[string]*nsTimes{}, stop: make(chan struct{})}
	for _, n := range names {
		ob.times[n] = &nsTimes{Name: n}
	}
	record := func(name string, field func(*nsTimes) *time.Time) {
		now := time.Now()
		ob.mu.Lock()
		defer ob.mu.Unlock()
		if t, ok := ob.times[name]; ok && field(t).IsZero() {
			*field(t) = now
		}
	}
	nsFactory := informers.NewSharedInformerFactoryWithOptions(e.kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = runLabel + "=" + run
	}))
	nsInformer := nsFactory.Core().V1().Namespaces().Informer()
	onNamespace := func(obj any) {
		ns, ok := obj.(*corev1.Namespace)
		if !ok {
			return
		}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue {
				record(ns.Name, func(t *nsTimes) *time.Time { return &t.Condition })
			}
		}
	}
	if _, err := nsInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    onNamespace,
		UpdateFunc: func(_, obj any) { onNamespace(obj) },
		DeleteFunc: func(obj any) { record(objectNamespaceName(obj, true), func(t *nsTimes) *time.Time { return &t.Gone }) },
	}); err != nil {
		return nil, fmt.Errorf("watch namespaces: %w", err)
	}
	crFactory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(e.dyn, 0, metav1.NamespaceAll, nil)
	crInformer := crFactory.ForResource(e.crd).Informer()
	if _, err := crInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			record(objectNamespaceName(obj, false), func(t *nsTimes) *time.Time { return &t.Removed })
		},
	}); err != nil {
		return nil, fmt.Errorf("watch %s: %w", e.crd.Resource, err)
	}
	nsFactory.Start(ob.stop)
	crFactory.Start(ob.stop)
	for _, ok := range nsFactory.WaitForCacheSync(ob.stop) {
		if !ok {
			close(ob.stop)
			return nil, fmt.Errorf("watch namespaces: cache never synced")
		}
	}
	for _, ok := range crFactory.WaitForCacheSync(ob.stop) {
		if !ok {
			close(ob.stop)
			return nil, fmt.Errorf("watch %s: cache never synced", e.crd.Resource)
		}
	}
	return ob, nil
}

// objectNamespaceName is the name of a deleted namespace (self) or the
// namespace of a deleted object.
func objectNamespaceName(obj any, self bool) string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	if self {
		return m.GetName()
	}
	return m.GetNamespace()
}

func (ob *observer) setDeleted(name string, at time.Time) {
	ob.mu.Lock()
	ob.times[name].Deleted = at
	ob.mu.Unlock()
}

// left counts the namespaces not gone yet.
func (ob *observer) left() int {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	n := 0
	for _, t := range ob.times {
		if t.Gone.IsZero() {
			n++
		}
	}
	return n
}

func (ob *observer) snapshot(names []string) []nsTimes {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	out := make([]nsTimes, 0, len(names))
	for _, n := range names {
		out = append(out, *ob.times[n])
	}
	return out
}

func (ob *observer) close() { close(ob.stop) }

// runOnce measures the remediator on n namespaces stuck at once: it
// creates them, starts a remediator, deletes them all together and waits
// until they are gone.
func runOnce(ctx context.Context, e *env, n int) (_ runResult, retErr error) {
	run := strconv.Itoa(n)
	res := runResult{Namespaces: n, ObjectsPerNamespace: e.o.objects}
	names := make([]string, n)
	var items []population.Item
	for i := range names {
		names[i] = fmt.Sprintf("rm%d-%03d", n, i)
		if err := e.creator.CreateNamespace(ctx, names[i], map[string]string{runLabel: run, remediate.Label: remediate.LabelEnabled}); err != nil {
			return res, err
		}
		items = append(items, population.Namespace(names[i], 1, 1, e.o.objects)...)
	}
	if err := e.creator.Create(ctx, items, e.o.workers, 10*time.Second, nil); err != nil {
		return res, err
	}
	stateNS := "nsguard-bench-" + run
	if err := e.creator.CreateNamespace(ctx, stateNS, nil); err != nil {
		return res, err
	}
	e.logf("Run      %d namespace(s) of %d objects created", n, e.o.objects)

	ob, err := observe(ctx, e, run, names)
	if err != nil {
		return res, err
	}
	defer ob.close()

	began := time.Now()
	r, err := startRemediator(ctx, e.cp, e.nsguard, stateNS, e.finalizer, filepath.Join(e.cp.LogDir(), "nsguard-remediator-"+run+".log"), e.o.settings)
	if err != nil {
		return res, err
	}
	defer r.stop()
	res.ReadyIn = time.Since(began)
	res.Args = r.args
	if res.StartupCPU, err = measure.ProcCPU(r.pid()); err != nil {
		return res, err
	}
	// Let the start-up's tail (policy compilation, informers) pass.
	if _, err := sysinfo.WaitIdle(ctx, 0.5, time.Second, 5*time.Second); err != nil {
		return res, err
	}
	e.logf("Run      remediator ready and leading in %s (pid %d); deleting the namespaces (%s)", res.ReadyIn.Round(10*time.Millisecond), r.pid(), sysinfo.Load())
	res.LoadBefore = sysinfo.Load()

	text, err := r.metrics(ctx)
	if err != nil {
		return res, err
	}
	reqBefore := restRequests(text)
	cpuBefore, err := measure.ProcCPU(r.pid())
	if err != nil {
		return res, err
	}
	from := time.Now()

	// Every DELETE at once.
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = e.kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
			ob.setDeleted(name, time.Now())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return res, fmt.Errorf("delete namespace %s: %w", names[i], err)
		}
	}

	said := from
	err = controlplane.WaitFor(ctx, e.o.timeout, 100*time.Millisecond, func(context.Context) (bool, error) {
		left := ob.left()
		if left > 0 && time.Since(said) >= 15*time.Second {
			said = time.Now()
			e.logf("Run      %d of %d namespace(s) left after %s", left, n, time.Since(from).Round(time.Second))
		}
		select {
		case <-r.done:
			return false, fmt.Errorf("the remediator exited:\n%s", r.logTail(30))
		default:
		}
		return left == 0, nil
	})
	if err != nil {
		return res, fmt.Errorf("%d of %d namespaces still there: %w\nremediator log:\n%s", ob.left(), n, err, r.logTail(20))
	}
	// What the remediator does once a namespace is gone (forget its
	// state) belongs to the namespace's cost.
	time.Sleep(e.o.settle)
	to := time.Now()
	res.Window = to.Sub(from)
	res.LoadAfter = sysinfo.Load()
	if text, err = r.metrics(ctx); err != nil {
		return res, err
	}
	res.Requests = restRequests(text).since(reqBefore)
	cpuAfter, err := measure.ProcCPU(r.pid())
	if err != nil {
		return res, err
	}
	res.CPU = cpuAfter - cpuBefore
	mem, err := measure.ProcMemory(r.pid())
	if err != nil {
		return res, err
	}
	res.RSS, res.PeakRSS = mem.RSS, mem.Peak
	r.stop()

	inRun := map[string]bool{}
	for _, name := range names {
		inRun[name] = true
	}
	res.Activity = parseActivity(r.logText(), inRun)
	if e.auditLog != "" {
		a, err := readAudit(e.auditLog, from, to)
		if err != nil {
			return res, err
		}
		res.Audit = &a
	}
	res.Times = ob.snapshot(names)
	res.summarize(e.o.settings.StuckAfter)
	return res, nil
}
