package inventory

import (
	"context"
	"errors"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// resourceType is one namespaced, listable resource type, in the version
// that discovery prefers.
type resourceType struct {
	GVR  schema.GroupVersionResource
	Kind string
}

// Name is the type as kubectl prints it: "pods", "deployments.apps".
func (t resourceType) Name() string {
	return schema.GroupResource{Group: t.GVR.Group, Resource: t.GVR.Resource}.String()
}

// aliasedTypes serve the same stored objects as another type; listing them
// again would count each object twice.
var aliasedTypes = map[schema.GroupResource]schema.GroupResource{
	{Group: "events.k8s.io", Resource: "events"}: {Resource: "events"},
}

// discover finds the namespaced, listable resource types (one aggregated
// discovery request pair where the server supports it) and starts one LIST
// task per type. Group-versions that discovery could not read are recorded:
// they are what stalls the namespace controller.
func (g *gatherer) discover(ctx context.Context) {
	// Aggregated discovery answers for every group in two requests (/api
	// and /apis); an API server without it takes one per group-version.
	g.requests.Add(2)
	lists, err := discovery.ServerPreferredNamespacedResourcesWithContext(ctx, g.c.discovery)
	failed, err := splitDiscoveryError(err)
	if err != nil && len(lists) == 0 {
		g.addProblem(problem{what: "resource types in the namespace", reason: g.reason(err),
			impact: "discovery failed, so no object of the namespace was listed"})
		return
	}
	if err != nil {
		g.addProblem(problem{what: "some resource types", reason: g.reason(err)})
	}
	types := namespacedListable(lists)
	g.mu.Lock()
	g.discovery.FailedGroupVersions = failed
	g.discovery.ResourceTypes = len(types)
	g.mu.Unlock()
	g.log.V(1).Info("discovery done", "resourceTypes", len(types), "failedGroupVersions", len(failed))

	covered := map[schema.GroupResource]bool{}
	for _, l := range clusterLists(g.ns) {
		if l.coversNamespace {
			covered[l.gvr.GroupResource()] = true
		}
	}
	for _, t := range types {
		switch {
		case covered[t.GVR.GroupResource()]:
			// Listed in full cluster-wide; the objects of the namespace are
			// among them.
		case KeepsBody(t.GVR.Group, t.Kind):
			l := fullList{gvr: t.GVR, kind: t.Kind, namespace: g.ns, typeName: t.Name()}
			g.run(func(ctx context.Context) { g.listFull(ctx, l) })
		default:
			g.run(func(ctx context.Context) { g.listMetadata(ctx, t) })
		}
	}
}

// splitDiscoveryError separates the group-versions that failed (a partial
// result, usually an unavailable APIService) from a failure of discovery
// as a whole.
func splitDiscoveryError(err error) ([]FailedGroupVersion, error) {
	if err == nil {
		return nil, nil
	}
	var gdf *discovery.ErrGroupDiscoveryFailed
	if !errors.As(err, &gdf) {
		return nil, err
	}
	failed := make([]FailedGroupVersion, 0, len(gdf.Groups))
	for gv, e := range gdf.Groups {
		failed = append(failed, FailedGroupVersion{GroupVersion: gv.String(), Error: e.Error()})
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].GroupVersion < failed[j].GroupVersion })
	return failed, nil
}

// namespacedListable flattens discovery's answer to the namespaced resource
// types that can be listed, skipping subresources and aliases, sorted.
func namespacedListable(lists []*metav1.APIResourceList) []resourceType {
	seen := map[schema.GroupResource]bool{}
	var out []resourceType
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !r.Namespaced || strings.Contains(r.Name, "/") || !hasVerb(r.Verbs, "list") {
				continue
			}
			gr := schema.GroupResource{Group: gv.Group, Resource: r.Name}
			if seen[gr] {
				continue
			}
			seen[gr] = true
			out = append(out, resourceType{GVR: gv.WithResource(r.Name), Kind: r.Kind})
		}
	}
	kept := out[:0]
	for _, t := range out {
		if alias, ok := aliasedTypes[t.GVR.GroupResource()]; ok && seen[alias] {
			continue
		}
		kept = append(kept, t)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Name() < kept[j].Name() })
	return kept
}

func hasVerb(verbs metav1.Verbs, verb string) bool {
	for _, v := range verbs {
		if v == verb {
			return true
		}
	}
	return false
}
