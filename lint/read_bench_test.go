package lint

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nsguard/nsguard/hack/bench/corpus"
	"github.com/nsguard/nsguard/inventory"
)

// cpuTime is the CPU time (user and system) the process has used: on a
// busy machine it varies less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerObject reports wall and CPU nanoseconds per object.
func reportPerObject(b *testing.B, objects int, cpuStart time.Duration) {
	n := float64(b.N) * float64(objects)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/object")
	b.ReportMetric(float64((cpuTime()-cpuStart).Nanoseconds())/n, "cpu-ns/object")
}

// benchCorpus writes the benchmark corpus (10,000 objects in 500 files)
// once per benchmark.
func benchCorpus(b *testing.B) (string, corpus.Stats) {
	b.Helper()
	dir := b.TempDir()
	st, err := corpus.Write(dir, corpus.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return dir, st
}

// BenchmarkRead measures reading, parsing and trimming the whole corpus on
// GOMAXPROCS workers; ns/object is the figure to watch.
func BenchmarkRead(b *testing.B) {
	dir, st := benchCorpus(b)
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		res, err := Read(context.Background(), []string{dir}, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Objects) != st.Objects || len(res.Errors) != 0 {
			b.Fatalf("read %d objects, %d errors; want %d, 0", len(res.Objects), len(res.Errors), st.Objects)
		}
	}
	reportPerObject(b, st.Objects, cpu)
}

// BenchmarkReadPhases splits the reading cost of the YAML files on one
// core (ns/object is over every object of the corpus, the JSON ones too).
// hack/bench/lintbench/yamllibs compares YAML libraries on the same
// documents.
func BenchmarkReadPhases(b *testing.B) {
	dir, st := benchCorpus(b)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var data [][]byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
	}
	var docs []document
	for _, d := range data {
		docs = append(docs, splitYAML(d)...)
	}
	var cpu time.Duration
	perObject := func(b *testing.B) { reportPerObject(b, st.Objects, cpu) }
	b.Run("split", func(b *testing.B) {
		cpu = cpuTime()
		for b.Loop() {
			for _, d := range data {
				splitYAML(d)
			}
		}
		perObject(b)
	})
	b.Run("yaml-node", func(b *testing.B) {
		cpu = cpuTime()
		for b.Loop() {
			for _, d := range docs {
				if _, lerr := parseYAMLDocument(d); lerr != nil {
					b.Fatal(lerr.msg)
				}
			}
		}
		perObject(b)
	})
	var roots []*yaml.Node
	var rootDocs []document
	for _, d := range docs {
		if n, _ := parseYAMLDocument(d); n != nil {
			roots = append(roots, n)
			rootDocs = append(rootDocs, d)
		}
	}
	b.Run("plain", func(b *testing.B) {
		cpu = cpuTime()
		for b.Loop() {
			for _, n := range roots {
				if !plain(n) {
					b.Fatal("a corpus document is not plain")
				}
			}
		}
		perObject(b)
	})
	b.Run("yaml-decode", func(b *testing.B) {
		cpu = cpuTime()
		for b.Loop() {
			for _, n := range roots {
				var v any
				if err := n.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		}
		perObject(b)
	})
	b.Run("yaml-decode-kept", func(b *testing.B) {
		keep := func(map[string]any) (*inventory.Object, error) { return &inventory.Object{}, nil }
		cpu = cpuTime()
		for b.Loop() {
			for i, n := range roots {
				u := &unit{in: &input{name: "bench"}, doc: rootDocs[i]}
				u.addNode(n, defaults{}, 0, keep)
			}
		}
		perObject(b)
	})
	var maps []map[string]any
	for _, n := range roots {
		var v any
		if err := n.Decode(&v); err != nil {
			b.Fatal(err)
		}
		m := v.(map[string]any)
		if items, ok := listItems(m); ok {
			for _, it := range items {
				maps = append(maps, it.(map[string]any))
			}
		} else {
			maps = append(maps, m)
		}
	}
	b.Run("json-compatible", func(b *testing.B) {
		cpu = cpuTime()
		for b.Loop() {
			for _, m := range maps {
				if err := jsonCompatible(m); err != nil {
					b.Fatal(err)
				}
			}
		}
		perObject(b)
	})
	b.Run("new-object", func(b *testing.B) {
		cpu = cpuTime()
		for b.Loop() {
			for _, m := range maps {
				if _, err := inventory.NewObject(m); err != nil {
					b.Fatal(err)
				}
			}
		}
		perObject(b)
	})
	b.Run("read-1-worker", func(b *testing.B) {
		cpu = cpuTime()
		for b.Loop() {
			if _, err := Read(context.Background(), []string{dir}, ReadOptions{Workers: 1}); err != nil {
				b.Fatal(err)
			}
		}
		perObject(b)
	})
}
