// Command lintbench compares `nsguard lint` with conftest on the same
// generated corpus in the same run: wall time (best of N after a warm-up),
// CPU time, peak resident memory, objects per second, and whether both found
// the objects that set finalizers. It is what `make bench-lint` runs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/nsguard/nsguard/hack/bench/corpus"
	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/hack/bench/internal/sysinfo"
)

// targetRatio is the benchmark's target: nsguard lint, with every rule,
// keeps at least 10× the throughput of conftest with one. Raw objects/s is
// reported, not targeted: a reader that refuses what kubectl refuses comes
// first.
const targetRatio = 10.0

type options struct {
	nsguard, conftest, policy string
	dir                       string
	files                     int
	seed                      uint64
	runs                      int
	results                   string
	strict                    bool
}

func main() {
	var o options
	flag.StringVar(&o.nsguard, "nsguard", "bin/nsguard", "nsguard binary")
	flag.StringVar(&o.conftest, "conftest", "bin/conftest", "conftest binary")
	flag.StringVar(&o.policy, "policy", "hack/bench/conftest-policy", "the Rego policy directory conftest evaluates")
	flag.StringVar(&o.dir, "corpus", "bin/bench/corpus", "directory the corpus is generated into (its corpus files are replaced)")
	flag.IntVar(&o.files, "files", 500, "number of corpus files (about 20 objects each)")
	flag.Uint64Var(&o.seed, "seed", 1, "corpus seed")
	flag.IntVar(&o.runs, "runs", 5, "measured runs of each tool, after one warm-up run")
	flag.StringVar(&o.results, "results", "bin/bench/lint.json", "file the figures are written to as JSON (\"\" for none)")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a target is missed")
	flag.Parse()
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "lintbench: %v\n", err)
		os.Exit(2)
	}
}

// toolResult is the measurement of one tool.
type toolResult struct {
	Name          string        `json:"name"`
	Version       string        `json:"version"`
	Rules         string        `json:"rules"`
	Command       string        `json:"command"`
	BestWall      time.Duration `json:"bestWallNs"`
	MedianWall    time.Duration `json:"medianWallNs"`
	BestCPU       time.Duration `json:"bestCpuNs"`
	PeakRSS       int64         `json:"peakRssBytes"`
	ObjectsPerSec float64       `json:"objectsPerSecond"`
	// FinalizerFindings counts the findings about objects that set
	// finalizers (nsguard: rule hardcoded-finalizer; conftest: deny).
	FinalizerFindings int `json:"finalizerFindings"`
	// Findings counts all findings.
	Findings int `json:"findings"`
}

