package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nsguard/nsguard/hack/bench/corpus"
	"github.com/nsguard/nsguard/inventory"
)

// place is an object's kind/name and position, for compact comparisons.
func place(o *inventory.Object) string {
	return fmt.Sprintf("%s:%d %s/%s", o.Position.File, o.Position.Line, o.Ref.Kind, o.Ref.Name)
}

func places(objs []*inventory.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, place(o))
	}
	return out
}

func errStrings(errs []*InputError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readDir(t *testing.T, dir string, paths ...string) *ReadResult {
	t.Helper()
	t.Chdir(dir)
	res, err := Read(context.Background(), paths, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestReadPositions(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"multi.yaml": `# leading comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---
# comments only
---

---
apiVersion: v1
kind: Service
metadata:
  name: b
...
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: c
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: d}
`,
		"list.json": `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e"}},
    {
      "apiVersion": "v1",
      "kind": "Secret",
      "metadata": {"name": "f"}
    }
  ]
}
{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "g"}}
`,
		"typed.yaml": `apiVersion: v1
kind: PodList
items:
- metadata:
    name: h
`,
		"sub/dir/x.yml":       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: i\n",
		"sub/ignored.txt":     "not: yaml: at all",
		".hidden/skip.yaml":   "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hidden\n",
		".gitlab-ci.yml":      "stages: [lint]\n",
		"crlf.yaml":           "\xef\xbb\xbfapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: j\r\n",
		"anchors.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: k\n  labels: {a: b}\ndata:\n  x: *m\n",
		"wrapped-ok-doc.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: l\n  annotations:\n    note: a long\n      wrapped value\n",
	})
	res := readDir(t, dir, ".")
	equal(t, "objects", places(res.Objects), []string{
		"anchors.yaml:1 ConfigMap/k",
		"crlf.yaml:1 ConfigMap/j",
		"list.json:5 ConfigMap/e",
		"list.json:6 Secret/f",
		"list.json:13 ServiceAccount/g",
		"multi.yaml:2 ConfigMap/a",
		"multi.yaml:11 Service/b",
		"multi.yaml:20 ConfigMap/c",
		"multi.yaml:27 Secret/d",
		"sub/dir/x.yml:1 Namespace/i",
		"typed.yaml:4 Pod/h",
		"wrapped-ok-doc.yaml:1 ConfigMap/l",
	})
	equal(t, "errors", errStrings(res.Errors), nil)
	equal(t, "files", res.Files, []string{"anchors.yaml", "crlf.yaml", "list.json", "multi.yaml", "sub/dir/x.yml", "typed.yaml", "wrapped-ok-doc.yaml"})
	for _, o := range res.Objects {
		if o.Ref.Name == "l" && o.Metadata.Annotations["note"] != "a long wrapped value" {
			t.Errorf("wrapped annotation: %q", o.Metadata.Annotations["note"])
		}
	}
}

func TestReadErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: before
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
  labels: [unclosed
---
metadata:
  name: no-type
---
kind: Secret
metadata:
  name: no-version
---
- just
- a list
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: after
`,
		"bad.json":  "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"j1\"}}\n{\"apiVersion\": \n  oops}\n",
		"good.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n",
	})
	res := readDir(t, dir, "bad.yaml", "missing.yaml", "bad.json", "good.yaml", "good.yaml")
	equal(t, "objects", places(res.Objects), []string{
		"bad.yaml:1 ConfigMap/before",
		"bad.yaml:22 ConfigMap/after",
		"bad.json:1 ConfigMap/j1",
		"good.yaml:1 ConfigMap/good",
	})
	equal(t, "errors", errStrings(res.Errors), []string{
		"bad.yaml:10: did not find expected ',' or ']'",
		"bad.yaml:12: not a Kubernetes object: apiVersion and kind are not set",
		"bad.yaml:15: Secret has no apiVersion",
		"bad.yaml:19: not a Kubernetes object: expected a mapping with apiVersion and kind",
		"missing.yaml: read: no such file or directory",
		"bad.json:3: invalid JSON: invalid character 'o' looking for beginning of value",
	})
}

func TestReadStdin(t *testing.T) {
	for _, in := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n",
		"\n {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"s\"}}",
	} {
		res, err := Read(context.Background(), []string{"-", "-"}, ReadOptions{Stdin: strings.NewReader(in)})
		if err != nil {
			t.Fatal(err)
		}
		line := 1
		if strings.HasPrefix(in, "\n") {
			line = 2
		}
		equal(t, "objects", places(res.Objects), []string{fmt.Sprintf("<stdin>:%d ConfigMap/s", line)})
		equal(t, "errors", errStrings(res.Errors), nil)
	}
}

func TestReadNumbers(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  replicas: 3\n",
		"b.json": `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}, "spec": {"replicas": 3}}`,
	})
	res := readDir(t, dir, ".")
	for _, o := range res.Objects {
		spec, _ := o.Body["spec"].(map[string]any)
		if r, ok := spec["replicas"].(int64); !ok || r != 3 {
			t.Errorf("%s: replicas = %#v, want int64(3)", place(o), spec["replicas"])
		}
	}
}

func TestReadAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "  %s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	res, err := Read(context.Background(), []string{"-"}, ReadOptions{Stdin: strings.NewReader(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "errors", errStrings(res.Errors), []string{"<stdin>:1: document contains excessive aliasing"})
}

// TestReadJSONDecodesKeptFields checks that JSON objects are decoded only
// as far as trimming reads them: apiVersion, kind and metadata, and the
// whole object for the kinds whose body rules read, with integers as int64
// and each List item on its own line.
func TestReadJSONDecodesKeptFields(t *testing.T) {
	data := []byte(`{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"n": "1"}}, "data": {"big": "x"}},
  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
   "spec": {"replicas": 2, "template": {"spec": {"serviceAccountName": "sa"}}}},
  null,
  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "m\u0065tadata": {"name": "last"}, "type": "x"},
  {"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "p"}, "spec": {"nodeName": "n"}}]},
  {"apiVersion": "v1", "kind": "List"}
]}
{"apiVersion": "v1", "kind": "ServiceList", "items": [
  {"metadata": {"name": "svc"}, "spec": {"type": "ClusterIP", "ports": [{"port": 443}]}}
]}
[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "in-array"}}, 5]
`)
	var got []map[string]any
	record := func(m map[string]any) (*inventory.Object, error) {
		got = append(got, m)
		return inventory.NewObject(m)
	}
	u := &unit{in: &input{name: "in.json", json: true}, doc: document{data: data, line: 1}}
	parseJSONUnit(u, record)
	var places []string
	for _, o := range u.objects {
		places = append(places, fmt.Sprintf("%d %s/%s", o.Position.Line, o.Ref.Kind, o.Ref.Name))
	}
	equal(t, "objects", places, []string{"2 ConfigMap/c", "3 Deployment/d", "6 Secret/last", "7 Pod/p", "11 Service/svc", "13 ConfigMap/in-array"})
	var errs []string
	for _, e := range u.errs {
		errs = append(errs, e.Error())
	}
	equal(t, "errors", errs, []string{
		"in.json:13: not a Kubernetes object: expected an object with apiVersion and kind",
	})
	want := []map[string]any{
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "labels": map[string]any{"n": "1"}}},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d"},
			"spec": map[string]any{"replicas": int64(2), "template": map[string]any{"spec": map[string]any{"serviceAccountName": "sa"}}}},
		{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "last"}},
		{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{"nodeName": "n"}},
		{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "svc"},
			"spec": map[string]any{"type": "ClusterIP", "ports": []any{map[string]any{"port": int64(443)}}}},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "in-array"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded:\n%#v\nwant:\n%#v", got, want)
	}
}

// TestReadDuplicateKeys checks that a document with a duplicate key, which
// yaml.v3, kustomize and the YAML spec refuse, is an error at the key's
// line, not an object with the last value, and that the other documents
// and files are still read.
func TestReadDuplicateKeys(t *testing.T) {
	a := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	b := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
	// cat a.yaml b.yaml | nsguard lint -: two objects in one mapping.
	res, err := Read(context.Background(), []string{"-"}, ReadOptions{Stdin: strings.NewReader(a + b)})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "objects", places(res.Objects), nil)
	equal(t, "errors", errStrings(res.Errors), []string{
		`<stdin>:5: mapping key "apiVersion" already defined at line 1: two objects in one document (is a "---" line missing?)`,
		`<stdin>:6: mapping key "kind" already defined at line 2`,
		`<stdin>:7: mapping key "metadata" already defined at line 3`,
	})

	dir := writeFiles(t, map[string]string{
		"a.yaml": a,
		"stream.yaml": "---\n" + a + "---\n" + `apiVersion: v1
