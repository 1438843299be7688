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

// listCRDs lists every CRD (typed, in protobuf) and keeps what addCRD
// needs.
func (g *gatherer) listCRDs(ctx context.Context, l fullList) {
	opts := metav1.ListOptions{Limit: g.pageSize}
	listed := 0
	for {
		g.requests.Add(1)
		list, err := g.c.apiext.ApiextensionsV1().CustomResourceDefinitions().List(ctx, opts)
		if err != nil {
			g.listFailed(ctx, l, err, listed > 0)
			return
		}
		for i := range list.Items {
			u, err := crdMap(&list.Items[i])
			if err != nil {
				continue
			}
			o, err := NewObject(u)
			if err != nil {
				continue
			}
			o.Ref.Resource = l.gvr.Resource
			g.addCRD(u, o)
			listed++
		}
		if list.Continue == "" {
			return
		}
		opts.Continue = list.Continue
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
		conv, err := runtime.DefaultUnstructuredConverter.ToUnstructured(c.Spec.Conversion)
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
		wh, _ := conv["webhook"].(map[string]any)
		cc, _ := wh["clientConfig"].(map[string]any)
		g.wantServices(serviceRefs(cc))
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

// apiServiceServices returns the Service behind an APIService ("" for the
// local ones, served by kube-apiserver itself).
func apiServiceServices(u map[string]any) []serviceRef {
	spec, _ := u["spec"].(map[string]any)
	return serviceRefs(map[string]any{"service": spec["service"]})
}

// webhookServices returns the Services of an admission webhook
// configuration's webhooks.
func webhookServices(u map[string]any) []serviceRef {
	hooks, _ := u["webhooks"].([]any)
	var out []serviceRef
	for _, h := range hooks {
		hm, _ := h.(map[string]any)
		cc, _ := hm["clientConfig"].(map[string]any)
		out = append(out, serviceRefs(cc)...)
	}
	return out
}

type serviceRef struct{ namespace, name string }

// serviceRefs reads clientConfig.service (or APIService spec.service).
func serviceRefs(clientConfig map[string]any) []serviceRef {
	svc, _ := clientConfig["service"].(map[string]any)
	ns, name := str(svc["namespace"]), str(svc["name"])
	if ns == "" || name == "" {
		return nil
	}
	return []serviceRef{{namespace: ns, name: name}}
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
