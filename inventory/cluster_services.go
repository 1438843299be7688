package inventory

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// crdInfo is a listed CRD and what decides whether the snapshot keeps it.
type crdInfo struct {
	obj     *Object
	served  schema.GroupResource // the resource it defines
	webhook bool                 // conversion through a webhook
}

// crdRefetchMax is how many changed CRDs are read one GET each; beyond
// it, one LIST of every CRD is cheaper.
const crdRefetchMax = 8

// listCRDs lists every CRD and keeps what addCRD needs. With a cache, a
// metadata-only LIST (names, UIDs, resourceVersions: kilobytes) says which
// CRDs changed since the cache was written, and only those are read in
// full; otherwise every CRD is (typed, in protobuf).
func (g *gatherer) listCRDs(ctx context.Context, l fullList) {
	if g.crdCache.path == "" {
		entries, _ := g.readCRDs(ctx, l)
		g.addCRDs(l, entries)
		return
	}
	res := g.c.metadata.Resource(l.gvr)
	opts := metav1.ListOptions{Limit: g.pageSize}
	var current []metav1.PartialObjectMetadata
	for {
		g.requests.Add(1)
		list, err := res.List(ctx, opts)
		if err != nil {
			g.listFailed(ctx, l, err, false)
			return
		}
		current = append(current, list.Items...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	cached := g.crdCache.load(g.host)
	entries := make([]crdCacheEntry, 0, len(current))
	var stale []string
	for _, m := range current {
		if e, ok := cached[string(m.UID)]; ok && e.ResourceVersion == m.ResourceVersion {
			entries = append(entries, e)
			continue
		}
		stale = append(stale, m.Name)
	}
	g.log.V(2).Info("CRD cache", "crds", len(current), "changed", len(stale), "path", g.crdCache.path)
	if len(stale) > 0 {
		fetched, ok := g.getCRDs(ctx, stale)
		if !ok {
			// Too many changed, or a GET failed: read them all at once.
			all, ok := g.readCRDs(ctx, l)
			if !ok {
				// Recorded as a problem; keep what is known still.
				g.addCRDs(l, mergeCRDs(entries, all))
				return
			}
			fetched, entries = all, nil
		}
		entries = append(entries, fetched...)
	}
	g.addCRDs(l, entries)
	if len(stale) > 0 || len(cached) != len(entries) {
		if err := g.crdCache.store(g.host, entries); err != nil {
			g.log.V(1).Info("CRD cache not written", "error", err.Error())
		}
	}
}

// getCRDs reads the named CRDs one GET each; false when there are more
// than crdRefetchMax or a GET failed. A CRD deleted since the LIST is left
// out.
func (g *gatherer) getCRDs(ctx context.Context, names []string) ([]crdCacheEntry, bool) {
	if len(names) > crdRefetchMax {
		return nil, false
	}
	out := make([]crdCacheEntry, 0, len(names))
	for _, name := range names {
		g.requests.Add(1)
		crd, err := g.c.apiext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, getOptions)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, false
		}
		e, err := crdEntry(crd)
		if err != nil {
			continue
		}
		out = append(out, e)
	}
	return out, true
}

// readCRDs lists every CRD in full; false (with what was read) when the
// LIST failed, which is recorded.
func (g *gatherer) readCRDs(ctx context.Context, l fullList) ([]crdCacheEntry, bool) {
	opts := metav1.ListOptions{Limit: g.pageSize}
	var out []crdCacheEntry
	for {
		g.requests.Add(1)
		list, err := g.c.apiext.ApiextensionsV1().CustomResourceDefinitions().List(ctx, opts)
		if err != nil {
			g.listFailed(ctx, l, err, len(out) > 0)
			return out, false
		}
		for i := range list.Items {
			e, err := crdEntry(&list.Items[i])
			if err != nil {
				continue
			}
			out = append(out, e)
		}
		if list.Continue == "" {
			return out, true
		}
		opts.Continue = list.Continue
	}
}

func crdEntry(c *apiextensionsv1.CustomResourceDefinition) (crdCacheEntry, error) {
	u, err := crdMap(c)
	if err != nil {
		return crdCacheEntry{}, err
	}
	return crdCacheEntry{UID: string(c.UID), ResourceVersion: c.ResourceVersion, Object: u}, nil
}

// mergeCRDs returns a and the entries of b whose CRD is not in a.
func mergeCRDs(a, b []crdCacheEntry) []crdCacheEntry {
	seen := make(map[string]bool, len(a))
	for _, e := range a {
		seen[e.UID] = true
	}
	for _, e := range b {
		if !seen[e.UID] {
			a = append(a, e)
		}
	}
	return a
}

func (g *gatherer) addCRDs(l fullList, entries []crdCacheEntry) {
	for _, e := range entries {
		o, err := NewObject(e.Object)
		if err != nil {
			continue
		}
		o.Ref.Resource = l.gvr.Resource
		g.addCRD(e.Object, o)
	}
}