kind: ConfigMap
metadata:
  name: nested
data:
  key: one
  other: x
  key: two
---
` + b,
		"list.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: item
- apiVersion: v1
  kind: Secret
  metadata:
    name: item2
    labels: {app: x, app: y}
`,
		// Keys that differ in YAML but not once they are JSON strings.
		"keys.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keys\ndata:\n  1: a\n  1.0: b\n",
	})
	res = readDir(t, dir, ".")
	equal(t, "objects", places(res.Objects), []string{
		"a.yaml:1 ConfigMap/a",
		"stream.yaml:2 ConfigMap/a",
		"stream.yaml:16 Secret/b",
	})
	equal(t, "errors", errStrings(res.Errors), []string{
		`keys.yaml:1: mapping key "1" appears twice once keys are strings`,
		`list.yaml:12: mapping key "app" already defined at line 12`,
		`stream.yaml:14: mapping key "key" already defined at line 12`,
	})
}

// TestReadJSONCompatible checks that YAML values become what the JSON
// kubectl sends decodes to, and that values JSON cannot hold are errors.
func TestReadJSONCompatible(t *testing.T) {
	in := `apiVersion: v1
kind: ConfigMap
metadata:
  name: values
  annotations: {1: one, true: yes, 1.5: x}
data:
  big: 18446744073709551615
  when: !!timestamp 2024-01-02T03:04:05Z
  plain: 2024-01-02
  n: 0x10
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: infinite
data:
  x: .inf
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: null-key
  annotations:
    ~: x
`
	res, err := Read(context.Background(), []string{"-"}, ReadOptions{Stdin: strings.NewReader(in)})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "errors", errStrings(res.Errors), []string{
		"<stdin>:12: value +Inf cannot be represented in JSON",
		"<stdin>:19: mapping key <nil> cannot be a JSON key",
	})
	if len(res.Objects) != 1 {
		t.Fatalf("objects: %v", places(res.Objects))
	}
	o := res.Objects[0]
	if want := map[string]string{"1": "one", "true": "yes", "1.5": "x"}; !reflect.DeepEqual(o.Metadata.Annotations, want) {
		t.Errorf("annotations %#v, want %#v", o.Metadata.Annotations, want)
	}
	// Timestamps stay as written unless tagged; kept fields and whole
	// objects alike (a Deployment's body is kept, a ConfigMap's is not).
	in = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: plain
  annotations: {when: 2024-01-02}
