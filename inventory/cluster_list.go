package inventory

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// nodeLeases holds one Lease per node: heartbeats, not controllers. It is
// the only namespace the cluster-wide Lease LIST leaves out.
const nodeLeases = "kube-node-lease"

// fullList is a LIST of whole objects (trimmed by NewObject): the kinds
// whose body rules read.
type fullList struct {
	gvr  schema.GroupVersionResource
	kind string
	// namespace limits the LIST; "" lists cluster-wide.
	namespace     string
	fieldSelector string
	// coversNamespace: a cluster-wide LIST of a namespaced type whose
	// result includes the target namespace's objects, so discovery does
	// not list that type again.
	coversNamespace bool
	// typeName is set for a LIST of one namespaced type in the target
	// namespace (its failure is summarised with the other types).
	typeName string
	// what and impact word a failure of a cluster-wide LIST.
	what, impact string
	// controllerFacts: the LIST tells who handles finalizers.
	controllerFacts bool
}

// clusterLists are the cluster-wide LISTs of one snapshot. Roles and
// RoleBindings are not among them: only those of the target namespace (and
// ClusterRoleBindings) grant rights on its objects, and discovery lists
// them there.
func clusterLists(namespace string) []fullList {
	leaseSelector := "metadata.namespace!=" + nodeLeases
	if namespace == nodeLeases {
		leaseSelector = ""
	}
	workloads := "which controllers run, and whether they are ready, is unknown outside the namespace"
	return []fullList{
		{gvr: gvr("apps", "v1", "deployments"), kind: "Deployment", coversNamespace: true, what: "Deployments cluster-wide", impact: workloads, controllerFacts: true},
		{gvr: gvr("apps", "v1", "statefulsets"), kind: "StatefulSet", coversNamespace: true, what: "StatefulSets cluster-wide", impact: workloads, controllerFacts: true},
		{gvr: gvr("apps", "v1", "daemonsets"), kind: "DaemonSet", coversNamespace: true, what: "DaemonSets cluster-wide", impact: workloads, controllerFacts: true},
		// Pods that have not finished, whatever owns them: a controller may
		// run as a bare Pod, a Job or under any custom owner. The target
		// namespace's own pods, finished ones included, are listed with its
		// content.
		{gvr: gvr("", "v1", "pods"), kind: "Pod", fieldSelector: "status.phase!=Succeeded,status.phase!=Failed,metadata.namespace!=" + namespace,
			what: "Pods cluster-wide", impact: "which controllers run, whatever owns their pods, is unknown", controllerFacts: true},
		{gvr: gvr("coordination.k8s.io", "v1", "leases"), kind: "Lease", coversNamespace: true, fieldSelector: leaseSelector,
			what: "Leases cluster-wide", impact: "controller liveness from leader-election Leases is unknown", controllerFacts: true},
		{gvr: gvr("rbac.authorization.k8s.io", "v1", "clusterroles"), kind: "ClusterRole",
			what: "ClusterRoles", impact: "which service accounts may remove finalizers is unknown", controllerFacts: true},
		{gvr: gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings"), kind: "ClusterRoleBinding",
			what: "ClusterRoleBindings", impact: "which service accounts may remove finalizers is unknown", controllerFacts: true},
		{gvr: gvr("apiextensions.k8s.io", "v1", "customresourcedefinitions"), kind: "CustomResourceDefinition",
			what: "CustomResourceDefinitions", impact: "conversion webhooks are unknown"},
		{gvr: gvr("apiregistration.k8s.io", "v1", "apiservices"), kind: "APIService",
			what: "APIServices", impact: "which aggregated APIs are unavailable is unknown"},
		{gvr: gvr("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations"), kind: "ValidatingWebhookConfiguration",
			what: "ValidatingWebhookConfigurations", impact: "admission webhooks that may refuse deletions are unknown"},
		{gvr: gvr("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"), kind: "MutatingWebhookConfiguration",
			what: "MutatingWebhookConfigurations", impact: "admission webhooks that may refuse deletions are unknown"},
	}
}

func gvr(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}

