package inventory

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// listedEachTime are namespaced types that ContentsWatch still lists at
// each snapshot: Events churn in every namespace all the time, a watch on
// them would cost more than the few milliseconds of a LIST, and they never
// hold up a deletion.
var listedEachTime = map[schema.GroupResource]bool{
	{Resource: "events"}:                         true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// clusterWide are the fixed informers whose objects in every namespace
// belong in a snapshot (they tell who handles finalizers); the others give
// only the target namespace's objects (RBAC and Services of other
// namespaces grant nothing there) or are read through other means.
var clusterWide = map[schema.GroupResource]bool{
	{Resource: "pods"}:                                                                   true,
	{Group: "apps", Resource: "deployments"}:                                             true,
	{Group: "apps", Resource: "statefulsets"}:                                            true,
	{Group: "apps", Resource: "daemonsets"}:                                              true,
	{Group: "coordination.k8s.io", Resource: "leases"}:                                   true,
	{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}:                       true,
	{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}:                true,
	{Group: "apiregistration.k8s.io", Resource: "apiservices"}:                           true,
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}: true,
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}:   true,
}

// Snapshot takes a snapshot of one namespace from the caches: the same
// document FromCluster gives, with Complete false and Incomplete saying
// what a cache that has not synced (or a LIST that failed, in
// ContentsList) left unchecked. It honours ctx's deadline: what is not
// read by then is reported as not checked, never waited for.
func (c *Cache) Snapshot(ctx context.Context, namespace string) (*Snapshot, error) {
	if namespace == "" {
		return nil, fmt.Errorf("inventory cache: namespace is required")
	}
	began := time.Now()
	c.mu.RLock()
	types, disc, version, contents := c.types, c.discovery, c.version, make(map[schema.GroupResource]*informer, len(c.contents))
	for k, v := range c.contents {
		contents[k] = v
	}
	c.mu.RUnlock()

	g := &gatherer{
		ctx: ctx, log: c.opts.Logger, c: c.clients, ns: namespace, pageSize: c.opts.PageSize,
		sem: make(chan struct{}, c.opts.Workers), services: map[string]*ServiceFact{}, host: c.host,
		present: map[schema.GroupResource]bool{}, failedTypes: map[schema.GroupResource]bool{},
		version: version, discovery: disc,
	}
	g.serviceFact = c.serviceFact(namespace)

	nsInf := c.fixed[schema.GroupResource{Resource: "namespaces"}]
	if !nsInf.inf.HasSynced() {
		return nil, fmt.Errorf("inventory cache: namespaces %w", errNotSynced)
	}
	item, exists, err := nsInf.inf.GetStore().GetByKey(namespace)
	if err != nil || !exists {
		return nil, fmt.Errorf("namespace %q: %w", namespace, ErrNamespaceNotFound)
	}
	nsObj, _ := objectOf(item)
	g.nsObject = copyForSnapshot(nsObj)

	for gr, inf := range c.fixed {
		if gr.Resource == "namespaces" {
			continue // the target is read above
		}
		if !inf.inf.HasSynced() {
			g.addProblem(problem{what: inf.what, reason: errNotSynced.Error(), impact: inf.impact, controllerFacts: inf.controllerFacts})
			if !clusterWide[gr] {
				g.markFailed(gr)
			}
			continue
		}
		ns := namespace
		if clusterWide[gr] {
			ns = ""
		}
		switch gr.Resource {
		case "customresourcedefinitions":
			for _, o := range listStore(inf, "") {
				g.addCRD(map[string]any{"spec": o.Body["spec"]}, o)
			}
			continue
		case "apiservices", "validatingwebhookconfigurations", "mutatingwebhookconfigurations":
			for _, o := range listStore(inf, "") {
				g.wantServices(dependedServices(o.Ref.Group, o.Ref.Kind, o.Body))
			}
		case "endpointslices":
			// Content of the namespace, metadata only as FromCluster reads
			// them; the ready count served serviceFact.
			objs := listStore(inf, namespace)
			for _, o := range objs {
				o.Body = nil
			}
			g.addObjects(gr, objs)
			continue
		}
		g.addObjects(gr, listStore(inf, ns))
	}

	for _, t := range append(types, c.undiscoveredCRDTypes(types)...) {
		gr := t.GVR.GroupResource()
		if _, fixed := c.fixed[gr]; fixed {
			continue
		}
		inf, watched := contents[gr]
		if c.opts.Contents == ContentsList || listedEachTime[gr] || !watched || !inf.inf.HasSynced() {
			// Listed now: in list mode, and for a type whose informer is
			// not there or not filled yet (a CRD created a moment ago, a
			// type whose LISTs fail: the LIST then says why).
			g.run(func(ctx context.Context) { g.listMetadata(ctx, t) })
			continue
		}
		g.addObjects(gr, listStore(inf, namespace))
	}
	g.wg.Wait()

	s := g.snapshot()
	Analyze(s, c.opts.Catalog, c.clock.Now())
	c.opts.Logger.V(2).Info("snapshot from cache", "namespace", namespace, "objects", len(s.Objects),
		"requests", g.requests.Load(), "duration", time.Since(began).Round(time.Microsecond), "complete", s.Complete)
	return s, nil
}

