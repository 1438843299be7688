package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nsguard/nsguard/inventory"
)

// FuzzRead feeds arbitrary bytes to the reader, as standard input (YAML, or
// JSON when it starts like JSON) and as a .json file. Invariants: no panic;
// every object has a position inside the input; every error names the
// input and a line inside it; each YAML document gives, in order, the
// objects a reference decode of it (decodeOne) finds, each either read
// or reported, and a document the reference refuses gives errors and no
// object; decoding only the fields trimming keeps gives the objects
// decoding everything gives; a YAML stream read without errors holds the documents yaml.v3's
// own stream decoding finds; reading a YAML input as one stream
// (parseYAMLStreamUnit) gives what reading its documents one by one gives;
// and the masked JSON decoder keeps exactly what a mask applied to the
// whole decoded value keeps.
//
// The seed corpus is in testdata/fuzz/FuzzRead; `make fuzz` runs it longer.
func FuzzRead(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"), false)
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"), false)
	f.Add([]byte(`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}]}`), true)
	f.Add([]byte(`[{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"serviceAccountName": "op", "containers": [{"name": "c", "image": "i"}]}}}, "status": {"readyReplicas": 1}}, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": null, "status": {"phase": "Running", "conditions": [{"type": "Ready"}]}}]`), true)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		lines := bytes.Count(data, []byte{'\n'}) + 1
		check := func(res *ReadResult, name string) {
			for _, o := range res.Objects {
				if o.Position == nil || o.Position.File != name || o.Position.Line < 1 || o.Position.Line > lines {
					t.Fatalf("object %s/%s has position %+v; input has %d lines", o.Ref.Kind, o.Ref.Name, o.Position, lines)
				}
			}
			for _, e := range res.Errors {
				if e.File != name || e.Line < 1 || e.Line > lines || e.Msg == "" {
					t.Fatalf("error %q does not name %s and a line within %d lines", e.Error(), name, lines)
				}
				if !strings.HasPrefix(e.Error(), fmt.Sprintf("%s:%d: ", name, e.Line)) {
					t.Fatalf("error %q does not start with the file and line", e.Error())
				}
			}
		}
		if asJSON {
			u := &unit{in: &input{name: "in.json", json: true}, doc: document{data: data, line: 1}}
			parseJSONUnit(u, inventory.NewObject)
			check(&ReadResult{Objects: u.objects, Errors: u.errs}, "in.json")
			checkMaskedJSON(t, data)
			return
		}
		res, err := Read(context.Background(), []string{"-"}, ReadOptions{Stdin: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		check(res, StdinName)
		if looksLikeJSON(data) {
			return
		}
		objects := 0
		for _, d := range splitYAML(data) {
			if d.line < 1 || d.line > lines {
				t.Fatalf("document at line %d of %d", d.line, lines)
			}
			objects += checkDocument(t, d)
		}
		if objects != len(res.Objects) {
			t.Fatalf("Read found %d objects, its documents %d", len(res.Objects), objects)
		}
		checkStreamUnit(t, data)
		if len(res.Errors) == 0 {
			checkStream(t, data)
		}
	})
}

// checkDocument holds the reading of one document to decodeOne's and
// returns the number of objects read.
func checkDocument(t *testing.T, d document) int {
	t.Helper()
	u := &unit{in: &input{name: "in.yaml"}, doc: d}
	parseYAMLUnit(u, inventory.NewObject)
	first, last := d.line, d.line+bytes.Count(d.data, []byte{'\n'})
	for _, e := range u.errs {
		if e.Line < first || e.Line > last {
			t.Fatalf("error %q outside the document's lines %d-%d:\n%q", e.Error(), first, last, d.data)
		}
	}
	for _, o := range u.objects {
		if o.Position.Line < first || o.Position.Line > last {
			t.Fatalf("object %s/%s at line %d, outside the document's lines %d-%d:\n%q", o.Ref.Kind, o.Ref.Name, o.Position.Line, first, last, d.data)
		}
	}
	checkPlainAgrees(t, d)
	ref, err := decodeOne(d.data)
	if err != nil {
		if len(u.objects) != 0 || len(u.errs) == 0 {
			t.Fatalf("yaml.v3 refuses the document (%v); read %d objects and %d errors:\n%q", err, len(u.objects), len(u.errs), d.data)
		}
		return 0
	}
	want := refObjects(ref, defaults{}, 0)
	// Each object of the reference is read or reported, once, in order.
	if len(u.objects)+len(u.errs) != len(want) {
		t.Fatalf("reference finds %d objects %v; read %d objects and %d errors %v:\n%q", len(want), want, len(u.objects), len(u.errs), errStrings(u.errs), d.data)
	}
	i := 0
	for _, w := range want {
		if i < len(u.objects) && w == fmt.Sprintf("%s/%s", u.objects[i].Ref.Kind, u.objects[i].Ref.Name) {
			i++
		}
	}
	if i != len(u.objects) {
		t.Fatalf("read %v, not among the reference's objects %v:\n%q", places(u.objects), want, d.data)
	}
	return len(u.objects)
}

