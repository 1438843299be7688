package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// The cluster source is tested end to end against a real control plane
// (test/e2e/diagnose_*_test.go); these tests cover its pure logic.

func TestNamespacedListable(t *testing.T) {
	lists := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"get", "list", "delete"}},
			{Name: "pods/status", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"get", "patch"}},
			{Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: metav1.Verbs{"create"}},
			{Name: "nodes", Kind: "Node", Namespaced: false, Verbs: metav1.Verbs{"list"}},
			{Name: "events", Kind: "Event", Namespaced: true, Verbs: metav1.Verbs{"list"}},
		}},
		{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "events", Kind: "Event", Namespaced: true, Verbs: metav1.Verbs{"list"}},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: metav1.Verbs{"list"}},
		}},
		{GroupVersion: "example.com/v2", APIResources: []metav1.APIResource{
			{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: metav1.Verbs{"get", "list"}},
		}},
		nil,
	}
	var got []string
	for _, rt := range namespacedListable(lists) {
		got = append(got, rt.Name()+"@"+rt.GVR.Version+"="+rt.Kind)
	}
	want := []string{"deployments.apps@v1=Deployment", "events@v1=Event", "pods@v1=Pod", "widgets.example.com@v2=Widget"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("namespacedListable = %q, want %q", got, want)
	}
}

func TestSplitDiscoveryError(t *testing.T) {
	failed, err := splitDiscoveryError(&discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{
		{Group: "metrics.k8s.io", Version: "v1beta1"}: errors.New("stale GroupVersion discovery: metrics.k8s.io/v1beta1"),
		{Group: "a.example.com", Version: "v1"}:       errors.New("the server is currently unable to handle the request"),
	}})
	if err != nil {
		t.Fatalf("a partial failure is not an error: %v", err)
	}
	if len(failed) != 2 || failed[0].GroupVersion != "a.example.com/v1" || failed[1].GroupVersion != "metrics.k8s.io/v1beta1" ||
		!strings.Contains(failed[1].Error, "stale") {
		t.Errorf("failed group-versions = %+v", failed)
	}
	if _, err := splitDiscoveryError(errors.New("connection refused")); err == nil {
		t.Error("a total failure must stay an error")
	}
	if f, err := splitDiscoveryError(nil); f != nil || err != nil {
		t.Errorf("nil error: %v %v", f, err)
	}
}

func TestSummarizeProblems(t *testing.T) {
	var problems []problem
	for _, n := range []string{"pods", "secrets", "configmaps", "a.x", "b.x", "c.x", "d.x", "e.x", "f.x", "g.x", "h.x"} {
		problems = append(problems, problem{typeName: n, reason: "context deadline exceeded"})
	}
	problems = append(problems,
		problem{typeName: "widgets.example.com", reason: "forbidden"},
		problem{what: "Leases cluster-wide", reason: "forbidden", impact: "controller liveness from leader-election Leases is unknown"},
	)
	got := summarizeProblems(problems, []FailedGroupVersion{{GroupVersion: "metrics.k8s.io/v1beta1"}})
	want := []string{
		"objects of 11 resource types not listed: context deadline exceeded (a.x, b.x, c.x, configmaps, d.x, e.x, f.x, g.x, h.x, pods and 1 more)",
		"objects of 1 resource type not listed: forbidden (widgets.example.com)",
		"objects of the resource types of 1 group-version that discovery could not read were not listed (metrics.k8s.io/v1beta1)",
		"Leases cluster-wide not checked: forbidden (controller liveness from leader-election Leases is unknown)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarizeProblems =\n%q\nwant\n%q", got, want)
	}
	if got := summarizeProblems(nil, nil); len(got) != 0 {
		t.Errorf("no problems: %q", got)
	}
}

