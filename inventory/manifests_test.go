package inventory

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// manifestObjects decodes YAML documents separated by "---" as the lint
// reader would hand them over.
func manifestObjects(t *testing.T, docs string) []*Object {
	t.Helper()
	var out []*Object
	for i, doc := range strings.Split(docs, "\n---\n") {
		var u map[string]any
		if err := yaml.Unmarshal([]byte(doc), &u); err != nil {
			t.Fatalf("bad test YAML: %v\n%s", err, doc)
		}
		o, err := NewObject(u)
		if err != nil {
			t.Fatal(err)
		}
		o.Position = &Position{File: "bundle.yaml", Line: i + 1}
		out = append(out, o)
	}
	return out
}

const manifestBundle = `apiVersion: v1
kind: Namespace
metadata:
  name: widgets
  labels: {team: a}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader, namespace: ignored}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Gadget, plural: gadgets}
  conversion:
    strategy: Webhook
    webhook:
      clientConfig:
        service: {namespace: widgets, name: converter}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g1}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
---
apiVersion: v1
kind: Service
metadata: {name: converter, namespace: widgets}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  service: {namespace: monitoring, name: metrics-server}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
webhooks:
- name: a.example.com
  clientConfig:
    service: {namespace: kube-system, name: policy}
- name: b.example.com
  clientConfig:
    url: https://example.com/`

func TestFromManifests(t *testing.T) {
	s, err := FromManifests(manifestObjects(t, manifestBundle), ManifestOptions{DefaultNamespace: "widgets", Catalog: mustCatalog(t), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != SourceManifests || s.KubeVersion != LatestKubeVersion || !s.Complete {
		t.Errorf("snapshot header: %+v %+v %v", s.Source, s.KubeVersion, s.Complete)
	}
	want := map[string]string{ // kind/name → namespace
		"Namespace/widgets":                            "",
		"Deployment/operator":                          "widgets", // placed by DefaultNamespace
		"ClusterRole/reader":                           "",        // cluster-scoped: namespace dropped
		"CustomResourceDefinition/gadgets.example.com": "",
		"Gadget/g1":                                    "", // cluster-scoped by its CRD
		"Widget/w1":                                    "widgets",
		"Service/converter":                            "widgets",
		"APIService/v1beta1.metrics.k8s.io":            "",
		"ValidatingWebhookConfiguration/policy":        "",
	}
	for i, o := range s.Objects {
		ns, ok := want[o.Ref.Kind+"/"+o.Ref.Name]
		if !ok {
			t.Errorf("unexpected object %+v", o.Ref)
			continue
		}
		if o.Ref.Namespace != ns || o.Metadata.Namespace != ns || o.Ref.ID != i || o.Position == nil {
			t.Errorf("%s/%s: namespace %q (metadata %q), id %d; want %q, %d", o.Ref.Kind, o.Ref.Name, o.Ref.Namespace, o.Metadata.Namespace, o.Ref.ID, ns, i)
		}
	}
	if r := s.Objects[4].Ref; r.Resource != "gadgets" {
		t.Errorf("Gadget resource = %q, want gadgets", r.Resource)
	}

	ns := s.Namespaces["widgets"]
	if ns == nil || !ns.Declared || !ns.Deletable || ns.ObjectID != 0 || ns.Labels["team"] != "a" || ns.Labels["kubernetes.io/metadata.name"] != "widgets" {
		t.Errorf("namespace widgets = %+v", ns)
	}
	if ks := s.Namespaces["kube-system"]; ks == nil || ks.Deletable || ks.Declared || ks.ObjectID != -1 {
		t.Errorf("namespace kube-system = %+v, want known, undeclared, not deletable", ks)
	}
	if m := s.Namespaces["monitoring"]; m == nil || !m.Deletable || m.Declared {
		t.Errorf("namespace monitoring = %+v", m)
	}
	if _, ok := s.Namespaces["ignored"]; ok {
		t.Error("the namespace of a cluster-scoped object was registered")
	}

	conv := s.Services["widgets/converter"]
	if conv == nil || conv.Exists == nil || !*conv.Exists || conv.ObjectID != 6 {
		t.Errorf("service widgets/converter = %+v, want it found in the bundle", conv)
	}
	for _, key := range []string{"monitoring/metrics-server", "kube-system/policy"} {
		f := s.Services[key]
		if f == nil || f.Exists != nil || f.ObjectID != -1 {
			t.Errorf("service %s = %+v, want known with Exists unknown", key, f)
		}
	}
	if len(s.Services) != 3 {
		t.Errorf("services = %v", s.Services)
	}
}

func TestFromManifestsDefaults(t *testing.T) {
	s, err := FromManifests(manifestObjects(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}"), ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.Objects[0]; o.Ref.Namespace != "default" {
		t.Errorf("namespace = %q, want default", o.Ref.Namespace)
	}
	if d := s.Namespaces["default"]; d == nil || d.Deletable {
		t.Errorf("default = %+v", d)
	}
	if s.Finalizers != nil {
		t.Errorf("finalizers analysed without a catalog: %+v", s.Finalizers)
	}
	if _, err := FromManifests(nil, ManifestOptions{DefaultNamespace: "Bad_Name"}); err == nil {
		t.Error("invalid namespace accepted")
	}
}

func TestParseKubeVersion(t *testing.T) {
	for in, want := range map[string]KubeVersion{
		"1.33":        {1, 33, "v1.33"},
		"v1.33.2":     {1, 33, "v1.33.2"},
		"1.34.0-rc.1": {1, 34, "v1.34.0-rc.1"},
		" v1.37 ":     {1, 37, "v1.37"},
	} {
		got, err := ParseKubeVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseKubeVersion(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "one.two", "2.0", "1.33.2.1", "1.-1", "v1.033"} {
		if _, err := ParseKubeVersion(in); err == nil {
			t.Errorf("ParseKubeVersion(%q) succeeded", in)
		}
	}
}
