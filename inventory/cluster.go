package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/nsguard/nsguard/policies/catalog"
)

// Defaults of ClusterOptions.
const (
	// A snapshot is one request per resource type, each small and short:
	// latency, not the API server, bounds it, and priority and fairness
	// queues what the server cannot take at once.
	DefaultClusterWorkers  = 32
	DefaultClusterPageSize = 500
)

// ClusterOptions configures FromCluster. The zero value is usable.
type ClusterOptions struct {
	// Workers bounds the requests in flight at once (default 32).
	Workers int
	// PageSize is the Limit of every LIST; larger collections are read
	// page by page with Continue (default 500).
	PageSize int64
	// Catalog is the finalizer catalog given to Analyze (default: the
	// built-in one).
	Catalog *catalog.Catalog
	// Now is this machine's clock (default time.Now). Liveness is judged on
	// the API server's clock: Now corrected by the Date of its responses.
	Now func() time.Time
	// Logger receives progress at V(1) and per-request detail at V(2).
	Logger logr.Logger
	// CacheDir keeps, per cluster, the CRDs without their schemas between
	// calls, so that a call reads in full only the CRDs that changed since
	// (default: nsguard under the user's cache directory; none when there
	// is no such directory).
	CacheDir string
	// NoCache reads every CRD in full and neither reads nor writes a cache.
	NoCache bool
}

func (o ClusterOptions) withDefaults() (ClusterOptions, error) {
	if o.Workers <= 0 {
		o.Workers = DefaultClusterWorkers
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultClusterPageSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
	}
	switch {
	case o.NoCache:
		o.CacheDir = ""
	case o.CacheDir == "":
		o.CacheDir = DefaultCacheDir()
	}
	if o.Catalog == nil {
		c, err := catalog.Builtin()
		if err != nil {
			return o, err
		}
		o.Catalog = c
	}
	return o, nil
}

// ErrNamespaceNotFound is returned (wrapped) by FromCluster when the
// namespace does not exist: there is nothing to diagnose.
var ErrNamespaceNotFound = errors.New("namespace not found")