func TestObjectFromMetadata(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)))
	deleted := metav1.NewTime(created.Add(time.Hour))
	grace := int64(0)
	yes := true
	m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "w1", Namespace: "shop", UID: "u-1",
		Labels:                     map[string]string{"app": "shop"},
		Annotations:                map[string]string{lastApplied: "{…}", "note": "kept"},
		Finalizers:                 []string{"example.com/cleanup"},
		CreationTimestamp:          created,
		DeletionTimestamp:          &deleted,
		DeletionGracePeriodSeconds: &grace,
		OwnerReferences:            []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "u-0", Controller: &yes}},
	}}
	rt := resourceType{GVR: schema.GroupVersionResource{Group: "example.com", Version: "v2", Resource: "widgets"}, Kind: "Widget"}
	o := objectFromMetadata(rt, m)
	wantRef := ObjectRef{ID: -1, APIVersion: "example.com/v2", Group: "example.com", Version: "v2", Kind: "Widget", Resource: "widgets", Namespace: "shop", Name: "w1"}
	if o.Ref != wantRef {
		t.Errorf("ref = %+v, want %+v", o.Ref, wantRef)
	}
	md := o.Metadata
	if md.CreationTimestamp != "2026-01-02T02:04:05Z" || md.DeletionTimestamp != "2026-01-02T03:04:05Z" {
		t.Errorf("timestamps %q %q, want RFC 3339 in UTC as the API server writes them", md.CreationTimestamp, md.DeletionTimestamp)
	}
	if _, ok := md.Annotations[lastApplied]; ok || md.Annotations["note"] != "kept" {
		t.Errorf("annotations = %v: last-applied must go, others stay", md.Annotations)
	}
	if _, ok := m.Annotations[lastApplied]; !ok {
		t.Error("the list item itself must not be modified")
	}
	if len(md.OwnerReferences) != 1 || !md.OwnerReferences[0].Controller || md.OwnerReferences[0].BlockOwnerDeletion {
		t.Errorf("owner references = %+v", md.OwnerReferences)
	}
	if md.UID != "u-1" || *md.DeletionGracePeriodSeconds != 0 || md.Finalizers[0] != "example.com/cleanup" {
		t.Errorf("metadata = %+v", md)
	}

	// What NewObject makes of the same object in JSON form must match, so
	// that rules see one shape whichever way an object was read.
	u := map[string]any{"apiVersion": "example.com/v2", "kind": "Widget", "metadata": map[string]any{
		"name": "w1", "namespace": "shop", "uid": "u-1", "labels": map[string]any{"app": "shop"},
		"annotations":       map[string]any{lastApplied: "{…}", "note": "kept"},
		"finalizers":        []any{"example.com/cleanup"},
		"creationTimestamp": "2026-01-02T02:04:05Z", "deletionTimestamp": "2026-01-02T03:04:05Z",
		"deletionGracePeriodSeconds": int64(0),
		"ownerReferences":            []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-0", "controller": true}},
	}}
	fromJSON, err := NewObject(u)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON.Metadata, o.Metadata) {
		t.Errorf("metadata differs between the metadata client and NewObject:\n%+v\n%+v", o.Metadata, fromJSON.Metadata)
	}
}

func TestReadyEndpoints(t *testing.T) {
	yes, no := true, false
	slices := []discoveryv1.EndpointSlice{
		{Endpoints: []discoveryv1.Endpoint{{Conditions: discoveryv1.EndpointConditions{Ready: &yes}}, {Conditions: discoveryv1.EndpointConditions{Ready: &no}}}},
		{Endpoints: []discoveryv1.Endpoint{{}}}, // ready unset means ready
	}
	if got := readyEndpoints(slices); got != 2 {
		t.Errorf("readyEndpoints = %d, want 2", got)
	}
	if got := readyEndpoints(nil); got != 0 {
		t.Errorf("readyEndpoints(nil) = %d", got)
	}
}

func TestServiceRefs(t *testing.T) {
	webhooks := map[string]any{"webhooks": []any{
		map[string]any{"clientConfig": map[string]any{"service": map[string]any{"namespace": "a", "name": "hook"}}},
		map[string]any{"clientConfig": map[string]any{"url": "https://example.com"}},
	}}
	if got := dependedServices("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", webhooks); !reflect.DeepEqual(got, []serviceRef{{namespace: "a", name: "hook"}}) {
		t.Errorf("webhookServices = %+v", got)
	}
	local := map[string]any{"spec": map[string]any{"group": "apps", "version": "v1"}}
	if got := dependedServices("apiregistration.k8s.io", "APIService", local); len(got) != 0 {
		t.Errorf("a local APIService has no Service: %+v", got)
	}
	remote := map[string]any{"spec": map[string]any{"service": map[string]any{"namespace": "kube-system", "name": "metrics-server"}}}
	if got := dependedServices("apiregistration.k8s.io", "APIService", remote); !reflect.DeepEqual(got, []serviceRef{{namespace: "kube-system", name: "metrics-server"}}) {
		t.Errorf("apiServiceServices = %+v", got)
	}
}

func TestReadBurstConfig(t *testing.T) {
	in := &rest.Config{Host: "https://example.com", QPS: 5, Burst: 10}
	out := readBurstConfig(in)
	if out.QPS >= 0 || out.RateLimiter != nil {
		t.Errorf("the client-side rate limiter must be off: QPS %v", out.QPS)
	}
	if in.QPS != 5 || in.Burst != 10 || in.WarningHandler != nil {
		t.Errorf("the caller's configuration was modified: %+v", in)
	}
	if !strings.HasPrefix(out.UserAgent, "nsguard") {
		t.Errorf("user agent %q", out.UserAgent)
	}
}

