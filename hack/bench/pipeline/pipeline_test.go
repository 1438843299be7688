// Package pipeline holds in-process benchmarks of the lint pipeline, phase
// by phase, on the make bench-lint corpus, so that a CPU profile can be
// taken of each phase:
//
//	go test ./hack/bench/pipeline -run '^$' -bench . -benchtime 5x -cpuprofile bin/bench/cpu.out
//	go tool pprof -top bin/bench/cpu.out
//
// The phases are those of `nsguard lint`: start-up (compiling the built-in
// policies), reading (file I/O, YAML/JSON parsing, trimming), building the
// snapshot (inventory.FromManifests: placing, Snapshot.Add, Analyze), converting it to the Rego input, and
// evaluating the rules. BenchmarkLint runs them all, as the command does.
package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nsguard/nsguard/hack/bench/corpus"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/lint"
	"github.com/nsguard/nsguard/policies"
)

var (
	corpusOnce  sync.Once
	corpusDir   string
	corpusStats corpus.Stats
	corpusErr   error
)

// benchCorpus generates the corpus once per test binary.
func benchCorpus(b *testing.B) (string, corpus.Stats) {
	b.Helper()
	corpusOnce.Do(func() {
		corpusDir, corpusErr = os.MkdirTemp("", "nsguard-bench-corpus-")
		if corpusErr == nil {
			corpusStats, corpusErr = corpus.Write(filepath.Join(corpusDir, "corpus"), corpus.Options{})
		}
	})
	if corpusErr != nil {
		b.Fatal(corpusErr)
	}
	return filepath.Join(corpusDir, "corpus"), corpusStats
}

func TestMain(m *testing.M) {
	code := m.Run()
	if corpusDir != "" {
		os.RemoveAll(corpusDir)
	}
	os.Exit(code)
}

func newEngine(b *testing.B) *policies.Engine {
	b.Helper()
	e, err := policies.New(context.Background(), policies.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func read(b *testing.B, dir string, st corpus.Stats) *lint.ReadResult {
	b.Helper()
	res, err := lint.Read(context.Background(), []string{dir}, lint.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Errors) != 0 || len(res.Objects) != st.Objects {
		b.Fatalf("read %d objects with %d errors (first: %v); want %d, none", len(res.Objects), len(res.Errors), first(res.Errors), st.Objects)
	}
	return res
}

func first(errs []*lint.InputError) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// snapshot builds the snapshot as nsguard lint does (FromManifests places
// objects, maps kinds to resources and runs Analyze).
func snapshot(b *testing.B, res *lint.ReadResult, e *policies.Engine) *inventory.Snapshot {
	b.Helper()
	s, err := inventory.FromManifests(res.Objects, inventory.ManifestOptions{Catalog: e.Catalog()})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func perObject(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/object")
}

// BenchmarkStartup compiles the built-in policies and prepares the queries.
func BenchmarkStartup(b *testing.B) {
	for b.Loop() {
		newEngine(b)
	}
}

// BenchmarkRead reads, parses and trims the whole corpus.
func BenchmarkRead(b *testing.B) {
	dir, st := benchCorpus(b)
	b.SetBytes(st.Bytes)
	for b.Loop() {
		read(b, dir, st)
	}
	perObject(b, st.Objects)
}

// BenchmarkSnapshot builds the snapshot (FromManifests) from trimmed objects.
// Reading is repeated outside the timer because Add takes the objects.
func BenchmarkSnapshot(b *testing.B) {
	dir, st := benchCorpus(b)
	e := newEngine(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		res := read(b, dir, st)
		b.StartTimer()
		snapshot(b, res, e)
	}
	perObject(b, st.Objects)
}

// BenchmarkInput converts a snapshot to the Rego input value.
func BenchmarkInput(b *testing.B) {
	dir, st := benchCorpus(b)
	e := newEngine(b)
	s := snapshot(b, read(b, dir, st), e)
	for b.Loop() {
		if _, err := policies.InputValue(s); err != nil {
			b.Fatal(err)
		}
	}
	perObject(b, st.Objects)
}

// BenchmarkEvaluate evaluates every rule (including the input conversion,
// which Evaluate does).
func BenchmarkEvaluate(b *testing.B) {
	dir, st := benchCorpus(b)
	e := newEngine(b)
	s := snapshot(b, read(b, dir, st), e)
	var n int
	for b.Loop() {
		fs, err := e.Evaluate(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		n = len(fs)
	}
	perObject(b, st.Objects)
	b.ReportMetric(float64(n), "findings")
}

// BenchmarkLint runs the whole pipeline as the command does.
func BenchmarkLint(b *testing.B) {
	dir, st := benchCorpus(b)
	for b.Loop() {
		e := newEngine(b)
		s := snapshot(b, read(b, dir, st), e)
		if _, err := e.Evaluate(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	perObject(b, st.Objects)
	b.ReportMetric(float64(st.Objects)/(b.Elapsed().Seconds()/float64(b.N)), "objects/s")
}

// BenchmarkReadByFormat reads the corpus files of each format on their
// own: multi-document YAML, YAML kind: List and JSON. ns/object tells which
// format takes a slow path.
func BenchmarkReadByFormat(b *testing.B) {
	dir, _ := benchCorpus(b)
	formats := map[string]func(name string) bool{
		"yaml": func(n string) bool { return filepath.Ext(n) == ".yaml" && !strings.HasSuffix(n, "-list.yaml") },
		"list": func(n string) bool { return strings.HasSuffix(n, "-list.yaml") },
		"json": func(n string) bool { return filepath.Ext(n) == ".json" },
	}
	for _, name := range []string{"yaml", "list", "json"} {
		b.Run(name, func(b *testing.B) {
			entries, err := os.ReadDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			var files []string
			var size int64
			for _, e := range entries {
				if formats[name](e.Name()) {
					files = append(files, filepath.Join(dir, e.Name()))
					if fi, err := e.Info(); err == nil {
						size += fi.Size()
					}
				}
			}
			b.SetBytes(size)
			var objects int
			for b.Loop() {
				res, err := lint.Read(context.Background(), files, lint.ReadOptions{})
				if err != nil || len(res.Errors) > 0 {
					b.Fatalf("read: %v %v", err, first(res.Errors))
				}
				objects = len(res.Objects)
			}
			perObject(b, objects)
		})
	}
}
