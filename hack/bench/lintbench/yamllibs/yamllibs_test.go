// Package yamllibs compares the YAML libraries nsguard lint could read
// manifests with, on the documents of the benchmark corpus, side by side in
// one run:
//
//	cd hack/bench/lintbench/yamllibs && go test -run '^$' -bench . -benchtime 5x -cpu 1
//
// It is a module of its own so that the libraries lint does not use stay out
// of nsguard's go.mod.
package yamllibs

import (
	"bytes"
	"strings"
	"testing"

	goccy "github.com/goccy/go-yaml"
	goccyast "github.com/goccy/go-yaml/ast"
	goccyparser "github.com/goccy/go-yaml/parser"
	yamlv3 "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/nsguard/nsguard/hack/bench/corpus"
)

// object is what lint needs of each object: its value and its line (the
// line of the object's first key, each item of a List on its own line).
type object struct {
	line  int
	value any
}

// reader reads one YAML document the way lint must: every value, the line
// of each object, and an error for a duplicate key anywhere in it.
type reader struct {
	name string
	// positions says whether the library gives object lines; without them
	// the figure is only a bound.
	positions bool
	read      func(doc []byte) ([]object, error)
}

var readers = []reader{
	{"yaml.v3/node+decode", true, readYAMLv3},
	{"goccy/parse+decode", true, readGoccy},
	{"sigs.k8s.io/yaml/strict", false, readSigs},
	// The libraries' one-call decoding into a value, without positions.
	{"yaml.v3/unmarshal", false, func(doc []byte) ([]object, error) {
		var v any
		err := yamlv3.Unmarshal(doc, &v)
		return []object{{value: v}}, err
	}},
	{"goccy/unmarshal", false, func(doc []byte) ([]object, error) {
		var v any
		err := goccy.Unmarshal(doc, &v)
		return []object{{value: v}}, err
	}},
}

// readYAMLv3 parses into yaml.Node (lines) and decodes the root with the
// library, which refuses duplicate keys.
func readYAMLv3(doc []byte) ([]object, error) {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	n := root.Content[0]
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	var items []*yamlv3.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "items" && n.Content[i+1].Kind == yamlv3.SequenceNode {
			items = n.Content[i+1].Content
		}
	}
	return objects(v, n.Line, len(items), func(i int) int { return items[i].Line }), nil
}

// readGoccy parses into goccy's AST (lines) and decodes the root with the
// library, which refuses duplicate keys.
func readGoccy(doc []byte) ([]object, error) {
	f, err := goccyparser.ParseBytes(doc, 0)
	if err != nil {
		return nil, err
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, nil
	}
	body := f.Docs[0].Body
	var v any
	if err := goccy.NodeToValue(body, &v); err != nil {
		return nil, err
	}
	var items []goccyast.Node
	if m, ok := body.(*goccyast.MappingNode); ok {
		for _, kv := range m.Values {
			if kv.Key.String() == "items" {
				if s, ok := kv.Value.(*goccyast.SequenceNode); ok {
					items = s.Values
				}
			}
		}
	}
	return objects(v, body.GetToken().Position.Line, len(items), func(i int) int { return items[i].GetToken().Position.Line }), nil
}

// readSigs is kubectl's YAML-to-JSON conversion in its strict form (the
// lenient one keeps the last of duplicate keys), then encoding/json. It
// gives no lines.
func readSigs(doc []byte) ([]object, error) {
	var v any
	if err := sigsyaml.UnmarshalStrict(doc, &v); err != nil {
		return nil, err
	}
	return objects(v, 0, 0, nil), nil
}

func objects(v any, line, items int, itemLine func(int) int) []object {
	m, _ := v.(map[string]any)
	list, _ := m["items"].([]any)
	if kind, _ := m["kind"].(string); !strings.HasSuffix(kind, "List") || list == nil {
		return []object{{line: line, value: v}}
	}
	out := make([]object, len(list))
	for i, it := range list {
		out[i].value = it
		if i < items {
			out[i].line = itemLine(i)
		}
	}
	return out
}

// corpusDocs returns the YAML documents of the benchmark corpus (the JSON
// files left out) and the number of objects in them. The generator
// separates documents with "---" lines only.
func corpusDocs(tb testing.TB) ([][]byte, int) {
	tb.Helper()
	var docs [][]byte
	objects := 0
	for i := range 500 {
		f := corpus.File(i, corpus.Options{})
		if f.Format == corpus.FormatJSON {
			continue
		}
		objects += len(f.Objects)
		for d := range bytes.SplitSeq(f.Data, []byte("\n---\n")) {
			docs = append(docs, d)
		}
	}
	return docs, objects
}

func BenchmarkRead(b *testing.B) {
	docs, objects := corpusDocs(b)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	for _, r := range readers {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, d := range docs {
					objs, err := r.read(d)
					if err != nil {
						b.Fatal(err)
					}
					n += len(objs)
				}
				if n < len(docs) {
					b.Fatalf("read %d objects from %d documents", n, len(docs))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(objects), "ns/object")
		})
	}
}

// TestReaders checks what the benchmark relies on: every reader reads the
// corpus and refuses a duplicate key, and those with positions give the
// lines lint reports.
func TestReaders(t *testing.T) {
	docs, objects := corpusDocs(t)
	merged := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
	nested := []byte("apiVersion: v1\nkind: ConfigMap\ndata:\n  k: 1\n  k: 2\n")
	list := []byte("# a comment\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n\n- apiVersion: v1\n  kind: Secret\n")
	for _, r := range readers {
		n := 0
		for _, d := range docs {
			objs, err := r.read(d)
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			n += len(objs)
		}
		if r.positions && n != objects {
			t.Errorf("%s: %d objects, want %d", r.name, n, objects)
		}
		for _, d := range [][]byte{merged, nested} {
			if _, err := r.read(d); err == nil {
				t.Errorf("%s accepts a duplicate key:\n%s", r.name, d)
			} else {
				t.Logf("%s: %v", r.name, err)
			}
		}
		if !r.positions {
			continue
		}
		objs, err := r.read(list)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if len(objs) != 2 || objs[0].line != 5 || objs[1].line != 8 {
			t.Errorf("%s: List items %+v, want lines 5 and 8", r.name, objs)
		}
	}
}