// undiscoveredCRDTypes are the namespaced custom resource types that the
// CRD informer knows and discovery, read a moment earlier, does not yet:
// without them a snapshot taken right after a CRD was created would miss
// its objects and still claim to be complete.
func (c *Cache) undiscoveredCRDTypes(known []resourceType) []resourceType {
	inf := c.fixed[schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}]
	if !inf.inf.HasSynced() {
		return nil
	}
	seen := make(map[schema.GroupResource]bool, len(known))
	for _, t := range known {
		seen[t.GVR.GroupResource()] = true
	}
	var out []resourceType
	for _, o := range listStore(inf, "") {
		spec, _ := o.Body["spec"].(map[string]any)
		names, _ := spec["names"].(map[string]any)
		group, plural, kind := str(spec["group"]), str(names["plural"]), str(names["kind"])
		if str(spec["scope"]) != "Namespaced" || plural == "" || seen[schema.GroupResource{Group: group, Resource: plural}] {
			continue
		}
		if v := preferredServedVersion(spec["versions"]); v != "" {
			out = append(out, resourceType{GVR: schema.GroupVersionResource{Group: group, Version: v, Resource: plural}, Kind: kind})
		}
	}
	return out
}

// preferredServedVersion picks the version discovery would prefer among a
// CRD's served versions (Kubernetes' version priority: v2 > v1 > v1beta1).
func preferredServedVersion(v any) string {
	vs, _ := v.([]any)
	best := ""
	for _, x := range vs {
		m, _ := x.(map[string]any)
		name := str(m["name"])
		if m["served"] != true || name == "" {
			continue
		}
		if best == "" || version.CompareKubeAwareVersionStrings(name, best) > 0 {
			best = name
		}
	}
	return best
}

// serviceFact answers for a Service from the Service and EndpointSlice
// informers, as checkService does with requests.
func (c *Cache) serviceFact(_ string) func(serviceRef) *ServiceFact {
	svcs := c.fixed[schema.GroupResource{Resource: "services"}]
	slices := c.fixed[schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}]
	return func(r serviceRef) *ServiceFact {
		fact := &ServiceFact{Namespace: r.namespace, Name: r.name, ObjectID: -1}
		if !svcs.inf.HasSynced() {
			return fact // unknown
		}
		item, exists, err := svcs.inf.GetStore().GetByKey(r.namespace + "/" + r.name)
		if err != nil {
			return fact
		}
		if !exists {
			fact.Exists, fact.ReadyEndpoints = ptr(false), ptr(0)
			return fact
		}
		fact.Exists = ptr(true)
		if o, ok := objectOf(item); ok {
			spec, _ := o.Body["spec"].(map[string]any)
			if str(spec["type"]) == "ExternalName" {
				return fact // served outside the cluster: no endpoints to count
			}
		}
		if !slices.inf.HasSynced() {
			return fact
		}
		items, err := slices.inf.GetIndexer().ByIndex("namespace", r.namespace)
		if err != nil {
			return fact
		}
		ready := 0
		for _, it := range items {
			o, ok := objectOf(it)
			if !ok || o.Metadata.Labels["kubernetes.io/service-name"] != r.name {
				continue
			}
			n, _ := toInt64(o.Body["readyEndpoints"])
			ready += int(n)
		}
		fact.ReadyEndpoints = ptr(ready)
		return fact
	}
}
