package lint

import (
	"cmp"
	"github.com/nsguard/nsguard/actions"
	"slices"
)

// Severities of findings, as rules declare them.
const (
	SeverityDeny = "deny"
	SeverityWarn = "warn"
)

// Tool names the program in reports (SARIF driver, JUnit).
type Tool struct {
	Name           string
	Version        string
	InformationURI string
	// RulesURI is the rule reference; a rule's help link is RulesURI#<id>.
	RulesURI string
}

// Rule is a rule's metadata, from the policy engine.
type Rule struct {
	ID          string
	Severity    string
	Title       string
	Description string
	// Live rules need facts only a cluster has and never fire in lint.
	Live bool
}

// Finding is one finding with the position of the object it is about.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	// Summary is one line of at most 120 characters; Message says why and
	// what to do.
	Summary string `json:"summary"`
	Message string `json:"message"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	// APIVersion, Kind and Name identify the object.
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Namespace is the namespace whose deletion the finding is about (for
	// a cluster-scoped object such as a CRD, the namespace its webhook
	// lives in); ObjectNamespace is the object's own ("" when it is
	// cluster-scoped).
	Namespace       string `json:"namespace,omitempty"`
	ObjectNamespace string `json:"objectNamespace,omitempty"`
	// Actions are the typed steps that resolve the finding, and Commands
	// the same steps as kubectl commands.
	Actions  []actions.Action `json:"actions,omitempty"`
	Commands []string         `json:"commands,omitempty"`
}

// Object is an object that was read, for formats that list every object
// (JUnit's passing test cases).
type Object struct {
	File       string
	Line       int
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// Report is everything a format writes.
type Report struct {
	Tool     Tool
	Rules    []Rule
	Findings []Finding
	Errors   []*InputError
	// Files are the files read, in input order.
	Files   []string
	Objects []Object
}

// Sort orders findings and objects by file (in input order), line, then
// rule and object, so every format is stable.
func (r *Report) Sort() {
	order := make(map[string]int, len(r.Files))
	for i, f := range r.Files {
		order[f] = i + 1
	}
	fileCmp := func(a, b string) int {
		return cmp.Or(cmp.Compare(order[a], order[b]), cmp.Compare(a, b))
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(fileCmp(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ObjectNamespace, b.ObjectNamespace), cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Message, b.Message))
	})
	slices.SortStableFunc(r.Objects, func(a, b Object) int {
		return cmp.Or(fileCmp(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	slices.SortStableFunc(r.Rules, func(a, b Rule) int { return cmp.Compare(a.ID, b.ID) })
}

// Counts are the totals a summary shows.
type Counts struct {
	Files    int `json:"files"`
	Objects  int `json:"objects"`
	Findings int `json:"findings"`
	Deny     int `json:"deny"`
	Warn     int `json:"warn"`
	Errors   int `json:"errors"`
}

// Counts totals the report.
func (r *Report) Counts() Counts {
	c := Counts{Files: len(r.Files), Objects: len(r.Objects), Findings: len(r.Findings), Errors: len(r.Errors)}
	for _, f := range r.Findings {
		if f.Severity == SeverityWarn {
			c.Warn++
		} else {
			c.Deny++
		}
	}
	return c
}

// rule returns the metadata of a rule, or a stand-in for a rule the engine
// did not describe.
func (r *Report) rule(id string) Rule {
	for _, ru := range r.Rules {
		if ru.ID == id {
			return ru
		}
	}
	return Rule{ID: id, Severity: SeverityDeny, Title: id}
}
