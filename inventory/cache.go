package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/nsguard/nsguard/policies/catalog"
)

// How a Cache reads the objects of the namespace it takes a snapshot of.
const (
	// ContentsWatch keeps a metadata-only informer per namespaced resource
	// type: a snapshot reads memory only.
	ContentsWatch = "watch"
	// ContentsList lists the namespace's objects, metadata only, one LIST
	// per type in parallel, at each snapshot: less memory, more latency.
	ContentsList = "list"
)

// CacheOptions configures NewCache. The zero value is usable.
type CacheOptions struct {
	// Contents is ContentsWatch (default) or ContentsList.
	Contents string
	// Catalog is the finalizer catalog given to Analyze (default: built-in).
	Catalog *catalog.Catalog
	// Workers bounds the LISTs in flight in ContentsList (default 32), and
	// PageSize is their Limit (default 500).
	Workers  int
	PageSize int64
	// DiscoveryRefresh is how often discovery is read again even when no
	// CRD or APIService changed (default 5m).
	DiscoveryRefresh time.Duration
	// QPS and Burst bound the requests of the whole process (one limiter
	// shared by every client; default 100 and 300): the informers' LISTs
	// at start, discovery, and the LISTs of ContentsList, about one per
	// namespaced type (130 on a cluster with a few operators) for each
	// decision, so that a decision's LISTs fit in the burst. Priority and
	// fairness on the API server protects it too.
	QPS   float32
	Burst int
	// RateLimiter, when set, is the process's limiter (QPS and Burst are
	// then not used), shared with the process's other clients.
	RateLimiter flowcontrol.RateLimiter
	// Now is this machine's clock (default time.Now); liveness is judged
	// on the API server's, learnt from its responses.
	Now    func() time.Time
	Logger logr.Logger
}

