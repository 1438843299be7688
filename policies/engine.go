// Package policies holds nsguard's rules (Rego), the finalizer catalog
// (policy data) and the engine that compiles them once and evaluates a
// snapshot.
//
// Every rule is a Rego package nsguard.rules.<name> that defines
// `findings contains f`; its metadata (id, severity, title, description,
// whether it needs live cluster facts) comes from the package's METADATA
// annotation. Users add rules with Options.PolicyDirs and data with
// Options.DataFiles. See docs/policy-input.md.
package policies

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies/catalog"
)

// Severities of a finding.
const (
	SeverityDeny = "deny"
	SeverityWarn = "warn"
)

// rulesRoot is the package prefix of every rule.
func rulesRoot() ast.Ref {
	return ast.Ref{ast.DefaultRootDocument, ast.StringTerm("nsguard"), ast.StringTerm("rules")}
}

// Options configure an Engine.
type Options struct {
	// PolicyDirs are directories (searched recursively) or files of user
	// Rego policies, added to the built-in ones. _test.rego files are not
	// evaluated.
	PolicyDirs []string
	// DataFiles are JSON or YAML documents merged into data; entries under
	// nsguard.catalog.finalizers extend or override the finalizer catalog.
	DataFiles []string
	// Data is merged into data after the files (nsguard serve puts its
	// configuration at nsguard.config, so that a policy can read it).
	Data map[string]any
}

