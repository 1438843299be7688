package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nsguard/nsguard/inventory"
)

// FuzzRead feeds arbitrary bytes to the reader, as standard input (YAML, or
// JSON when it starts like JSON) and as a .json file. Invariants: no panic;
// every object has a position inside the input; every error names the
// input and a line inside it; wherever the YAML fast path answers, it
// answers exactly what go.yaml.in/yaml/v3 does; and the masked JSON decoder
// keeps exactly what a mask applied to the whole decoded value keeps.
//
// The seed corpus is in testdata/fuzz/FuzzRead; `make fuzz` runs it longer.
func FuzzRead(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"), false)
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
				if e.File != name || e.Line < 0 || e.Line > lines || e.Msg == "" {
					t.Fatalf("error %q does not name %s and a line within %d lines", e.Error(), name, lines)
				}
				if !strings.HasPrefix(e.Error(), name+":") {
					t.Fatalf("error %q does not start with the file name", e.Error())
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
		if !looksLikeJSON(data) {
			for _, d := range splitYAML(data) {
				checkAgree(t, d.data)
				if d.line < 1 || d.line > lines {
					t.Fatalf("document at line %d of %d", d.line, lines)
				}
			}
		}
	})
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