// listFull reads whole objects page by page and trims each.
func (g *gatherer) listFull(ctx context.Context, l fullList) {
	if l.kind == "CustomResourceDefinition" {
		g.listCRDs(ctx, l)
		return
	}
	page := g.jsonPage
	if builtinKind(l.gvr, l.kind) {
		page = g.protoPage
	}
	var visit func(u map[string]any)
	switch l.kind {
	case "APIService", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
		visit = func(u map[string]any) { g.wantServices(dependedServices(l.gvr.Group, l.kind, u)) }
	}
	found, err := g.readPages(ctx, l, page, visit)
	if err != nil {
		g.listFailed(ctx, l, err, len(found) > 0)
	}
	g.addObjects(l.gvr.GroupResource(), found)
}

// readPages reads every page of l and trims each object, calling visit (if
// not nil) with each untrimmed one. After an error it returns what it had
// read before.
func (g *gatherer) readPages(ctx context.Context, l fullList, page listPage, visit func(u map[string]any)) ([]*Object, error) {
	opts := metav1.ListOptions{Limit: g.pageSize, FieldSelector: l.fieldSelector}
	var found []*Object
	for {
		g.requests.Add(1)
		items, next, err := page(ctx, l, opts)
		if err != nil {
			return found, err
		}
		for _, u := range items {
			if u["apiVersion"] == nil || u["kind"] == nil {
				u["apiVersion"] = l.gvr.GroupVersion().String()
				u["kind"] = l.kind
			}
			o, err := NewObject(u)
			if err != nil {
				continue
			}
			o.Ref.Resource = l.gvr.Resource
			if visit != nil {
				visit(u)
			}
			found = append(found, o)
		}
		if next == "" {
			return found, nil
		}
		opts.Continue = next
	}
}

// listPage reads one page of a full LIST: its objects, decoded to maps for
// NewObject, and the continue token of the next page.
type listPage func(ctx context.Context, l fullList, opts metav1.ListOptions) ([]map[string]any, string, error)

// jsonPage reads a page in JSON, for kinds that client-go's scheme does not
// know (APIServices, custom resources that a rule might one day read).
func (g *gatherer) jsonPage(ctx context.Context, l fullList, opts metav1.ListOptions) ([]map[string]any, string, error) {
	var (
		list *unstructured.UnstructuredList
		err  error
	)
	res := g.c.dynamic.Resource(l.gvr)
	if l.namespace != "" {
		list, err = res.Namespace(l.namespace).List(ctx, opts)
	} else {
		list, err = res.List(ctx, opts)
	}
	if err != nil {
		return nil, "", err
	}
	items := make([]map[string]any, len(list.Items))
	for i := range list.Items {
		items[i] = list.Items[i].Object
	}
	return items, list.GetContinue(), nil
}

// builtinKind reports whether client-go's scheme decodes LISTs of the kind,
// so that protoPage can read them.
func builtinKind(r schema.GroupVersionResource, kind string) bool {
	return scheme.Scheme.Recognizes(r.GroupVersion().WithKind(kind + "List"))
}

// protoPage reads a page in protobuf and converts each typed object to the
// map NewObject trims. managedFields are dropped first: no rule reads them,
// and they are most of the bytes of a workload.
func (g *gatherer) protoPage(ctx context.Context, l fullList, opts metav1.ListOptions) ([]map[string]any, string, error) {
	prefix := []string{"/apis", l.gvr.Group, l.gvr.Version}
	if l.gvr.Group == "" {
		prefix = []string{"/api", l.gvr.Version}
	}
	obj, err := g.c.proto.Get().AbsPath(prefix...).Namespace(l.namespace).Resource(l.gvr.Resource).
		SpecificallyVersionedParams(&opts, scheme.ParameterCodec, l.gvr.GroupVersion()).Do(ctx).Get()
	if err != nil {
		return nil, "", err
	}
	list, err := meta.ListAccessor(obj)
	if err != nil {
		return nil, "", fmt.Errorf("LIST of %s: %w", l.gvr.Resource, err)
	}
	objs, err := meta.ExtractList(obj)
	if err != nil {
		return nil, "", fmt.Errorf("LIST of %s: %w", l.gvr.Resource, err)
	}
	items := make([]map[string]any, 0, len(objs))
	for _, o := range objs {
		if m, err := meta.Accessor(o); err == nil {
			m.SetManagedFields(nil)
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, "", fmt.Errorf("LIST of %s: %w", l.gvr.Resource, err)
		}
		items = append(items, u)
	}
	return items, list.GetContinue(), nil
}

