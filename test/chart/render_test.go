package chart

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/nsguard/nsguard/webhook"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveNsguard()
	os.Exit(code)
}

// valueCase is one row of the values matrix every chart test renders.
type valueCase struct {
	name  string
	files []string
}

// valueCases are the matrix: the defaults, cert-manager (with the
// monitoring extras), an existing issuer, remediation on with every
// action, everything optional off, the remediator alone, a long name, and
// custom policies with every configuration value set.
func valueCases(t testing.TB) []valueCase {
	return []valueCase{
		{"defaults", []string{"defaults.yaml"}},
		{"cert-manager", []string{"cert-manager.yaml"}},
		{"cert-manager-issuer", []string{"cert-manager-issuer.yaml"}},
		{"remediation-on", []string{"remediation-on.yaml"}},
		{"everything-off", []string{"everything-off.yaml"}},
		{"remediator-only", []string{"remediator-only.yaml"}},
		{"long-name", []string{"long-name.yaml"}},
		{"custom-policies", []string{customPoliciesValues(t)}},
	}
}

// customPoliciesValues writes a values file that carries
// examples/custom-policy's policy and data, and sets every configuration
// value, so the example and the chart are tested together.
func customPoliciesValues(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Root(t), "examples", "custom-policy")
	rego, err := os.ReadFile(filepath.Join(dir, "team_finalizers.rego"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{
		"policies": map[string]any{
			"rego": map[string]any{"team_finalizers.rego": string(rego)},
			"data": map[string]any{"acme.yaml": string(data)},
		},
		"config": map[string]any{
			"mode":       "warn",
			"rules":      map[string]any{"large-namespace": "off", "team-finalizer-owner": "warn"},
			"exclude":    map[string]any{"namespaces": []any{"sandbox"}, "selector": map[string]any{"matchLabels": map[string]any{"nsguard.io/exclude": "true"}}},
			"breakGlass": map[string]any{"groups": []any{"platform-admins"}},
			"waivers":    map[string]any{"rules": []any{"hardcoded-finalizer"}},
		},
	}
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "custom-policies.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// helm lint --strict passes on every row of the matrix.
func TestHelmLint(t *testing.T) {
	Helm(t)
	for _, c := range valueCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"lint", "--strict", ChartDir(t), "--namespace", Namespace}
			for _, f := range c.files {
				if !filepath.IsAbs(f) {
					f = filepath.Join(Root(t), "test", "chart", "testdata", "values", f)
				}
				args = append(args, "--values", f)
			}
			if out, err := RunHelm(t, args...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// What every rendering must be: nsguard's own rules find nothing in it
// (nothing that would make its namespace hang, no finalizers), names fit
// in 63 characters, every object has the standard labels, the pods are
// locked down, and the webhook configuration is the guardrail the docs
// describe.
func TestTemplate(t *testing.T) {
	Helm(t)
	nsguard := Nsguard(t)
	for _, c := range valueCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			manifest := Render(t, c.files)
			objs := Objects(t, manifest)
			if len(objs) == 0 {
				t.Fatal("nothing rendered")
			}

			// Its own medicine: helm template … | nsguard lint -n nsguard -
			cmd := exec.Command(nsguard, "lint", "-n", Namespace, "--fail-on", "warn", "-")
			cmd.Stdin = strings.NewReader(manifest)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("nsguard lint on the rendered chart: %v\n%s", err, out)
			}

			for _, o := range objs {
				id := o.GetKind() + " " + o.GetName()
				if n := len(o.GetName()); n > 63 || n == 0 {
					t.Errorf("%s: name of %d characters", id, n)
				}
				if fins := o.GetFinalizers(); len(fins) > 0 {
					t.Errorf("%s carries finalizers %v: deleting nsguard's namespace could wait on them", id, fins)
				}
				l := o.GetLabels()
				for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"} {
					if l[k] == "" {
						t.Errorf("%s lacks the label %s", id, k)
					}
				}
				if o.GetNamespace() != "" && o.GetNamespace() != Namespace {
					t.Errorf("%s is in namespace %s, outside the release's", id, o.GetNamespace())
				}
			}
			checkDeployment(t, objs)
			checkWebhookConfiguration(t, objs)
			checkConfig(t, objs)
		})
	}
}

