package policies

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/nsguard/nsguard/actions"
	"github.com/nsguard/nsguard/inventory"
)

// MaxSummary is the longest Finding.Summary, in characters: the API server
// keeps admission warnings short, and kubectl prints one per line.
const MaxSummary = 120

// Finding is one result of a rule.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"` // deny | warn
	// Summary is one line of at most MaxSummary characters that names the
	// object and the blocker (admission warnings show it).
	Summary string `json:"summary"`
	// Message says what blocks, why, and what to do, in one or two
	// sentences.
	Message string `json:"message"`
	// Actions are the typed steps that fix it, in order; people see them
	// rendered as kubectl commands (actions.Command).
	Actions []actions.Action    `json:"actions,omitempty"`
	Object  inventory.ObjectRef `json:"object"`
	// Namespace is the namespace whose deletion is affected.
	Namespace string `json:"namespace,omitempty"`
	// Waiver is the reason of the object's ignore.nsguard.io/<rule>
	// annotation (EvaluateWithWaivers only).
	Waiver string `json:"waiver,omitempty"`

	// pending are the actions as the rule gave them, resolved against the
	// snapshot by resolveActions.
	pending []ruleAction
}

// Concerns tells whether the finding is about the deletion of namespace
// ns: the namespace whose deletion it affects is ns, or every namespace
// (""), or, failing that, the object lives in ns.
func (f Finding) Concerns(ns string) bool {
	if f.Namespace != "" {
		return f.Namespace == ns
	}
	return f.Object.Namespace == "" || f.Object.Namespace == ns
}

// Commands renders the finding's actions as kubectl commands.
func (f Finding) Commands() []string {
	cmds, _ := actions.Commands(f.Actions)
	return cmds
}

// ruleAction is an action as a rule returns it: a type, the object it
// applies to (a ref from input.objects), and the type's parameters.
type ruleAction struct {
	typ           actions.Type
	object        *inventory.ObjectRef
	finalizer     string
	webhook       string
	failurePolicy string
	replicas      *int32
	reason        string
}