spec:
  template:
    metadata:
      labels: {date: 2024-01-02}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tagged
  annotations: {when: !!timestamp 2024-01-02}
spec:
  template:
    metadata:
      labels: {date: 2024-01-02}
`
	res, err = Read(context.Background(), []string{"-"}, ReadOptions{Stdin: strings.NewReader(in)})
	if err != nil || len(res.Errors) != 0 || len(res.Objects) != 2 {
		t.Fatalf("read %v, errors %v, %v", places(res.Objects), errStrings(res.Errors), err)
	}
	for i, want := range []string{"2024-01-02", "2024-01-02T00:00:00Z"} {
		o := res.Objects[i]
		spec, _ := o.Body["spec"].(map[string]any)
		tmpl, _ := spec["template"].(map[string]any)
		md, _ := tmpl["metadata"].(map[string]any)
		labels, _ := md["labels"].(map[string]any)
		if o.Metadata.Annotations["when"] != want || labels["date"] != "2024-01-02" {
			t.Errorf("%s: annotation %q, label %#v; want %q and the label as written", o.Ref.Name, o.Metadata.Annotations["when"], labels["date"], want)
		}
	}
}

// TestReadUnsplitMarker checks that a document marker after a line break
// the split does not cut at ("\r" alone) is an error, not a document
// silently dropped. yaml.v3 counts the "\r" as a line break: the line is
// the one after it.
func TestReadUnsplitMarker(t *testing.T) {
	in := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\r---\rapiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
	res, err := Read(context.Background(), []string{"-"}, ReadOptions{Stdin: strings.NewReader(in)})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "objects", places(res.Objects), nil)
	equal(t, "errors", errStrings(res.Errors), []string{`<stdin>:5: a document marker ("---" or "...") follows a line break other than "\n"`})
}

// TestReadPlainRealWorld reads real and generated manifests: decoding only
// the kept fields of a plain document gives what decoding all does, and
// every document of the benchmark corpus is plain (a document that is not
// costs the decoding of whole objects).
func TestReadPlainRealWorld(t *testing.T) {
	var real [][]byte
	err := filepath.WalkDir("../testdata/realworld", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		real = append(real, data)
		return err
	})
	if err != nil || len(real) == 0 {
		t.Fatalf("no real-world manifests: %v", err)
	}
	var generated [][]byte
	for i := range 60 {
		if f := corpus.File(i, corpus.Options{}); f.Format != corpus.FormatJSON {
			generated = append(generated, f.Data)
		}
	}
	for _, data := range append(real, generated...) {
		for _, d := range splitYAML(data) {
			if _, lerr := parseYAMLDocument(d); lerr != nil {
				t.Fatalf("document at line %d: %s", d.line, lerr.msg)
			}
			checkPlainAgrees(t, d)
		}
	}
	for _, data := range generated {
		for _, d := range splitYAML(data) {
			if root, _ := parseYAMLDocument(d); root != nil && !plain(root) {
				t.Errorf("document at line %d is not plain:\n%.300s", d.line, d.data)
			}
		}
	}
}

// TestReadStreamRealWorld reads real and generated manifests as one stream
// each: the result is what reading their documents one by one gives, and
// the generated ones, all plain, are read without falling back.
func TestReadStreamRealWorld(t *testing.T) {
	var files [][]byte
	err := filepath.WalkDir("../testdata/realworld", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		files = append(files, data)
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no real-world manifests: %v", err)
	}
	real := len(files)
	for i := range 60 {
		if f := corpus.File(i, corpus.Options{}); f.Format != corpus.FormatJSON {
			files = append(files, f.Data)
		}
	}
	for i, data := range files {
		if !streamable(data) {
			t.Fatalf("file %d is not streamable", i)
		}
		checkStreamUnit(t, data)
		u := &unit{in: &input{name: "in.yaml", data: data}, doc: document{data: data, line: 1}}
		if ok := parseYAMLStream(u, inventory.NewObject); !ok && i >= real {
			t.Errorf("generated file %d is not read as one stream: %v", i-real, errStrings(u.errs))
		}
	}
}
