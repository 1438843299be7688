package policies

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestOptions configure RunTests.
type TestOptions struct {
	// PolicyDirs are the user's policy directories (or files), with their
	// _test.rego files.
	PolicyDirs []string
	// DataFiles are merged into data as for the engine.
	DataFiles []string
	// Builtin runs the tests of the built-in rules too. The built-in rules
	// and libraries (data.nsguard.lib.testing included) are loaded either
	// way, so user tests can use them.
	Builtin bool
	// Filter is a regular expression on test names (package.test_name).
	Filter string
	// Timeout per test; 0 means OPA's default.
	Timeout time.Duration
	// Trace records evaluation traces for every test. Without it, only the
	// tests that fail are run again with traces, so that reports still show
	// the expression that failed.
	Trace bool
}

// RunTests runs the Rego unit tests (test_* rules in _test.rego files, or
// anywhere) of the built-in and user policies with OPA's tester, so no opa
// binary is needed. Results are sorted by file and line. A policy that does
// not compile is a *CompileError.
func RunTests(ctx context.Context, opts TestOptions) ([]*tester.Result, error) {
	results, err := runTests(ctx, opts)
	if err != nil || opts.Trace {
		return results, err
	}
	var failed []string
	for _, r := range results {
		if !r.Pass() && !r.Skip {
			failed = append(failed, "^"+regexp.QuoteMeta(r.Package+"."+r.Name)+"$")
		}
	}
	if len(failed) == 0 {
		return results, nil
	}
	opts.Trace = true
	opts.Filter = strings.Join(failed, "|")
	traced, err := runTests(ctx, opts)
	if err != nil {
		return nil, err
	}
	byName := map[string]*tester.Result{}
	for _, r := range traced {
		byName[r.Package+"."+r.Name] = r
	}
	for i, r := range results {
		if t, ok := byName[r.Package+"."+r.Name]; ok {
			results[i] = t
		}
	}
	return results, nil
}

func runTests(ctx context.Context, opts TestOptions) ([]*tester.Result, error) {
	builtin, err := builtinModules(true)
	if err != nil {
		return nil, err
	}
	user, err := userModules(opts.PolicyDirs, true)
	if err != nil {
		return nil, err
	}
	data, _, err := loadData(opts.DataFiles)
	if err != nil {
		return nil, err
	}

	all, err := mergeModules(builtin, user)
	if err != nil {
		return nil, err
	}
	modules := map[string]*ast.Module{}
	var skip []string // built-in test files whose tests are not wanted
	for _, m := range all {
		modules[m.name] = m.parsed
		if m.builtin && m.test && !opts.Builtin && !strings.HasPrefix(m.name, builtinPrefix+"lib/") {
			skip = append(skip, m.name)
		}
	}
	for _, name := range skip {
		delete(modules, name)
	}

	if opts.Filter != "" {
		if _, err := regexp.Compile(opts.Filter); err != nil {
			return nil, fmt.Errorf("test filter: %w", err)
		}
	}

	runner := tester.NewRunner().
		SetModules(modules).
		SetStore(inmem.NewFromObject(data)).
		SetDefaultRegoVersion(ast.RegoV1).
		EnableTracing(opts.Trace).
		CapturePrintOutput(true)
	if opts.Filter != "" {
		runner = runner.Filter(opts.Filter)
	}
	if opts.Timeout > 0 {
		runner = runner.SetTimeout(opts.Timeout)
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, asCompileError(err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		if a.Location == nil || b.Location == nil {
			return cmp.Compare(a.Package+a.Name, b.Package+b.Name)
		}
		return cmp.Or(
			cmp.Compare(a.Location.File, b.Location.File),
			cmp.Compare(a.Location.Row, b.Location.Row),
			cmp.Compare(a.Name, b.Name),
		)
	})
	return results, nil
}

// ReportTests prints results the way `opa test` does and says whether all
// passed.
func ReportTests(w io.Writer, results []*tester.Result, verbose bool) (bool, error) {
	ch := make(chan *tester.Result, len(results))
	ok := true
	for _, r := range results {
		if !r.Pass() && !r.Skip {
			ok = false
		}
		ch <- r
	}
	close(ch)
	rep := tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}
	if err := rep.Report(ch); err != nil {
		return false, fmt.Errorf("report test results: %w", err)
	}
	return ok, nil
}