// FromCluster takes a snapshot of one namespace of a live cluster, for
// diagnose, the webhook and the remediator:
//
//   - the namespace (phase, deletionTimestamp, spec.finalizers, conditions);
//   - every object left in it, found through discovery of every namespaced,
//     listable resource type and listed in parallel, metadata only except
//     for the kinds whose body rules read (KeepsBody);
//   - cluster-wide, the objects that decide whether a finalizer's controller
//     is alive or whether deletion can proceed at all: workloads, Leases,
//     cluster RBAC, CRDs, APIServices, admission webhook configurations,
//     and the Services these point at (existence, ready endpoints);
//   - partial discovery failures and the Kubernetes version;
//   - the finalizer facts derived by Analyze.
//
// Failures of single requests (forbidden, a broken conversion webhook, the
// deadline of ctx) do not fail the snapshot: it comes back with Complete
// false and Incomplete saying, in words, what was not checked. Only a
// namespace that cannot be read is an error (ErrNamespaceNotFound when it
// does not exist).
func FromCluster(ctx context.Context, cfg *rest.Config, namespace string, opts ClusterOptions) (*Snapshot, error) {
	if namespace == "" {
		return nil, errors.New("inventory from cluster: namespace is required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("inventory from cluster: %w", err)
	}
	began := time.Now()
	clock := NewServerClock(opts.Now)
	clients, err := newClusterClients(cfg, clock, nil)
	if err != nil {
		return nil, fmt.Errorf("inventory from cluster: %w", err)
	}
	// A missing namespace stops everything already in flight.
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g := &gatherer{
		ctx:      gctx,
		log:      opts.Logger,
		c:        clients,
		ns:       namespace,
		pageSize: opts.PageSize,
		sem:      make(chan struct{}, opts.Workers),
		services: map[string]*ServiceFact{},
		host:     cfg.Host,
		crdCache: newCRDCache(opts.CacheDir, cfg.Host),

		present:     map[schema.GroupResource]bool{},
		failedTypes: map[schema.GroupResource]bool{},
	}
	g.run(func(ctx context.Context) { g.getNamespace(ctx, cancel) })
	g.run(g.getVersion)
	g.run(g.discover)
	for _, l := range clusterLists(namespace) {
		g.run(func(ctx context.Context) { g.listFull(ctx, l) })
	}
	g.wg.Wait()

	if g.nsErr != nil {
		return nil, g.nsErr
	}
	s := g.snapshot()
	Analyze(s, opts.Catalog, clock.Now())
	if off, ok := clock.Offset(); ok && (off > 2*time.Second || off < -2*time.Second) {
		opts.Logger.V(1).Info("the API server's clock differs from this machine's; liveness is judged on the API server's", "offset", off.Round(time.Second))
	}
	opts.Logger.V(1).Info("cluster inventory done", "namespace", namespace,
		"duration", time.Since(began).Round(time.Millisecond), "requests", g.requests.Load(),
		"objects", len(s.Objects), "resourceTypes", s.Discovery.ResourceTypes, "complete", s.Complete)
	return s, nil
}

// gatherer runs the requests of one FromCluster call on a bounded number of
// goroutines and collects what they find. Tasks may start other tasks (the
// LIST of each discovered type, the Services that a webhook points at).
type gatherer struct {
	ctx      context.Context
	log      logr.Logger
	c        *clusterClients
	ns       string
	pageSize int64
	sem      chan struct{}
	host     string // the API server, which the CRD cache is of
	crdCache crdCache
	// serviceFact, when set, answers for a Service from memory (the
	// Cache's informers) instead of with requests.
	serviceFact func(serviceRef) *ServiceFact
	wg          sync.WaitGroup
	requests    atomic.Int64

	mu        sync.Mutex
	nsObject  *Object
	nsErr     error
	version   KubeVersion
	discovery Discovery
	objects   []*Object
	crds      []crdInfo
	services  map[string]*ServiceFact // "namespace/name"
	problems  []problem
	// present are the resource types with objects in the namespace; failed
	// those whose LIST in it failed. Both choose the CRDs to keep.
	present     map[schema.GroupResource]bool
	failedTypes map[schema.GroupResource]bool
}

// run starts task; at most cap(sem) tasks make requests at once.
func (g *gatherer) run(task func(ctx context.Context)) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		select {
		case g.sem <- struct{}{}:
			defer func() { <-g.sem }()
		case <-g.ctx.Done():
			// Run anyway: the task's first request fails at once with the
			// context's error, which is how the task records what it missed.
		}
		task(g.ctx)
	}()
}

// problem is something the snapshot could not check.
type problem struct {
	// typeName is set for a namespaced resource type whose objects were not
	// (all) listed; such problems are summarised together.
	typeName string
	// what was not checked, in words, when typeName is empty.
	what string
	// impact says what stays unknown because of it (optional).
	impact string
	reason string
	// controllerFacts: what was missed tells who handles finalizers
	// (workloads, Leases, cluster RBAC); see Snapshot.ControllerFactsIncomplete.
	controllerFacts bool
}

// controllerTypes are the namespaced types (resource.group, as in
// problem.typeName) that tell who may remove finalizers in the namespace.
var controllerTypes = map[string]bool{
	"roles.rbac.authorization.k8s.io":        true,
	"rolebindings.rbac.authorization.k8s.io": true,
}

func (g *gatherer) addProblem(p problem) {
	g.mu.Lock()
	g.problems = append(g.problems, p)
	g.mu.Unlock()
}