func (o CacheOptions) withDefaults() (CacheOptions, error) {
	switch o.Contents {
	case "":
		o.Contents = ContentsWatch
	case ContentsWatch, ContentsList:
	default:
		return o, fmt.Errorf("contents %q: want %s or %s", o.Contents, ContentsWatch, ContentsList)
	}
	if o.Workers <= 0 {
		o.Workers = DefaultClusterWorkers
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultClusterPageSize
	}
	if o.DiscoveryRefresh <= 0 {
		o.DiscoveryRefresh = 5 * time.Minute
	}
	if o.QPS <= 0 {
		o.QPS = 100
	}
	if o.Burst <= 0 {
		o.Burst = 300
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
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

// Cache is the long-lived source of snapshots behind `nsguard serve` (the
// admission webhook and the remediator): shared informers keep the
// cluster-wide facts (workloads and pods, Leases, RBAC, CRDs, APIServices,
// webhook configurations, Services and EndpointSlices), each trimmed by a
// transform to what the rules read, and discovery is kept and read again
// when CRDs or APIServices change. A snapshot then costs no request for
// those facts, and, with ContentsWatch, none at all.
//
// Snapshot gives the same document as FromCluster, so that the webhook,
// the remediator and diagnose share one analysis and one engine.
type Cache struct {
	opts    CacheOptions
	cfg     *rest.Config
	clients *clusterClients
	clock   *ServerClock
	host    string

	// fixed are the informers of the cluster-wide facts, by resource.
	fixed map[schema.GroupResource]*informer

	mu sync.RWMutex
	// contents are the metadata informers of the other namespaced types
	// (ContentsWatch), by resource; replaced as discovery changes.
	contents  map[schema.GroupResource]*informer
	types     []resourceType
	discovery Discovery
	version   KubeVersion
	discErr   error
	// stop stops the contents informers of a type that went away.
	stop map[schema.GroupResource]context.CancelFunc

	refresh chan struct{}
	ctx     context.Context
}

// informer is one shared informer and what a snapshot needs to know of it.
type informer struct {
	gvr  schema.GroupVersionResource
	kind string
	inf  cache.SharedIndexInformer
	// what and impact word an informer that has not synced; controllerFacts
	// marks those that tell who handles finalizers.
	what, impact    string
	controllerFacts bool
}

// NewCache sets up the informers; Start runs them.
func NewCache(cfg *rest.Config, opts CacheOptions) (*Cache, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("inventory cache: %w", err)
	}
	clock := NewServerClock(opts.Now)
	limiter := opts.RateLimiter
	if limiter == nil {
		limiter = flowcontrol.NewTokenBucketRateLimiter(opts.QPS, opts.Burst)
	}
	clients, err := newClusterClients(cfg, clock, limiter)
	if err != nil {
		return nil, fmt.Errorf("inventory cache: %w", err)
	}
	c := &Cache{
		opts: opts, cfg: cfg, clients: clients, clock: clock, host: cfg.Host,
		contents: map[schema.GroupResource]*informer{},
		stop:     map[schema.GroupResource]context.CancelFunc{},
		refresh:  make(chan struct{}, 1),
	}
	c.fixed = c.fixedInformers()
	return c, nil
}

// Start runs the informers and keeps discovery fresh until ctx ends. It
// returns at once; WaitForSync tells when the caches are filled.
func (c *Cache) Start(ctx context.Context) error {
	c.ctx = ctx
	for _, inf := range c.fixed {
		go inf.inf.RunWithContext(ctx)
	}
	c.readDiscovery(ctx)
	go c.keepDiscovery(ctx)
	return nil
}

// WaitForSync waits until the informers of the cluster-wide facts have
// synced, or ctx ends. The namespace-contents informers are not waited
// for: one type served by a broken aggregated API or conversion webhook
// would otherwise keep nsguard from ever being ready; a snapshot reports
// such a type as not checked instead.
func (c *Cache) WaitForSync(ctx context.Context) bool {
	var synced []cache.InformerSynced
	for _, inf := range c.fixed {
		synced = append(synced, inf.inf.HasSynced)
	}
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Synced reports whether the informers of the cluster-wide facts have
// synced (readiness; see WaitForSync).
func (c *Cache) Synced() bool {
	for _, inf := range c.fixed {
		if !inf.inf.HasSynced() {
			return false
		}
	}
	return true
}

func (c *Cache) allInformers() []*informer {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*informer, 0, len(c.fixed)+len(c.contents))
	for _, inf := range c.fixed {
		out = append(out, inf)
	}
	for _, inf := range c.contents {
		out = append(out, inf)
	}
	return out
}

// Sizes counts the objects in each informer, by resource ("pods",
// "deployments.apps", …), for metrics and sizing.
func (c *Cache) Sizes() map[string]int {
	out := map[string]int{}
	for _, inf := range c.allInformers() {
		out[inf.gvr.GroupResource().String()] += len(inf.inf.GetStore().ListKeys())
	}
	return out
}

// Clock is the API server's clock as the cache has learnt it.
func (c *Cache) Clock() *ServerClock { return c.clock }

// discoveryChanged asks for discovery to be read again soon (a CRD or an
// APIService changed).
func (c *Cache) discoveryChanged() {
	select {
	case c.refresh <- struct{}{}:
	default:
	}
}

// keepDiscovery reads discovery again after CRD or APIService changes
// (waiting a second for a burst of them to end) and every
// DiscoveryRefresh.
func (c *Cache) keepDiscovery(ctx context.Context) {
	tick := time.NewTicker(c.opts.DiscoveryRefresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.refresh:
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		c.readDiscovery(ctx)
	}
}

// readDiscovery reads the namespaced resource types, the failed
// group-versions and the version, and (ContentsWatch) starts or stops the
// metadata informers of the types that came or went.
func (c *Cache) readDiscovery(ctx context.Context) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lists, err := discovery.ServerPreferredNamespacedResourcesWithContext(dctx, c.clients.discovery)
	failed, err := splitDiscoveryError(err)
	var kv KubeVersion
	if info, verr := c.clients.discovery.ServerVersionWithContext(dctx); verr == nil {
		kv = kubeVersionOf(info.GitVersion, info.Major, info.Minor)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kv.GitVersion != "" {
		c.version = kv
	}
	c.discErr = err
	if err != nil && len(lists) == 0 {
		c.opts.Logger.Error(err, "discovery failed; keeping the resource types known before")
		return
	}
	c.types = namespacedListable(lists)
	c.discovery = Discovery{FailedGroupVersions: failed, ResourceTypes: len(c.types)}
	if c.opts.Contents == ContentsWatch {
		c.syncContentInformers(ctx)
	}
	c.opts.Logger.V(1).Info("discovery read", "resourceTypes", len(c.types), "failedGroupVersions", len(failed))
}

// syncContentInformers starts a metadata informer for each namespaced type
// that no fixed informer covers, and stops those of types that went away.
// Called with c.mu held.
func (c *Cache) syncContentInformers(ctx context.Context) {
	want := map[schema.GroupResource]resourceType{}
	for _, t := range c.types {
		gr := t.GVR.GroupResource()
		if _, ok := c.fixed[gr]; !ok && !listedEachTime[gr] {
			want[gr] = t
		}
	}
	for gr, inf := range c.contents {
		if t, ok := want[gr]; !ok || t.GVR.Version != inf.gvr.Version {
			c.stop[gr]()
			delete(c.stop, gr)
			delete(c.contents, gr)
		}
	}
	for gr, t := range want {
		if _, ok := c.contents[gr]; ok {
			continue
		}
		inf := c.metadataInformer(t)
		ictx, cancel := context.WithCancel(ctx)
		c.contents[gr] = inf
		c.stop[gr] = cancel
		go inf.inf.RunWithContext(ictx)
	}
}

// cachedObject is what the informers store: the object already trimmed to
// what rules read (an *Object), under the name and namespace of the
// original so that the informers' indexes work.
type cachedObject struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	obj *Object
}

// DeepCopyObject returns a shallow copy: nothing stored is ever modified.
func (c *cachedObject) DeepCopyObject() runtime.Object {
	cp := *c
	return &cp
}

// cached wraps a trimmed object for storage.
func cached(o *Object) *cachedObject {
	o.Memo = &Memo{}
	return &cachedObject{ObjectMeta: metav1.ObjectMeta{Name: o.Metadata.Name, Namespace: o.Metadata.Namespace, UID: typesUID(o.Metadata.UID)}, obj: o}
}

// objectOf returns the trimmed object an informer stored.
func objectOf(v any) (*Object, bool) {
	c, ok := v.(*cachedObject)
	if !ok {
		return nil, false
	}
	return c.obj, true
}

// copyForSnapshot copies the stored object's struct (Snapshot.Add sets its
// ID, Analyze its FactOnly): its maps, slices and Memo are shared
// read-only with the cache.
func copyForSnapshot(o *Object) *Object {
	cp := *o
	cp.Ref.ID = -1
	cp.FactOnly = false
	return &cp
}

// listStore returns copies of the objects an informer holds, all of them
// or those of one namespace.
func listStore(inf *informer, namespace string) []*Object {
	var items []any
	if namespace == "" {
		items = inf.inf.GetStore().List()
	} else {
		var err error
		items, err = inf.inf.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
		if err != nil {
			return nil
		}
	}
	out := make([]*Object, 0, len(items))
	for _, it := range items {
		if o, ok := objectOf(it); ok {
			out = append(out, copyForSnapshot(o))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.Less(out[j].Ref) })
	return out
}

var errNotSynced = errors.New("not synced yet")