// checkStreamUnit holds the reading of data as one stream, where it
// succeeds, to the reading of its documents one by one, objects and
// errors, with their lines. Where it gives up, parseYAMLStreamUnit reads
// the documents one by one.
func checkStreamUnit(t *testing.T, data []byte) {
	t.Helper()
	if !streamable(data) {
		return
	}
	in := &input{name: "in.yaml", data: data}
	s := &unit{in: in, doc: document{data: data, line: 1}}
	if !parseYAMLStream(s, inventory.NewObject) {
		return
	}
	var objects []*inventory.Object
	var errs []*InputError
	for _, d := range splitYAML(data) {
		u := &unit{in: in, doc: d}
		parseYAMLUnit(u, inventory.NewObject)
		objects = append(objects, u.objects...)
		errs = append(errs, u.errs...)
	}
	same := func(a, b any, n int) bool { return n == 0 || reflect.DeepEqual(a, b) }
	if len(s.objects) != len(objects) || len(s.errs) != len(errs) || !same(s.objects, objects, len(objects)) || !same(s.errs, errs, len(errs)) {
		t.Fatalf("read as a stream and document by document differ on\n%q\nstream:    %v %v\ndocuments: %v %v",
			data, places(s.objects), errStrings(s.errs), places(objects), errStrings(errs))
	}
}

// checkPlainAgrees holds the reading of a plain document (decoding only
// what trimming keeps) to the reading of the decoder's whole value.
func checkPlainAgrees(t *testing.T, d document) {
	t.Helper()
	root, lerr := parseYAMLDocument(d)
	if lerr != nil || root == nil || !plain(root) {
		return
	}
	read := func(whole bool) *unit {
		u := &unit{in: &input{name: "in.yaml"}, doc: d, lastLine: d.line + bytes.Count(d.data, []byte{'\n'})}
		if !whole {
			u.addNode(root, defaults{}, 0, inventory.NewObject)
			return u
		}
		timestampsAsText(root)
		var v any
		if err := root.Decode(&v); err != nil {
			t.Fatalf("a plain document does not decode (%v):\n%q", err, d.data)
		}
		u.addValue(v, root, defaults{}, 0, inventory.NewObject)
		return u
	}
	kept := read(false)
	whole := read(true)
	if !reflect.DeepEqual(kept.objects, whole.objects) || !reflect.DeepEqual(kept.errs, whole.errs) {
		t.Fatalf("decoding the kept fields and decoding all differ on\n%q\nkept:  %v %v\nwhole: %v %v",
			d.data, places(kept.objects), errStrings(kept.errs), places(whole.objects), errStrings(whole.errs))
	}
}

// decodeOne decodes data with yaml.v3's stream decoder, which must find
// one document or none, and nothing it refuses after it (yaml.Unmarshal
// ignores what follows the first document).
func decodeOne(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var next any
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("a second document, or an error after the first: %v", err)
	}
	return v, nil
}

// refObjects lists kind/name of the objects in v, a document decoded by
// decodeOne, with the items of Lists as objects ("?" for what is not a
// mapping).
func refObjects(v any, def defaults, depth int) []string {
	if v == nil && depth == 0 {
		return nil
	}
	m, err := stringKeys(v)
	if m == nil || err != nil {
		return []string{"?"}
	}
	kind, _ := m["kind"].(string)
	items, isList := m["items"].([]any)
	if m["items"] == nil && kind == "List" {
		isList = true
	}
	if isListKind(kind) && isList && def.kind == "" && depth < maxListDepth {
		apiVersion, _ := m["apiVersion"].(string)
		var out []string
		for _, it := range items {
			out = append(out, refObjects(it, itemDefaults(apiVersion, kind), depth+1)...)
		}
		return out
	}
	if _, ok := m["kind"]; !ok && def.kind != "" {
		kind = def.kind
	}
	md, _ := m["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	return []string{kind + "/" + name}
}

// checkStream holds the documents of a stream the reader read without
// errors to those yaml.v3's stream decoder finds in it.
func checkStream(t *testing.T, data []byte) {
	t.Helper()
	var want []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read without errors, but yaml.v3 refuses the stream (%v):\n%q", err, data)
		}
		if v != nil {
			want = append(want, v)
		}
	}
	var got []any
	for _, d := range splitYAML(data) {
		var v any
		if err := yaml.Unmarshal(d.data, &v); err != nil {
			t.Fatalf("document at line %d: %v", d.line, err)
		}
		if v != nil {
			got = append(got, v)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("split documents differ from yaml.v3's stream:\ngot  %#v\nwant %#v\n%q", got, want, data)
	}
}

// checkMaskedJSON holds decodeMasked to decoding everything and applying
// the mask, for every body mask, when data is one valid JSON value.
func checkMaskedJSON(t *testing.T, data []byte) {
	t.Helper()
	data = bytes.TrimPrefix(data, bom)
	if !json.Valid(data) {
		return
	}
	raw := bytes.TrimSpace(data)
	for _, k := range []struct{ group, kind string }{{"apps", "Deployment"}, {"", "Pod"}} {
		mask := inventory.BodyMask(k.group, k.kind)
		if mask == nil {
			t.Fatalf("no body mask for %s", k.kind)
		}
		got, want := decodeMasked(raw, mask), mask.Apply(decodeJSON(raw))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("masked decode of a %s differs:\ngot  %#v\nwant %#v", k.kind, got, want)
		}
	}
}
