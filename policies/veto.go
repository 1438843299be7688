package policies

import (
	"context"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// vetoRef is where policies veto remediation actions: a set of reasons,
// data.nsguard.remediation.veto, evaluated with the action as input.
var vetoRef = ast.MustParseRef("data.nsguard.remediation.veto")

// prepareVeto compiles the veto query when a policy defines it.
func prepareVeto(ctx context.Context, c *ast.Compiler, store storage.Store) (*rego.PreparedEvalQuery, error) {
	defined := false
	for _, m := range c.Modules {
		if m.Package.Path.Equal(vetoRef[:len(vetoRef)-1]) {
			for _, r := range m.Rules {
				if r.Head.Name == "veto" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.Compare(ast.Var("veto")) == 0) {
					defined = true
				}
			}
		}
	}
	if !defined {
		return nil, nil
	}
	q, err := rego.New(rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(vetoRef)))), rego.Compiler(c), rego.Store(store)).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare remediation veto: %w", asCompileError(err))
	}
	return &q, nil
}

// Vetoes asks the policies whether a remediation action may run: input is
// {"action": …, "namespace": {"name", "labels", "annotations"}, "evidence": […]}.
// It returns the reasons of every veto (none when no policy defines
// data.nsguard.remediation.veto). An error vetoes too: the caller must not
// act on a question it could not ask.
func (e *Engine) Vetoes(ctx context.Context, input map[string]any) ([]string, error) {
	if e.veto == nil {
		return nil, nil
	}
	rs, err := e.veto.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return nil, fmt.Errorf("evaluate remediation veto: %w", err)
	}
	var out []string
	for _, r := range rs {
		for _, ex := range r.Expressions {
			switch v := ex.Value.(type) {
			case []any:
				for _, x := range v {
					out = append(out, fmt.Sprint(x))
				}
			case string:
				out = append(out, v)
			case nil:
			default:
				return nil, fmt.Errorf("data.nsguard.remediation.veto must be a set of strings, got %T", v)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
