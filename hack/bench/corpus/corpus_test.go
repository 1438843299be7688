package corpus

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestFilesParse checks that every generated file reads back, with a strict
// YAML or JSON decoder, as the objects the generator says it holds.
func TestFilesParse(t *testing.T) {
	opts := Options{Files: 100}
	for i := range opts.Files {
		f := File(i, opts)
		var objs []map[string]any
		switch f.Format {
		case FormatJSON:
			var l map[string]any
			if err := json.Unmarshal(f.Data, &l); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			objs = items(t, f.Name, l)
		default:
			dec := yaml.NewDecoder(bytes.NewReader(f.Data))
			for {
				var doc map[string]any
				err := dec.Decode(&doc)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				if doc["kind"] == "List" {
					objs = append(objs, items(t, f.Name, doc)...)
				} else {
					objs = append(objs, doc)
				}
			}
		}
		if len(objs) != len(f.Objects) {
			t.Fatalf("%s: read %d objects, generator says %d", f.Name, len(objs), len(f.Objects))
		}
		for j, o := range objs {
			md, _ := o["metadata"].(map[string]any)
			want := f.Objects[j]
			if o["kind"] != want.Kind || md["name"] != want.Name || (md["finalizers"] != nil) != want.Finalizers {
				t.Fatalf("%s object %d: got %v %v, want %+v", f.Name, j, o["kind"], md["name"], want)
			}
		}
	}
}

func items(t *testing.T, name string, l map[string]any) []map[string]any {
	t.Helper()
	raw, ok := l["items"].([]any)
	if !ok {
		t.Fatalf("%s: List without items", name)
	}
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i], ok = it.(map[string]any)
		if !ok {
			t.Fatalf("%s: item %d is not an object", name, i)
		}
	}
	return out
}

// TestWriteIsDeterministic checks that the same options give the same bytes.
func TestWriteIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	opts := Options{Files: 30, Seed: 7}
	sa, err := Write(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Write(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Bytes != sb.Bytes || sa.Objects != sb.Objects {
		t.Fatalf("two runs differ: %+v vs %+v", sa, sb)
	}
	files, _ := filepath.Glob(filepath.Join(a, "app-*"))
	if len(files) != opts.Files {
		t.Fatalf("wrote %d files, want %d", len(files), opts.Files)
	}
	for _, f := range files {
		da, _ := os.ReadFile(f)
		db, _ := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if !bytes.Equal(da, db) {
			t.Fatalf("%s differs between runs", filepath.Base(f))
		}
	}
	if !strings.Contains(strings.Join(files, " "), ".json") {
		t.Fatalf("no JSON file among %d files", len(files))
	}
}
