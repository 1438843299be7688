package lint

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nsguard/nsguard/inventory"
)

// FuzzRead feeds arbitrary bytes to the reader, as standard input (YAML, or
// JSON when it starts like JSON) and as a .json file. Invariants: no panic;
// every object has a position inside the input; every error names the
// input and a line inside it; and wherever the YAML fast path answers, it
// answers exactly what go.yaml.in/yaml/v3 does.
//
// The seed corpus is in testdata/fuzz/FuzzRead; `make fuzz` runs it longer.
func FuzzRead(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"), false)
	f.Add([]byte(`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}]}`), true)
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