// listFailed records a failed (or cut short) full LIST. A namespace owner
// may be forbidden to list workloads cluster-wide: the namespace's own are
// then still listed, so a controller inside it is still found.
func (g *gatherer) listFailed(ctx context.Context, l fullList, err error, partial bool) {
	reason := g.reason(err)
	if partial {
		reason = "listed in part: " + reason
	}
	if l.typeName != "" {
		if !apierrors.IsNotFound(err) { // the type went away since discovery: nothing to miss
			g.addProblem(problem{typeName: l.typeName, reason: reason})
		}
		g.markFailed(l.gvr.GroupResource())
		return
	}
	g.addProblem(problem{what: l.what, reason: reason, impact: l.impact, controllerFacts: l.controllerFacts})
	if l.coversNamespace && apierrors.IsForbidden(err) && !partial {
		nl := fullList{gvr: l.gvr, kind: l.kind, namespace: g.ns, typeName: schema.GroupResource{Group: l.gvr.Group, Resource: l.gvr.Resource}.String()}
		g.listFull(ctx, nl)
	}
}

// listMetadata lists the objects of one namespaced type in the target
// namespace, metadata only.
func (g *gatherer) listMetadata(ctx context.Context, t resourceType) {
	res := g.c.metadata.Resource(t.GVR).Namespace(g.ns)
	opts := metav1.ListOptions{Limit: g.pageSize}
	var found []*Object
	for {
		g.requests.Add(1)
		list, err := res.List(ctx, opts)
		if err != nil {
			if !apierrors.IsNotFound(err) {
				reason := g.reason(err)
				if len(found) > 0 {
					reason = "listed in part: " + reason
				}
				g.addProblem(problem{typeName: t.Name(), reason: reason})
			}
			g.markFailed(t.GVR.GroupResource())
			break
		}
		for i := range list.Items {
			found = append(found, objectFromMetadata(t, &list.Items[i]))
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	g.addObjects(t.GVR.GroupResource(), found)
}

func (g *gatherer) addObjects(gr schema.GroupResource, objs []*Object) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.objects = append(g.objects, objs...)
	for _, o := range objs {
		if o.Ref.Namespace == g.ns {
			g.present[gr] = true
			break
		}
	}
}

func (g *gatherer) markFailed(gr schema.GroupResource) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failedTypes[gr] = true
}

// objectFromMetadata builds an Object from a metadata-only list item; the
// item itself says nothing of its type, discovery does.
func objectFromMetadata(t resourceType, m *metav1.PartialObjectMetadata) *Object {
	o := &Object{
		Ref: ObjectRef{
			ID:         -1,
			APIVersion: t.GVR.GroupVersion().String(),
			Group:      t.GVR.Group,
			Version:    t.GVR.Version,
			Kind:       t.Kind,
			Resource:   t.GVR.Resource,
			Namespace:  m.Namespace,
			Name:       m.Name,
		},
		Metadata: Metadata{
			Name:                       m.Name,
			Namespace:                  m.Namespace,
			GenerateName:               m.GenerateName,
			UID:                        string(m.UID),
			Labels:                     nonEmpty(m.Labels),
			Annotations:                withoutKey(m.Annotations, lastApplied),
			Finalizers:                 m.Finalizers,
			CreationTimestamp:          timestamp(&m.CreationTimestamp),
			DeletionTimestamp:          timestamp(m.DeletionTimestamp),
			DeletionGracePeriodSeconds: m.DeletionGracePeriodSeconds,
		},
	}
	if len(o.Metadata.Finalizers) == 0 {
		o.Metadata.Finalizers = nil
	}
	for _, r := range m.OwnerReferences {
		o.Metadata.OwnerReferences = append(o.Metadata.OwnerReferences, OwnerReference{
			APIVersion:         r.APIVersion,
			Kind:               r.Kind,
			Name:               r.Name,
			UID:                string(r.UID),
			Controller:         r.Controller != nil && *r.Controller,
			BlockOwnerDeletion: r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion,
		})
	}
	return o
}

// timestamp formats t the way the API server serialises it.
func timestamp(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// withoutKey returns m without key, copying only when key is present.
func withoutKey(m map[string]string, key string) map[string]string {
	if _, ok := m[key]; !ok {
		return nonEmpty(m)
	}
	out := make(map[string]string, len(m)-1)
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return nonEmpty(out)
}