// Rule describes one rule package.
type Rule struct {
	ID          string `json:"id"`
	Severity    string `json:"severity"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Live rules need facts only a cluster has; they never fire in lint.
	Live    bool `json:"live"`
	Builtin bool `json:"builtin"`
	// Package is the Rego package (e.g. nsguard.rules.hardcoded_finalizer).
	Package string `json:"package"`
	// File is where the package's metadata (or first module) is.
	File string `json:"file"`

	path ast.Ref
}

// Engine evaluates the rules. It is safe for concurrent use.
type Engine struct {
	rules   []Rule
	catalog *catalog.Catalog

	// One prepared query per rule, evaluated in parallel; lint leaves out
	// the live rules. See evalAll.
	lint    []preparedRules
	cluster []preparedRules
	// veto is data.nsguard.remediation.veto, nil when no policy defines it.
	veto *rego.PreparedEvalQuery
}

// New loads and compiles the built-in and user policies once.
func New(ctx context.Context, opts Options) (*Engine, error) {
	mods, err := builtinModules(false)
	if err != nil {
		return nil, err
	}
	user, err := userModules(opts.PolicyDirs, false)
	if err != nil {
		return nil, err
	}
	if mods, err = mergeModules(mods, user); err != nil {
		return nil, err
	}

	data, cat, err := loadData(opts.DataFiles)
	if err != nil {
		return nil, err
	}
	if opts.Data != nil {
		mergeInto(data, opts.Data)
	}

	compiler, err := compile(mods)
	if err != nil {
		return nil, err
	}
	rules, err := discoverRules(compiler, mods)
	if err != nil {
		return nil, err
	}

	e := &Engine{rules: rules, catalog: cat}
	store := storeFor(data)
	if e.veto, err = prepareVeto(ctx, compiler, store); err != nil {
		return nil, err
	}

	for i := range e.rules {
		r := &e.rules[i]
		q, err := prepare(ctx, compiler, store, []*Rule{r})
		if err != nil {
			return nil, err
		}
		e.cluster = append(e.cluster, q)
		if !r.Live {
			e.lint = append(e.lint, q)
		}
	}
	return e, nil
}

func compile(mods []module) (*ast.Compiler, error) {
	parsed := make(map[string]*ast.Module, len(mods))
	for _, m := range mods {
		parsed[m.name] = m.parsed
	}
	c := ast.NewCompiler().
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(false)
	if c.Compile(parsed); c.Failed() {
		return nil, &CompileError{Errors: c.Errors}
	}
	return c, nil
}

// discoverRules finds the rule packages (under nsguard.rules, defining
// findings) and reads their metadata.
func discoverRules(c *ast.Compiler, mods []module) ([]Rule, error) {
	builtin := map[string]bool{}
	for _, m := range mods {
		if m.builtin {
			builtin[m.name] = true
		}
	}
	type pkgInfo struct {
		pkg     *ast.Package
		file    string
		builtin bool
	}
	root := rulesRoot()
	pkgs := map[string]*pkgInfo{}
	names := make([]string, 0, len(c.Modules))
	for name := range c.Modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := c.Modules[name]
		path := m.Package.Path
		if !path.HasPrefix(root) || len(path) == len(root) || !definesFindings(m) {
			continue
		}
		key := path.String()
		if pkgs[key] == nil {
			pkgs[key] = &pkgInfo{pkg: m.Package, file: name, builtin: builtin[name]}
		}
	}

	keys := make([]string, 0, len(pkgs))
	for key := range pkgs {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	as := c.GetAnnotationSet()
	var rules []Rule
	ids := map[string]string{}
	for _, key := range keys {
		info := pkgs[key]
		r := Rule{
			Package:  strings.TrimPrefix(key, "data."),
			File:     info.file,
			Builtin:  info.builtin,
			Severity: SeverityDeny,
			path:     info.pkg.Path,
		}
		r.ID = defaultID(info.pkg.Path)
		if a := as.GetPackageScope(info.pkg); a != nil {
			if a.Location != nil && a.Location.File != "" {
				r.File = a.Location.File
			}
			r.Title = strings.TrimSpace(a.Title)
			r.Description = strings.TrimSpace(a.Description)
			if err := applyCustom(&r, a); err != nil {
				return nil, err
			}
		}
		if r.Title == "" {
			r.Title = r.ID
		}
		if other, dup := ids[r.ID]; dup {
			return nil, fmt.Errorf("%s: rule id %q is already used by package %s", r.File, r.ID, other)
		}
		ids[r.ID] = r.Package
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, nil
}

func definesFindings(m *ast.Module) bool {
	for _, r := range m.Rules {
		if r.Head.Name == "findings" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.Compare(ast.Var("findings")) == 0) {
			return true
		}
	}
	return false
}

// defaultID derives a rule id from the package path below nsguard.rules:
// underscores become dashes, nested packages are joined with dots.
func defaultID(path ast.Ref) string {
	n := len(rulesRoot())
	parts := make([]string, 0, len(path)-n)
	for _, t := range path[n:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			parts = append(parts, t.String())
			continue
		}
		parts = append(parts, strings.ReplaceAll(string(s), "_", "-"))
	}
	return strings.Join(parts, ".")
}

func applyCustom(r *Rule, a *ast.Annotations) error {
	where := r.File
	if a.Location != nil {
		where = fmt.Sprintf("%s:%d", a.Location.File, a.Location.Row)
	}
	if v, ok := a.Custom["id"]; ok {
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n") {
			return fmt.Errorf("%s: custom.id must be a non-empty string without spaces, got %v", where, v)
		}
		r.ID = s
	}
	if v, ok := a.Custom["severity"]; ok {
		s, _ := v.(string)
		if s != SeverityDeny && s != SeverityWarn {
			return fmt.Errorf("%s: custom.severity must be deny or warn, got %v", where, v)
		}
		r.Severity = s
	}
	if v, ok := a.Custom["live"]; ok {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%s: custom.live must be true or false, got %v", where, v)
		}
		r.Live = b
	}
	return nil
}

// storeFor keeps data as AST values, so rules read it without conversion.
func storeFor(data map[string]any) storage.Store {
	return inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))
}

// Rules returns every rule, sorted by id.
func (e *Engine) Rules() []Rule { return slices.Clone(e.rules) }

// Catalog returns the finalizer catalog the rules see: the built-in one
// with the data files' additions and overrides.
func (e *Engine) Catalog() *catalog.Catalog { return e.catalog }

// Evaluate runs the rules on a snapshot. Live rules run only on snapshots
// of a cluster. Waived findings are dropped; the rest are sorted.
func (e *Engine) Evaluate(ctx context.Context, s *inventory.Snapshot) ([]Finding, error) {
	fs, err := e.EvaluateWithWaivers(ctx, s)
	if err != nil {
		return nil, err
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Waiver == "" {
			out = append(out, f)
		}
	}
	return out, nil
}

// EvaluateWithWaivers is Evaluate, keeping waived findings with their
// waiver's reason in Finding.Waiver: the admission webhook decides who may
// waive what (an object's own annotation is its owner's word).
func (e *Engine) EvaluateWithWaivers(ctx context.Context, s *inventory.Snapshot) ([]Finding, error) {
	if s == nil {
		return nil, fmt.Errorf("evaluate policies: no snapshot")
	}
	input, err := InputValue(s)
	if err != nil {
		return nil, fmt.Errorf("build policy input: %w", err)
	}
	q := e.cluster
	if s.Source == inventory.SourceManifests {
		q = e.lint
	}
	findings, err := evalAll(ctx, q, input)
	if err != nil {
		return nil, err
	}
	markWaivers(s, findings)
	for i := range findings {
		resolveActions(s, &findings[i])
	}
	SortFindings(findings)
	return findings, nil
}

// markWaivers marks the findings whose object carries
// ignore.nsguard.io/<rule> with a reason. A blank reason waives nothing
// (the waiver-without-reason rule reports it).
func markWaivers(s *inventory.Snapshot, fs []Finding) {
	for i := range fs {
		id := fs[i].Object.ID
		if id >= 0 && id < len(s.Objects) && s.Objects[id] != nil {
			if reason, ok := s.Objects[id].Metadata.Annotations[WaiverPrefix+fs[i].Rule]; ok && strings.TrimSpace(reason) != "" {
				fs[i].Waiver = strings.TrimSpace(reason)
			}
		}
	}
}

// SortFindings orders findings deterministically: deny first, then by
// namespace, object, rule and message.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(a.Namespace, b.Namespace),
			compareRefs(a.Object, b.Object),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

func severityRank(s string) int {
	if s == SeverityDeny {
		return 0
	}
	return 1
}

func compareRefs(a, b inventory.ObjectRef) int {
	return cmp.Or(
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.ID, b.ID),
	)
}