type results struct {
	Date    string `json:"date"`
	Machine string `json:"machine"`
	// LoadBefore and LoadAfter say how busy the machine was around the
	// measured runs.
	LoadBefore string       `json:"loadBefore"`
	LoadAfter  string       `json:"loadAfter"`
	Corpus     corpus.Stats `json:"corpus"`
	Runs       int          `json:"runs"`
	NSGuard    toolResult   `json:"nsguard"`
	Conftest   toolResult   `json:"conftest"`
	Ratio      float64      `json:"ratio"`
	TargetsOK  bool         `json:"targetsMet"`
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.runs < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	for _, p := range []string{o.nsguard, o.conftest} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("find tool: %w (make build conftest)", err)
		}
	}
	start := time.Now()
	date := start.UTC().Format(time.RFC3339)
	st, err := corpus.Write(o.dir, corpus.Options{Files: o.files, Seed: o.seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Corpus   %s: %d files (%d multi-document YAML, %d kind: List YAML, %d JSON), %s documents, %s objects, %.1f MiB, %d objects with finalizers, %d namespaces (generated in %s)\n",
		o.dir, st.Files, st.YAMLFiles, st.ListFiles, st.JSONFiles, measure.Group(int64(st.Documents)), measure.Group(int64(st.Objects)),
		float64(st.Bytes)/(1<<20), st.WithFinalizers, st.Namespaces, time.Since(start).Round(time.Millisecond))
	machine := sysinfo.Describe()
	fmt.Fprintf(out, "Machine  %s\n", machine)

	ns := tool{
		res: toolResult{Name: "nsguard lint", Rules: "full built-in rule set"},
		cmd: measure.Cmd{Path: o.nsguard, Args: []string{"lint", o.dir, "-o", "json", "--fail-on", "never"}},
		count: func(b []byte) (int, int, error) {
			return countNSGuard(b)
		},
	}
	ns.res.Version = version(ctx, o.nsguard, "version")
	if n := ruleCount(ctx, o.nsguard); n > 0 {
		ns.res.Rules = fmt.Sprintf("%d rules (full built-in set)", n)
	}
	ct := tool{
		res: toolResult{Name: "conftest test", Rules: "1 rule (finalizers)"},
		// Defaults otherwise: every file parsed by its extension, each
		// document evaluated on its own. Exit code 1 means findings.
		cmd:   measure.Cmd{Path: o.conftest, Args: []string{"test", "--policy", o.policy, "--no-color", "-o", "json", o.dir}, OKCodes: []int{0, 1}},
		count: countConftest,
	}
	ct.res.Version = version(ctx, o.conftest, "--version")
	tools := []*tool{&ns, &ct}
	for _, t := range tools {
		t.res.Command = t.cmd.String()
	}

	fmt.Fprintf(out, "Runs     1 warm-up + %d measured runs of each tool, interleaved\n", o.runs)
	loadBefore := sysinfo.Load()
	fmt.Fprintf(out, "Load     before: %s\n\n", loadBefore)
	for _, t := range tools {
		s, stdout, err := measure.Run(ctx, t.cmd)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		t.res.FinalizerFindings, t.res.Findings, err = t.count(stdout)
		if err != nil {
			return fmt.Errorf("read the output of %s: %w", t.res.Name, err)
		}
		fmt.Fprintf(out, "Warm-up  %-14s %s\n", t.res.Name, measure.Seconds(s.Wall))
	}
	for range o.runs {
		for _, t := range tools {
			s, _, err := measure.Run(ctx, t.cmd)
			if err != nil {
				return err
			}
			t.series = append(t.series, s)
		}
	}
	for _, t := range tools {
		best := t.series.Best()
		t.res.BestWall = best.Wall
		t.res.BestCPU = best.CPU()
		t.res.MedianWall = t.series.Median()
		t.res.PeakRSS = t.series.PeakRSS()
		t.res.ObjectsPerSec = float64(st.Objects) / best.Wall.Seconds()
	}
	loadAfter := sysinfo.Load()
	fmt.Fprintf(out, "Load     after: %s\n\n", loadAfter)
	r := results{
		Date: date, Machine: machine, LoadBefore: loadBefore, LoadAfter: loadAfter, Corpus: st, Runs: o.runs,
		NSGuard: ns.res, Conftest: ct.res, Ratio: ns.res.ObjectsPerSec / ct.res.ObjectsPerSec,
	}
	printTable(out, r)
	okRatio := r.Ratio >= targetRatio
	okFound := ns.res.FinalizerFindings == st.WithFinalizers && ct.res.FinalizerFindings == st.WithFinalizers
	r.TargetsOK = okRatio
	fmt.Fprintln(out)
	fmt.Fprintf(out, "Throughput ratio nsguard/conftest: %.1f×  (target ≥ %.0f×: %s)\n", r.Ratio, targetRatio, verdict(okRatio))
	fmt.Fprintf(out, "nsguard throughput: %s objects/s\n", measure.Group(int64(ns.res.ObjectsPerSec)))
	fmt.Fprintf(out, "Objects with finalizers found: nsguard %d, conftest %d, in the corpus %d  (%s)\n",
		ns.res.FinalizerFindings, ct.res.FinalizerFindings, st.WithFinalizers, map[bool]string{true: "both found all of them", false: "MISMATCH: the comparison is not like for like"}[okFound])
	if o.results != "" {
		if err := measure.WriteJSON(o.results, r); err != nil {
			return err
		}
		fmt.Fprintf(out, "Figures written to %s\n", o.results)
	}
	if !okFound {
		return fmt.Errorf("the tools disagree on the objects with finalizers")
	}
	if o.strict && !r.TargetsOK {
		return fmt.Errorf("targets missed")
	}
	return nil
}