func checkDeployment(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	d := One(t, objs, "Deployment")
	pod, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	if v, _, _ := unstructured.NestedBool(pod, "securityContext", "runAsNonRoot"); !v {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if v, _, _ := unstructured.NestedString(pod, "securityContext", "seccompProfile", "type"); v != "RuntimeDefault" {
		t.Errorf("pod seccompProfile %q, want RuntimeDefault", v)
	}
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	c := containers[0].(map[string]any)
	sc, _, _ := unstructured.NestedMap(c, "securityContext")
	if sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false || sc["runAsNonRoot"] != true {
		t.Errorf("container securityContext %v: want readOnlyRootFilesystem, no privilege escalation, non-root", sc)
	}
	if drop, _, _ := unstructured.NestedStringSlice(sc, "capabilities", "drop"); !slices.Equal(drop, []string{"ALL"}) {
		t.Errorf("capabilities.drop %v, want [ALL]", drop)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if p, _, _ := unstructured.NestedString(c, probe, "httpGet", "path"); p != path {
			t.Errorf("%s path %q, want %s", probe, p, path)
		}
		if p, _, _ := unstructured.NestedFieldNoCopy(c, probe, "httpGet", "port"); p != "probes" {
			t.Errorf("%s port %v, want the probes port", probe, p)
		}
	}
	env := map[string]string{}
	list, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range list {
		m := e.(map[string]any)
		ref, _, _ := unstructured.NestedString(m, "valueFrom", "fieldRef", "fieldPath")
		env[m["name"].(string)] = ref
	}
	if env["POD_NAMESPACE"] != "metadata.namespace" || env["SERVICE_ACCOUNT"] != "spec.serviceAccountName" {
		t.Errorf("env %v: want POD_NAMESPACE and SERVICE_ACCOUNT from the downward API", env)
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	if len(args) == 0 || args[0] != "serve" {
		t.Errorf("args %v: want nsguard serve", args)
	}
	if _, ok := pod["priorityClassName"]; ok {
		t.Error("priorityClassName is set, though the values leave it empty")
	}
}

func checkWebhookConfiguration(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	vwcs := Find(objs, "ValidatingWebhookConfiguration")
	if len(vwcs) == 0 {
		return // the remediator alone
	}
	if len(vwcs) != 1 {
		t.Fatalf("%d ValidatingWebhookConfigurations", len(vwcs))
	}
	hooks, _, _ := unstructured.NestedSlice(vwcs[0].Object, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks, want 1", len(hooks))
	}
	h := hooks[0].(map[string]any)
	b, _ := json.Marshal(h["rules"])
	if string(b) != `[{"apiGroups":[""],"apiVersions":["v1"],"operations":["DELETE"],"resources":["namespaces"],"scope":"Cluster"}]` {
		t.Errorf("rules %s: want namespace DELETE only", b)
	}
	if h["sideEffects"] != "None" {
		t.Errorf("sideEffects %v, want None (kubectl delete --dry-run=server must be allowed to call it)", h["sideEffects"])
	}
	if v, _, _ := unstructured.NestedStringSlice(h, "admissionReviewVersions"); !slices.Equal(v, []string{"v1"}) {
		t.Errorf("admissionReviewVersions %v, want [v1]", v)
	}
	if h["failurePolicy"] != "Ignore" {
		t.Errorf("failurePolicy %v, want Ignore by default", h["failurePolicy"])
	}
	if s, _, _ := unstructured.NestedString(h, "clientConfig", "service", "namespace"); s != Namespace {
		t.Errorf("clientConfig.service.namespace %q", s)
	}
	exprs, _, _ := unstructured.NestedSlice(h, "namespaceSelector", "matchExpressions")
	if len(exprs) != 1 {
		t.Fatalf("namespaceSelector %v", exprs)
	}
	e := exprs[0].(map[string]any)
	values, _, _ := unstructured.NestedStringSlice(e, "values")
	if e["key"] != "kubernetes.io/metadata.name" || e["operator"] != "NotIn" {
		t.Errorf("namespaceSelector %v: want kubernetes.io/metadata.name NotIn", e)
	}
	for _, ns := range []string{Namespace, "kube-system", "kube-public", "kube-node-lease", "default"} {
		if !slices.Contains(values, ns) {
			t.Errorf("namespaceSelector does not leave out %s: %v", ns, values)
		}
	}
}

// checkConfig parses the rendered configuration as nsguard serve does.
func checkConfig(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, cm := range Find(objs, "ConfigMap") {
		raw, ok, _ := unstructured.NestedString(cm.Object, "data", "config.yaml")
		if !ok {
			continue
		}
		c, err := webhook.ParseConfig([]byte(raw))
		if err != nil {
			t.Fatalf("the rendered config.yaml does not load: %v\n%s", err, raw)
		}
		if !slices.Contains(c.Exclude.Namespaces, Namespace) || !slices.Contains(c.Exclude.Namespaces, "kube-system") {
			t.Errorf("config excludes %v: want the release's namespace and the system ones", c.Exclude.Namespaces)
		}
		return
	}
	t.Error("no ConfigMap with config.yaml rendered")
}

// Values that the schema must refuse: unknown keys at every level, wrong
// types, values nsguard serve would refuse at start.
func TestSchemaRefuses(t *testing.T) {
	Helm(t)
	for _, set := range []string{
		"unknownKey=1",
		"image.unknown=1",
		"config.mode=block",
		"config.rules.large-namespace=ignore",
		"config.breakGlass.groups={system:authenticated}",
		"webhook.failurePolicy=Deny",
		"webhook.timeoutSeconds=31",
		"webhook.decisionBudget=3",
		"remediation.mode=yes",
		"remediation.actions={delete-all}",
		"certificates.mode=vault",
		"components.webhook=false,components.remediator=false",
		"replicaCount=0",
		"policies.rego.evil/../x\\.rego=package x",
		"resources.requests.gpu=1",
	} {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			out, err := RunHelm(t, "template", ReleaseName, ChartDir(t), "--namespace", Namespace, "--set", set)
			if err == nil {
				t.Errorf("helm template --set %s rendered; want the schema to refuse it\n%.300s", set, out)
			}
		})
	}
}