// crdMap is a CRD as decoded JSON, without its schemas: the fields that
// trimCRD keeps (group, names, scope, conversion, versions, status), built
// from the typed object. Converting the whole object would cost more than
// the LIST. A field that trimCRD starts to keep must be added here.
func crdMap(c *apiextensionsv1.CustomResourceDefinition) (map[string]any, error) {
	meta := c.ObjectMeta
	meta.ManagedFields = nil
	md, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&meta)
	if err != nil {
		return nil, err
	}
	names, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c.Spec.Names)
	if err != nil {
		return nil, err
	}
	spec := map[string]any{"group": c.Spec.Group, "names": names, "scope": string(c.Spec.Scope)}
	if c.Spec.Conversion != nil {
		cv := *c.Spec.Conversion
		if cv.Webhook != nil && cv.Webhook.ClientConfig != nil {
			// Trimmed anyway; not kept in the cache either.
			wh, cc := *cv.Webhook, *cv.Webhook.ClientConfig
			cc.CABundle = nil
			wh.ClientConfig = &cc
			cv.Webhook = &wh
		}
		conv, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&cv)
		if err != nil {
			return nil, err
		}
		spec["conversion"] = conv
	}
	versions := make([]any, 0, len(c.Spec.Versions))
	for _, v := range c.Spec.Versions {
		versions = append(versions, map[string]any{"name": v.Name, "served": v.Served, "storage": v.Storage})
	}
	spec["versions"] = versions
	status, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c.Status)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"apiVersion": apiextensionsv1.SchemeGroupVersion.String(),
		"kind":       "CustomResourceDefinition",
		"metadata":   md,
		"spec":       spec,
		"status":     status,
	}, nil
}

// addCRD remembers a CRD and asks for the Service of its conversion
// webhook. Which CRDs end up in the snapshot is decided once every LIST is
// done (keptCRDs).
func (g *gatherer) addCRD(u map[string]any, o *Object) {
	spec, _ := u["spec"].(map[string]any)
	names, _ := spec["names"].(map[string]any)
	info := crdInfo{obj: o, served: schema.GroupResource{Group: str(spec["group"]), Resource: str(names["plural"])}}
	if conv, ok := spec["conversion"].(map[string]any); ok && str(conv["strategy"]) == "Webhook" {
		info.webhook = true
		g.wantServices(dependedServices("apiextensions.k8s.io", "CustomResourceDefinition", u))
	}
	g.mu.Lock()
	g.crds = append(g.crds, info)
	g.mu.Unlock()
}

// keptCRDs are the CRDs of the kinds that have objects in the namespace (or
// whose objects could not be listed), and every CRD converted by a webhook:
// when that webhook is down, the API server cannot serve that resource in
// any namespace, so it stalls every namespace deletion.
func (g *gatherer) keptCRDs() []crdInfo {
	var out []crdInfo
	for _, c := range g.crds {
		if c.webhook || g.present[c.served] || g.failedTypes[c.served] {
			out = append(out, c)
		}
	}
	return out
}

// wantServices starts, once per Service, the requests that tell whether it
// exists and how many ready endpoints it has.
func (g *gatherer) wantServices(refs []serviceRef) {
	for _, r := range refs {
		key := r.namespace + "/" + r.name
		g.mu.Lock()
		_, seen := g.services[key]
		if !seen {
			g.services[key] = &ServiceFact{Namespace: r.namespace, Name: r.name, ObjectID: -1}
			if g.serviceFact != nil {
				g.services[key] = g.serviceFact(r)
				seen = true
			}
		}
		g.mu.Unlock()
		if !seen {
			g.run(func(ctx context.Context) { g.checkService(ctx, r) })
		}
	}
}

func (g *gatherer) checkService(ctx context.Context, r serviceRef) {
	fact := &ServiceFact{Namespace: r.namespace, Name: r.name, ObjectID: -1}
	defer func() {
		g.mu.Lock()
		g.services[r.namespace+"/"+r.name] = fact
		g.mu.Unlock()
	}()
	what := "Service " + r.namespace + "/" + r.name
	impact := "whether what it serves is available is unknown"
	g.requests.Add(1)
	svc, err := g.c.kube.CoreV1().Services(r.namespace).Get(ctx, r.name, getOptions)
	switch {
	case apierrors.IsNotFound(err):
		fact.Exists, fact.ReadyEndpoints = ptr(false), ptr(0)
		return
	case err != nil:
		g.addProblem(problem{what: what, reason: g.reason(err), impact: impact})
		return
	}
	fact.Exists = ptr(true)
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return // served outside the cluster: no endpoints to count
	}
	g.requests.Add(1)
	slices, err := g.c.kube.DiscoveryV1().EndpointSlices(r.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + r.name,
	})
	if err != nil {
		g.addProblem(problem{what: "EndpointSlices of " + what, reason: g.reason(err), impact: impact})
		return
	}
	fact.ReadyEndpoints = ptr(readyEndpoints(slices.Items))
}

// readyEndpoints counts the endpoints that can take traffic; a nil ready
// condition means ready (the API's own convention).
func readyEndpoints(slices []discoveryv1.EndpointSlice) int {
	n := 0
	for _, s := range slices {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				n++
			}
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }
