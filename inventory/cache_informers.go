package inventory

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// fixedInformers are the informers of the cluster-wide facts. Each stores
// trimmed objects (cachedObject): managedFields, pod templates beyond their
// labels and service account, CRD schemas and the like never reach memory.
func (c *Cache) fixedInformers() map[schema.GroupResource]*informer {
	workloads := "which controllers run, and whether they are ready, is unknown"
	rbac := "which service accounts may remove finalizers is unknown"
	out := map[schema.GroupResource]*informer{}
	add := func(inf *informer) { out[inf.gvr.GroupResource()] = inf }
	add(c.typedInformer(gvr("", "v1", "namespaces"), "Namespace", "", "Namespaces", "the namespace's state is unknown", false))
	// Pods that have not finished, whatever owns them: the controllers.
	add(c.typedInformer(gvr("", "v1", "pods"), "Pod", "status.phase!=Succeeded,status.phase!=Failed", "Pods", workloads, true))
	add(c.typedInformer(gvr("apps", "v1", "deployments"), "Deployment", "", "Deployments", workloads, true))
	add(c.typedInformer(gvr("apps", "v1", "statefulsets"), "StatefulSet", "", "StatefulSets", workloads, true))
	add(c.typedInformer(gvr("apps", "v1", "daemonsets"), "DaemonSet", "", "DaemonSets", workloads, true))
	add(c.typedInformer(gvr("apps", "v1", "replicasets"), "ReplicaSet", "", "ReplicaSets", workloads, false))
	add(c.typedInformer(gvr("coordination.k8s.io", "v1", "leases"), "Lease", "metadata.namespace!="+nodeLeases, "Leases",
		"controller liveness from leader-election Leases is unknown", true))
	add(c.typedInformer(gvr("rbac.authorization.k8s.io", "v1", "roles"), "Role", "", "Roles", rbac, true))
	add(c.typedInformer(gvr("rbac.authorization.k8s.io", "v1", "rolebindings"), "RoleBinding", "", "RoleBindings", rbac, true))
	add(c.typedInformer(gvr("rbac.authorization.k8s.io", "v1", "clusterroles"), "ClusterRole", "", "ClusterRoles", rbac, true))
	add(c.typedInformer(gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings"), "ClusterRoleBinding", "", "ClusterRoleBindings", rbac, true))
	add(c.typedInformer(gvr("", "v1", "services"), "Service", "", "Services", "whether webhooks and APIServices are served is unknown", false))
	add(c.typedInformer(gvr("discovery.k8s.io", "v1", "endpointslices"), "EndpointSlice", "", "EndpointSlices",
		"whether webhooks and APIServices are served is unknown", false))
	add(c.typedInformer(gvr("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations"), "ValidatingWebhookConfiguration", "",
		"ValidatingWebhookConfigurations", "admission webhooks that may refuse deletions are unknown", false))
	add(c.typedInformer(gvr("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"), "MutatingWebhookConfiguration", "",
		"MutatingWebhookConfigurations", "admission webhooks that may refuse deletions are unknown", false))
	add(c.crdInformer())
	add(c.apiServiceInformer())
	return out
}

// typedInformer watches a built-in kind in protobuf, the API server's
// cheapest encoding, and stores it trimmed.
func (c *Cache) typedInformer(r schema.GroupVersionResource, kind, fieldSelector, what, impact string, controllerFacts bool) *informer {
	prefix := []string{"/apis", r.Group, r.Version}
	if r.Group == "" {
		prefix = []string{"/api", r.Version}
	}
	req := func(opts metav1.ListOptions) *rest.Request {
		opts.FieldSelector = fieldSelector
		return c.clients.proto.Get().AbsPath(prefix...).Resource(r.Resource).
			SpecificallyVersionedParams(&opts, scheme.ParameterCodec, r.GroupVersion())
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return req(opts).Do(ctx).Get()
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.Watch = true
			return req(opts).Watch(ctx)
		},
	}
	example, err := scheme.Scheme.New(r.GroupVersion().WithKind(kind))
	if err != nil {
		panic(fmt.Sprintf("inventory cache: %s is not a built-in kind: %v", kind, err)) // a programming error
	}
	trim := c.trimTyped(r, kind)
	return c.newInformer(r, kind, lw, example, trim, what, impact, controllerFacts)
}

func (c *Cache) newInformer(r schema.GroupVersionResource, kind string, lw cache.ListerWatcher, example runtime.Object,
	trim func(any) (*Object, error), what, impact string, controllerFacts bool) *informer {
	inf := cache.NewSharedIndexInformerWithOptions(lw, example, cache.SharedIndexInformerOptions{
		Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
	})
	_ = inf.SetTransform(func(v any) (any, error) {
		if _, ok := v.(*cachedObject); ok {
			return v, nil // idempotent: already trimmed
		}
		o, err := trim(v)
		if err != nil {
			return nil, fmt.Errorf("trim %s: %w", r.Resource, err)
		}
		return cached(o), nil
	})
	return &informer{gvr: r, kind: kind, inf: inf, what: what + " cluster-wide", impact: impact, controllerFacts: controllerFacts}
}

// trimTyped turns a typed object into a trimmed Object: the same trimming
// as a LIST read by FromCluster, so that both give the same snapshot.
func (c *Cache) trimTyped(r schema.GroupVersionResource, kind string) func(any) (*Object, error) {
	return func(v any) (*Object, error) {
		obj, ok := v.(runtime.Object)
		if !ok {
			return nil, fmt.Errorf("unexpected %T", v)
		}
		if m, err := meta.Accessor(obj); err == nil {
			m.SetManagedFields(nil)
		}
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
			return endpointSliceObject(s), nil
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		u["apiVersion"], u["kind"] = r.GroupVersion().String(), kind
		o, err := NewObject(u)
		if err != nil {
			return nil, err
		}
		o.Ref.Resource = r.Resource
		if r.Group == "" && r.Resource == "services" {
			// What a Service LIST in FromCluster also sees.
			o.Body = trimService(u)
		}
		return o, nil
	}
}

// endpointSliceObject keeps, of an EndpointSlice, its metadata and the
// count of its ready endpoints: all that tells whether a Service serves.
func endpointSliceObject(s *discoveryv1.EndpointSlice) *Object {
	u, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(&s.ObjectMeta)
	o := &Object{
		Ref: ObjectRef{ID: -1, APIVersion: "discovery.k8s.io/v1", Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice",
			Resource: "endpointslices", Namespace: s.Namespace, Name: s.Name},
		Metadata: trimMetadata(u),
		Body:     map[string]any{"readyEndpoints": int64(readyEndpoints([]discoveryv1.EndpointSlice{{Endpoints: s.Endpoints}}))},
	}
	return o
}

// crdInformer watches CRDs in protobuf and keeps them without schemas.
func (c *Cache) crdInformer() *informer {
	crds := c.clients.apiext.ApiextensionsV1().CustomResourceDefinitions()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return crds.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return crds.Watch(ctx, opts)
		},
	}
	r := gvr("apiextensions.k8s.io", "v1", "customresourcedefinitions")
	inf := c.newInformer(r, "CustomResourceDefinition", lw, &apiextensionsv1.CustomResourceDefinition{}, func(v any) (*Object, error) {
		crd, ok := v.(*apiextensionsv1.CustomResourceDefinition)
		if !ok {
			return nil, fmt.Errorf("unexpected %T", v)
		}
		u, err := crdMap(crd)
		if err != nil {
			return nil, err
		}
		o, err := NewObject(u)
		if err != nil {
			return nil, err
		}
		o.Ref.Resource = r.Resource
		return o, nil
	}, "CustomResourceDefinitions", "conversion webhooks are unknown", false)
	c.onChange(inf.inf)
	return inf
}

