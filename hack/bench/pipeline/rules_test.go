package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/profiler"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/policies/catalog"
)

// policyDir holds the built-in policies, read from the source tree so that
// each rule can be evaluated on its own (the engine runs them all in one
// query). NSGUARD_BENCH_POLICIES points BenchmarkRules at another copy, to
// measure a change to a rule before making it.
func policyDir() string {
	if d := os.Getenv("NSGUARD_BENCH_POLICIES"); d != "" {
		return d
	}
	return "../../../policies"
}

// ruleSet compiles the built-in policies as the engine does and lists the
// rule packages (those that define findings).
func ruleSet(b *testing.B) (*ast.Compiler, map[string]any, []string) {
	b.Helper()
	var files []string
	for _, pattern := range []string{"*.rego", "lib/*.rego"} {
		m, err := filepath.Glob(filepath.Join(policyDir(), pattern))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, m...)
	}
	mods := map[string]*ast.Module{}
	var rules []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.rego") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		m, err := ast.ParseModuleWithOpts(f, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			b.Fatal(err)
		}
		mods[f] = m
		if strings.HasPrefix(m.Package.Path.String(), "data.nsguard.rules.") {
			rules = append(rules, m.Package.Path.String())
		}
	}
	sort.Strings(rules)
	c := ast.NewCompiler()
	if c.Compile(mods); c.Failed() {
		b.Fatal(c.Errors)
	}
	cat, err := catalog.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := json.Marshal(cat)
	if err != nil {
		b.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		b.Fatal(err)
	}
	return c, map[string]any{"nsguard": map[string]any{"catalog": doc}}, rules
}

// lintInput is the Rego input of the corpus, as nsguard lint builds it, or
// the JSON input in the file $NSGUARD_BENCH_INPUT (a webhook decision's,
// written by webhookbench's BenchmarkDecide with NSGUARD_BENCH_DUMP_INPUT).
func lintInput(b *testing.B) ast.Value {
	b.Helper()
	if f := os.Getenv("NSGUARD_BENCH_INPUT"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		v, err := ast.ValueFromReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	dir, st := benchCorpus(b)
	e := newEngine(b)
	in, err := policies.InputValue(snapshot(b, read(b, dir, st), e))
	if err != nil {
		b.Fatal(err)
	}
	return in
}

// BenchmarkRules evaluates each rule on its own on the corpus input, to
// tell which rules cost what. Live rules (which do not fire in lint) are
// included: their cost before they bail out is part of the figure.
func BenchmarkRules(b *testing.B) {
	c, data, rules := ruleSet(b)
	input := lintInput(b)
	store := inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))
	for _, r := range rules {
		b.Run(strings.TrimPrefix(r, "data.nsguard.rules."), func(b *testing.B) {
			q, err := rego.New(rego.Query(r+".findings"), rego.Compiler(c), rego.Store(store)).PrepareForEval(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := q.Eval(context.Background(), rego.EvalParsedInput(input)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRulesProfile runs every lint rule once under OPA's profiler and
// logs the most expensive expressions with their file and line (go test
// -bench RulesProfile -benchtime 1x -v).
func BenchmarkRulesProfile(b *testing.B) {
	c, data, rules := ruleSet(b)
	input := lintInput(b)
	store := inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))
	terms := make([]*ast.Term, len(rules))
	for i, r := range rules {
		terms[i] = ast.MustParseTerm(r + ".findings")
	}
	for b.Loop() {
		p := profiler.New()
		q, err := rego.New(rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.ArrayTerm(terms...)))),
			rego.Compiler(c), rego.Store(store), rego.QueryTracer(p)).PrepareForEval(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := q.Eval(context.Background(), rego.EvalParsedInput(input), rego.EvalQueryTracer(p)); err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%-12s %10s %8s  %s\n", "time", "evals", "redos", "expression")
		for _, s := range p.ReportTopNResults(25, []string{"total_time_ns"}) {
			loc := ""
			if s.Location != nil {
				loc = fmt.Sprintf("%s:%d %s", filepath.Base(s.Location.File), s.Location.Row, strings.Join(strings.Fields(string(s.Location.Text)), " "))
			}
			if len(loc) > 140 {
				loc = loc[:139] + "…"
			}
			fmt.Fprintf(&sb, "%9.1f ms %10d %8d  %s\n", float64(s.ExprTimeNs)/1e6, s.NumEval, s.NumRedo, loc)
		}
		b.Log("\n" + sb.String())
	}
}