func TestClusterListsCoverTheirNamespace(t *testing.T) {
	for _, ns := range []string{"shop", nodeLeases} {
		for _, l := range clusterLists(ns) {
			if l.gvr.Resource == "leases" {
				excluded := strings.Contains(l.fieldSelector, nodeLeases)
				if excluded == (ns == nodeLeases) {
					t.Errorf("namespace %s: lease field selector %q", ns, l.fieldSelector)
				}
			}
			if l.namespace != "" {
				t.Errorf("%s: cluster lists are cluster-wide", l.what)
			}
		}
	}
}

// TestCRDMap: a CRD read typed (protobuf) and reduced by crdMap trims to the
// same object as the whole CRD decoded from JSON.
func TestCRDMap(t *testing.T) {
	crd := &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "things.example.com", UID: "u-1", Labels: map[string]string{"app": "things"},
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
			ManagedFields:     []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Singular: "thing", Kind: "Thing", ListKind: "ThingList"},
			Conversion: &apiextensionsv1.CustomResourceConversion{
				Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{
					ConversionReviewVersions: []string{"v1"},
					ClientConfig: &apiextensionsv1.WebhookClientConfig{
						CABundle: []byte("certificate"),
						Service:  &apiextensionsv1.ServiceReference{Namespace: "things-system", Name: "webhook", Path: ptr("/convert")},
					},
				},
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: &apiextensionsv1.CustomResourceValidation{
					OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Description: "most of the bytes"},
				}},
				{Name: "v2", Served: true},
			},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{
			StoredVersions: []string{"v1"},
			AcceptedNames:  apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Kind: "Thing"},
			Conditions: []apiextensionsv1.CustomResourceDefinitionCondition{
				{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue, Reason: "InitialNamesAccepted"},
			},
		},
	}
	reduced, err := crdMap(crd)
	if err != nil {
		t.Fatal(err)
	}
	fromTyped, err := NewObject(reduced)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	var whole map[string]any
	if err := json.Unmarshal(raw, &whole); err != nil {
		t.Fatal(err)
	}
	fromJSON, err := NewObject(whole)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(map[string]any{"ref": fromTyped.Ref, "metadata": fromTyped.Metadata, "body": fromTyped.Body})
	b, _ := json.Marshal(map[string]any{"ref": fromJSON.Ref, "metadata": fromJSON.Metadata, "body": fromJSON.Body})
	if string(a) != string(b) {
		t.Errorf("typed and JSON CRDs trim differently:\n%s\n%s", a, b)
	}
	if strings.Contains(string(a), "most of the bytes") || strings.Contains(string(a), "kubectl") {
		t.Errorf("schemas and managed fields must be dropped: %s", a)
	}
}

func TestCRDCacheRoundTrip(t *testing.T) {
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{
			Name: "things.example.com", UID: "u-1", ResourceVersion: "42", Generation: 3,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
			Finalizers:        []string{"customresourcecleanup.apiextensions.k8s.io"},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Kind: "Thing"},
			Conversion: &apiextensionsv1.CustomResourceConversion{
				Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{ClientConfig: &apiextensionsv1.WebhookClientConfig{
					CABundle: []byte("certificate"),
					Service:  &apiextensionsv1.ServiceReference{Namespace: "things-system", Name: "webhook", Port: ptr[int32](443)},
				}},
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true}},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{StoredVersions: []string{"v1"}},
	}
	e, err := crdEntry(crd)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := newCRDCache(dir, "https://a.example.com:6443")
	if got := c.load("https://a.example.com:6443"); got != nil {
		t.Fatalf("empty cache loaded %v", got)
	}
	if err := c.store("https://a.example.com:6443", []crdCacheEntry{e}); err != nil {
		t.Fatal(err)
	}
	if got := newCRDCache(dir, "https://b.example.com:6443").load("https://b.example.com:6443"); got != nil {
		t.Errorf("another cluster's cache was loaded: %v", got)
	}
	got := c.load("https://a.example.com:6443")
	if len(got) != 1 || got["u-1"].ResourceVersion != "42" {
		t.Fatalf("loaded %v", got)
	}
	// What a cached CRD turns into must be what a freshly read one does,
	// numbers included.
	want, err := NewObject(e.Object)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := NewObject(got["u-1"].Object)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, cached) {
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(cached)
		t.Errorf("cached CRD differs:\n%s\n%s", a, b)
	}
	if strings.Contains(fmt.Sprint(got["u-1"].Object), "certificate") {
		t.Error("the CA bundle must not be cached")
	}
	if a, b := mergeCRDs([]crdCacheEntry{e}, []crdCacheEntry{e, {UID: "u-2"}}), 2; len(a) != b {
		t.Errorf("mergeCRDs kept %d entries, want %d", len(a), b)
	}
}