// apiServiceInformer watches APIServices (not in client-go's scheme) as
// unstructured objects.
func (c *Cache) apiServiceInformer() *informer {
	r := gvr("apiregistration.k8s.io", "v1", "apiservices")
	res := c.clients.dynamic.Resource(r)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, opts)
		},
	}
	inf := c.newInformer(r, "APIService", lw, &unstructured.Unstructured{}, func(v any) (*Object, error) {
		u, ok := v.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("unexpected %T", v)
		}
		o, err := NewObject(u.Object)
		if err != nil {
			return nil, err
		}
		o.Ref.Resource = r.Resource
		return o, nil
	}, "APIServices", "which aggregated APIs are unavailable is unknown", false)
	c.onChange(inf.inf)
	return inf
}

// onChange reads discovery again when the informer's objects change after
// its first sync (a CRD or an APIService came, went or changed state).
func (c *Cache) onChange(inf cache.SharedIndexInformer) {
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(_ any, initial bool) {
			if !initial {
				c.discoveryChanged()
			}
		},
		UpdateFunc: func(any, any) { c.discoveryChanged() },
		DeleteFunc: func(any) { c.discoveryChanged() },
	})
}

// metadataInformer watches the objects of one namespaced type, metadata
// only, in every namespace.
func (c *Cache) metadataInformer(t resourceType) *informer {
	res := c.clients.metadata.Resource(t.GVR)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, opts)
		},
	}
	inf := c.newInformer(t.GVR, t.Kind, lw, &metav1.PartialObjectMetadata{}, func(v any) (*Object, error) {
		m, ok := v.(*metav1.PartialObjectMetadata)
		if !ok {
			return nil, fmt.Errorf("unexpected %T", v)
		}
		return objectFromMetadata(t, m), nil
	}, t.Name(), "", false)
	inf.what = t.Name()
	return inf
}

func typesUID(s string) types.UID { return types.UID(s) }

// kubeVersionOf reads /version's fields ("1", "37+" …).
func kubeVersionOf(gitVersion, major, minor string) KubeVersion {
	kv := KubeVersion{GitVersion: gitVersion}
	kv.Major, _ = strconv.Atoi(strings.TrimRight(major, "+"))
	kv.Minor, _ = strconv.Atoi(strings.TrimRight(minor, "+"))
	return kv
}