// reason turns a request error into the few words Incomplete shows.
func (g *gatherer) reason(err error) string {
	if g.ctx.Err() != nil {
		// Whatever the request said, the deadline (or cancellation) is why
		// it did not get an answer.
		err = context.Cause(g.ctx)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case apierrors.IsForbidden(err):
		return "forbidden"
	case apierrors.IsUnauthorized(err):
		return "unauthorized"
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return "timed out on the server"
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

func (g *gatherer) getNamespace(ctx context.Context, cancel context.CancelCauseFunc) {
	g.requests.Add(1)
	u, err := g.c.dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, g.ns, getOptions)
	if err != nil {
		if apierrors.IsNotFound(err) {
			err = fmt.Errorf("namespace %q: %w", g.ns, ErrNamespaceNotFound)
		} else {
			err = fmt.Errorf("get namespace %q: %w", g.ns, err)
		}
		g.mu.Lock()
		g.nsErr = err
		g.mu.Unlock()
		cancel(err)
		return
	}
	o, err := NewObject(u.Object)
	if err != nil {
		g.mu.Lock()
		g.nsErr = fmt.Errorf("get namespace %q: %w", g.ns, err)
		g.mu.Unlock()
		cancel(err)
		return
	}
	o.Ref.Resource = "namespaces"
	g.mu.Lock()
	g.nsObject = o
	g.mu.Unlock()
}

func (g *gatherer) getVersion(ctx context.Context) {
	g.requests.Add(1)
	info, err := g.c.discovery.ServerVersionWithContext(ctx)
	if err != nil {
		g.addProblem(problem{what: "Kubernetes version", reason: g.reason(err), impact: "rules that depend on it assume the newest"})
		return
	}
	kv := KubeVersion{GitVersion: info.GitVersion}
	kv.Major, _ = strconv.Atoi(strings.TrimRight(info.Major, "+"))
	kv.Minor, _ = strconv.Atoi(strings.TrimRight(info.Minor, "+"))
	g.mu.Lock()
	g.version = kv
	g.mu.Unlock()
}

// snapshot assembles the snapshot once every task is done. Objects are
// added in a stable order so that IDs, findings and reports are
// reproducible.
func (g *gatherer) snapshot() *Snapshot {
	s := NewSnapshot(SourceCluster, g.version)
	s.Target = g.ns
	disc := g.discovery
	s.Discovery = &disc

	if g.nsObject != nil {
		s.Add(g.nsObject)
	}
	s.EnsureNamespace(g.ns)

	objs := g.objects
	for _, c := range g.keptCRDs() {
		objs = append(objs, c.obj)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Ref.Less(objs[j].Ref) })
	index := map[string]int{}
	for _, o := range objs {
		s.Add(o)
		if o.Ref.Group == "" && o.Ref.Kind == "Service" {
			index[o.Ref.Namespace+"/"+o.Ref.Name] = o.Ref.ID
		}
	}

	keys := make([]string, 0, len(g.services))
	for k := range g.services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := g.services[k]
		f.ObjectID = -1
		if id, ok := index[k]; ok {
			f.ObjectID = id
		}
		s.Services[k] = f
	}

	s.Incomplete = summarizeProblems(g.problems, g.discovery.FailedGroupVersions)
	s.Complete = len(s.Incomplete) == 0
	for _, p := range g.problems {
		if p.controllerFacts || controllerTypes[p.typeName] {
			s.ControllerFactsIncomplete = true
		}
	}
	return s
}

// summarizeProblems words what the snapshot could not check. The LISTs of
// namespaced resource types that failed for the same reason make one line,
// so that a deadline reads "objects of 12 resource types not listed:
// context deadline exceeded (…)" rather than twelve lines.
func summarizeProblems(problems []problem, failedGVs []FailedGroupVersion) []string {
	var out []string
	byReason := map[string][]string{}
	var reasons []string
	for _, p := range problems {
		if p.typeName == "" {
			continue
		}
		if _, ok := byReason[p.reason]; !ok {
			reasons = append(reasons, p.reason)
		}
		byReason[p.reason] = append(byReason[p.reason], p.typeName)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		names := byReason[r]
		sort.Strings(names)
		out = append(out, fmt.Sprintf("objects of %s not listed: %s (%s)", plural(len(names), "resource type"), r, abbreviate(names, 10)))
	}
	if len(failedGVs) > 0 {
		gvs := make([]string, 0, len(failedGVs))
		for _, f := range failedGVs {
			gvs = append(gvs, f.GroupVersion)
		}
		out = append(out, fmt.Sprintf("objects of the resource types of %s that discovery could not read were not listed (%s)",
			plural(len(gvs), "group-version"), abbreviate(gvs, 10)))
	}
	var rest []string
	for _, p := range problems {
		if p.typeName != "" {
			continue
		}
		line := p.what + " not checked: " + p.reason
		if p.impact != "" {
			line += " (" + p.impact + ")"
		}
		rest = append(rest, line)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// abbreviate joins the first max names and says how many more there are.
func abbreviate(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(" and %d more", len(names)-max)
}