type tool struct {
	res    toolResult
	cmd    measure.Cmd
	series measure.Series
	count  func([]byte) (finalizers, all int, err error)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func printTable(out io.Writer, r results) {
	row := func(label, a, b string) { fmt.Fprintf(out, "%-22s %-30s %-30s\n", label, a, b) }
	row("", r.NSGuard.Name, r.Conftest.Name)
	row("version", r.NSGuard.Version, r.Conftest.Version)
	row("rules", r.NSGuard.Rules, r.Conftest.Rules)
	row("wall time, best", measure.Seconds(r.NSGuard.BestWall), measure.Seconds(r.Conftest.BestWall))
	row("wall time, median", measure.Seconds(r.NSGuard.MedianWall), measure.Seconds(r.Conftest.MedianWall))
	row("CPU time, best run", measure.Seconds(r.NSGuard.BestCPU), measure.Seconds(r.Conftest.BestCPU))
	row("peak RSS", measure.MiB(r.NSGuard.PeakRSS), measure.MiB(r.Conftest.PeakRSS))
	row("objects/s", measure.Group(int64(r.NSGuard.ObjectsPerSec)), measure.Group(int64(r.Conftest.ObjectsPerSec)))
	row("findings, finalizers", fmt.Sprint(r.NSGuard.FinalizerFindings), fmt.Sprint(r.Conftest.FinalizerFindings))
	row("findings, all", fmt.Sprint(r.NSGuard.Findings), fmt.Sprint(r.Conftest.Findings))
}

// countNSGuard reads `nsguard lint -o json`: {"findings": [{"rule", ...}]}.
// Findings about objects with finalizers are counted once per object.
func countNSGuard(b []byte) (int, int, error) {
	var doc struct {
		Findings []struct {
			Rule      string `json:"rule"`
			File      string `json:"file"`
			Line      int    `json:"line"`
			Kind      string `json:"kind"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return 0, 0, fmt.Errorf("decode nsguard JSON: %w", err)
	}
	objects := map[string]bool{}
	for _, f := range doc.Findings {
		if f.Rule == "hardcoded-finalizer" {
			objects[fmt.Sprintf("%s:%d", f.File, f.Line)] = true
		}
	}
	return len(objects), len(doc.Findings), nil
}

// countConftest reads `conftest test -o json`: one entry per file with its
// failures.
func countConftest(b []byte) (int, int, error) {
	var doc []struct {
		Failures []struct {
			Msg string `json:"msg"`
		} `json:"failures"`
		Warnings []struct{} `json:"warnings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return 0, 0, fmt.Errorf("decode conftest JSON: %w", err)
	}
	var fails, all int
	for _, f := range doc {
		fails += len(f.Failures)
		all += len(f.Failures) + len(f.Warnings)
	}
	return fails, all, nil
}

func version(ctx context.Context, bin string, args ...string) string {
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		return "unknown"
	}
	v := strings.Join(strings.Fields(string(out)), " ")
	if len(v) > 30 {
		v = v[:29] + "…"
	}
	return v
}

// ruleCount asks nsguard how many rules it runs; 0 when it cannot tell.
func ruleCount(ctx context.Context, bin string) int {
	out, err := exec.CommandContext(ctx, bin, "rules", "-o", "json").Output()
	if err != nil {
		return 0
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return 0
	}
	switch v := v.(type) {
	case []any:
		return len(v)
	case map[string]any:
		if rules, ok := v["rules"].([]any); ok {
			return len(rules)
		}
	}
	return 0
}