// values.yaml documents every value, and values.schema.json types every
// one of them and refuses unknown keys in every object it describes.
func TestValuesDocumentedAndTyped(t *testing.T) {
	dir := ChartDir(t)
	src, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Every key line follows a comment line. A section's keys carry their
	// own comments, unless the section is a value documented as a whole
	// ("# -- …" above it, like resources).
	lines := strings.Split(string(src), "\n")
	documentedBlock := -1 // indentation of a section documented as a whole
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "- ") || !strings.Contains(trimmed, ":") {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if documentedBlock >= 0 && indent > documentedBlock {
			continue
		}
		documentedBlock = -1
		commented := i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#")
		if strings.HasSuffix(trimmed, ":") {
			if commented && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "# ") && valueComment(lines, i) {
				documentedBlock = indent
			}
			continue
		}
		if !commented {
			t.Errorf("values.yaml:%d: %q has no comment above it", i+1, trimmed)
		}
	}

	var values map[string]any
	if err := yaml.Unmarshal(src, &values); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	// Kubernetes types taken as they are (affinity, tolerations) are the
	// only objects without a closed list of properties.
	freeForm := map[string]bool{"affinity": true, "tolerations[]": true}

	var walkSchema func(path string, s map[string]any)
	walkSchema = func(path string, s map[string]any) {
		if s["type"] == nil && s["const"] == nil {
			t.Errorf("schema %s has no type", path)
		}
		if s["type"] == "object" {
			props, hasProps := s["properties"].(map[string]any)
			ap, hasAP := s["additionalProperties"]
			switch {
			case hasProps && ap != false:
				t.Errorf("schema %s: additionalProperties must be false", path)
			case !hasProps && !hasAP && !freeForm[path]:
				t.Errorf("schema %s: an object with neither properties nor typed additionalProperties", path)
			}
			for k, v := range props {
				walkSchema(strings.TrimPrefix(path+"."+k, "."), v.(map[string]any))
			}
			if m, ok := ap.(map[string]any); ok {
				walkSchema(path+".*", m)
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walkSchema(path+"[]", items)
		}
	}
	walkSchema("", schema)

	// Every value in values.yaml has a schema entry.
	var walkValues func(path string, v any, s map[string]any)
	walkValues = func(path string, v any, s map[string]any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		props, _ := s["properties"].(map[string]any)
		for k, sub := range m {
			p := strings.TrimPrefix(path+"."+k, ".")
			ps, ok := props[k].(map[string]any)
			if !ok {
				if _, typed := s["additionalProperties"].(map[string]any); !typed {
					t.Errorf("values.yaml %s has no entry in values.schema.json", p)
				}
				continue
			}
			walkValues(p, sub, ps)
		}
	}
	walkValues("", values, schema)
}

// valueComment reports whether the comment above line i documents a value
// ("# -- …", possibly over several lines).
func valueComment(lines []string, i int) bool {
	for j := i - 1; j >= 0 && strings.HasPrefix(strings.TrimSpace(lines[j]), "#"); j-- {
		if strings.HasPrefix(strings.TrimSpace(lines[j]), "# --") {
			return true
		}
	}
	return false
}

// The chart's README and values.yaml say why one Deployment runs both
// components, and why failurePolicy is Ignore.
func TestChartExplainsItsChoices(t *testing.T) {
	dir := ChartDir(t)
	for _, f := range []string{"values.yaml", "README.md"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Join(strings.Fields(string(b)), " ")
		for _, want := range []string{"one informer cache", "never be what stops", "Secrets"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s does not say %q", f, want)
			}
		}
	}
}

// NOTES.txt says what was installed and how to try it, for every row of
// the matrix, with no value missing.
func TestNotes(t *testing.T) {
	Helm(t)
	for _, c := range valueCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"install", ReleaseName, ChartDir(t), "--namespace", Namespace, "--dry-run=client"}
			for _, f := range c.files {
				if !filepath.IsAbs(f) {
					f = filepath.Join(Root(t), "test", "chart", "testdata", "values", f)
				}
				args = append(args, "--values", f)
			}
			out, err := RunHelm(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			_, notes, ok := strings.Cut(out, "NOTES:\n")
			if !ok {
				t.Fatalf("no NOTES in helm install --dry-run:\n%s", out)
			}
			if strings.Contains(notes, "<no value>") || strings.Contains(notes, "%!") {
				t.Errorf("NOTES with a missing value:\n%s", notes)
			}
			want := []string{"kubectl -n " + Namespace + " rollout status deployment/"}
			if !strings.Contains(c.name, "remediator-only") {
				want = append(want, "kubectl delete namespace nsguard-try --dry-run=server", "failurePolicy Ignore")
			}
			for _, w := range want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
		})
	}
}
