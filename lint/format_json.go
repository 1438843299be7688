package lint

import (
	"encoding/json"
	"io"
)

// jsonFormatter writes {"findings": [...], "errors": [...], "summary": {...}}.
// Both arrays are always arrays, never null, so `jq '.findings[]'` works on
// a clean run.
type jsonFormatter struct{}

type jsonReport struct {
	Findings []Finding     `json:"findings"`
	Errors   []*InputError `json:"errors"`
	Summary  Counts        `json:"summary"`
}

func (jsonFormatter) Format(w io.Writer, r *Report) error {
	out := jsonReport{Findings: r.Findings, Errors: r.Errors, Summary: r.Counts()}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Errors == nil {
		out.Errors = []*InputError{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