// firstSentence derives a summary from a message for rules that give none:
// its first sentence, cut at MaxSummary characters.
func firstSentence(msg string) string {
	s := strings.Join(strings.Fields(msg), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	return truncate(s, MaxSummary)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ,;:") + "…"
}

// parseActions reads a finding's "actions": an array of objects with a
// type, an object (a ref, or the object itself) and the type's parameters.
func parseActions(r *Rule, t *ast.Term) ([]ruleAction, error) {
	arr, ok := t.Value.(*ast.Array)
	if !ok {
		if set, isSet := t.Value.(ast.Set); isSet {
			arr = set.Sorted()
		} else {
			return nil, fmt.Errorf("rule %s (%s): actions must be an array of objects, got %v", r.ID, r.File, ast.TypeName(t.Value))
		}
	}
	out := make([]ruleAction, 0, arr.Len())
	var err error
	arr.Foreach(func(at *ast.Term) {
		if err != nil {
			return
		}
		obj, ok := at.Value.(ast.Object)
		if !ok {
			err = fmt.Errorf("rule %s (%s): an action must be an object, got %v", r.ID, r.File, at)
			return
		}
		var a ruleAction
		typ, _ := stringField(obj, "type")
		if a.typ, err = actions.ParseType(typ); err != nil {
			err = fmt.Errorf("rule %s (%s): %w", r.ID, r.File, err)
			return
		}
		if o := obj.Get(ast.StringTerm("object")); o != nil {
			ref, ok := refValue(o)
			if !ok {
				err = fmt.Errorf("rule %s (%s): action object must be an object's ref, got %v", r.ID, r.File, o)
				return
			}
			a.object = &ref
		} else {
			err = fmt.Errorf("rule %s (%s): action %s has no object", r.ID, r.File, a.typ)
			return
		}
		a.finalizer, _ = stringField(obj, "finalizer")
		a.webhook, _ = stringField(obj, "webhook")
		a.failurePolicy, _ = stringField(obj, "failurePolicy")
		a.reason, _ = stringField(obj, "reason")
		if rt := obj.Get(ast.StringTerm("replicas")); rt != nil {
			n, ok := rt.Value.(ast.Number)
			i, convErr := json.Number(n).Int64()
			if !ok || convErr != nil || i < 0 || i > 1<<20 {
				err = fmt.Errorf("rule %s (%s): action replicas must be a small non-negative integer, got %v", r.ID, r.File, rt)
				return
			}
			v := int32(i)
			a.replicas = &v
		}
		for _, k := range obj.Keys() {
			switch s, _ := k.Value.(ast.String); string(s) {
			case "type", "object", "finalizer", "webhook", "failurePolicy", "replicas", "reason":
			default:
				err = fmt.Errorf("rule %s (%s): action %s has an unknown field %v (actions are typed: no commands)", r.ID, r.File, a.typ, k)
				return
			}
		}
		out = append(out, a)
	})
	return out, err
}

// refValue reads an object's ref, or the ref of a whole object.
func refValue(t *ast.Term) (inventory.ObjectRef, bool) {
	ref, ok := t.Value.(ast.Object)
	if !ok {
		return inventory.ObjectRef{}, false
	}
	if inner := ref.Get(ast.StringTerm("ref")); inner != nil {
		if io, ok := inner.Value.(ast.Object); ok {
			ref = io
		}
	}
	return toRef(ref), true
}

// resolveActions turns the rules' actions into complete, validated
// actions: the object's resource, version and UID from the snapshot, the
// index of a finalizer or a webhook. An action that does not apply to the
// snapshot (the finalizer is not on the object, a name nsguard would not
// put in a command) is left out, and the finding's message says so.
func resolveActions(s *inventory.Snapshot, f *Finding) {
	for _, ra := range f.pending {
		a, err := resolveAction(s, ra)
		if err == nil {
			err = a.Validate()
		}
		if err != nil {
			f.Message += fmt.Sprintf(" (No action offered: %v.)", err)
			continue
		}
		f.Actions = append(f.Actions, a)
	}
	f.pending = nil
}

func resolveAction(s *inventory.Snapshot, ra ruleAction) (actions.Action, error) {
	ref := *ra.object
	var obj *inventory.Object
	if ref.ID >= 0 && ref.ID < len(s.Objects) {
		obj = s.Objects[ref.ID]
		ref = obj.Ref
	}
	uid := ""
	if obj != nil {
		uid = obj.Metadata.UID
	}
	a := actions.Action{
		Type:          ra.typ,
		Target:        actions.TargetOf(ref, uid),
		Finalizer:     ra.finalizer,
		Webhook:       ra.webhook,
		FailurePolicy: ra.failurePolicy,
		Replicas:      ra.replicas,
		Reason:        ra.reason,
	}
	switch a.Type {
	case actions.DeleteAll:
		a.Target.Name, a.Target.UID = "", ""
	case actions.RemoveFinalizer:
		if obj == nil {
			return a, fmt.Errorf("%s: the object is not in the snapshot", a.Type)
		}
		a.Index = indexOf(obj.Metadata.Finalizers, a.Finalizer)
		if a.Index < 0 {
			return a, fmt.Errorf("%s does not carry finalizer %s", a.Target, a.Finalizer)
		}
	case actions.PatchWebhookFailurePolicy:
		if obj == nil {
			return a, fmt.Errorf("%s: the configuration is not in the snapshot", a.Type)
		}
		if a.FailurePolicy == "" {
			a.FailurePolicy = "Ignore"
		}
		a.Index = webhookIndex(obj, a.Webhook)
		if a.Index < 0 {
			return a, fmt.Errorf("%s has no webhook %s", a.Target, a.Webhook)
		}
	}
	return a, nil
}

func indexOf(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

func webhookIndex(o *inventory.Object, name string) int {
	whs, _ := o.Body["webhooks"].([]any)
	for i, w := range whs {
		if m, ok := w.(map[string]any); ok && m["name"] == name {
			return i
		}
	}
	return -1
}
