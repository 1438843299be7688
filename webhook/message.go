package webhook

import (
	"fmt"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/policies"
)

// Limits of what the API server passes on: it keeps warnings short and
// drops them past 4096 characters in all.
const (
	maxWarning       = 120
	maxWarningsTotal = 4096
	// maxBlockers is how many blockers a denial names before "and N more".
	maxBlockers = 5
)

// warnings lists deny findings, then warn findings, then notes, each one
// line within maxWarning, all within maxWarningsTotal.
func warnings(deny, warn []policies.Finding, notes []string) []string {
	var out []string
	total := 0
	add := func(s string) bool {
		s = truncate(oneLine(s), maxWarning)
		if total+len(s) > maxWarningsTotal {
			return false
		}
		total += len(s)
		out = append(out, s)
		return true
	}
	lines := make([]string, 0, len(deny)+len(warn)+len(notes))
	for _, f := range deny {
		lines = append(lines, "deny "+f.Rule+": "+f.Summary)
	}
	for _, f := range warn {
		lines = append(lines, f.Summary)
	}
	lines = append(lines, notes...)
	for i, l := range lines {
		if !add(l) {
			// Say how many did not fit, in the room left if any.
			if len(out) > 0 {
				out[len(out)-1] = truncate(fmt.Sprintf("… and %d more: kubectl nsguard diagnose", len(lines)-i+1), maxWarning)
			}
			break
		}
	}
	return out
}

// denial explains a refused deletion: each blocker (the object, the
// finalizer, the controller and its state, from the findings), the first
// safe step from the plan, and where the full report is.
func denial(steps []diagnose.Step, deny []policies.Finding, ns *corev1.Namespace, req Request, c *Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "nsguard: deleting namespace %s now would leave it stuck in Terminating:", ns.Name)
	for i, f := range deny {
		if i == maxBlockers {
			fmt.Fprintf(&b, "\n- and %d more", len(deny)-i)
			break
		}
		fmt.Fprintf(&b, "\n- %s [%s]", oneLine(f.Message), f.Rule)
	}
	if step, cmd := firstStep(steps); cmd != "" {
		fmt.Fprintf(&b, "\nFirst safe step: %s\n  %s", step, cmd)
	}
	fmt.Fprintf(&b, "\nFull report and plan: kubectl nsguard diagnose %s", ns.Name)
	if strings.TrimSpace(ns.Annotations[BreakGlassAnnotation]) != "" {
		if len(c.BreakGlass.Groups) == 0 {
			fmt.Fprintf(&b, "\nThe %s annotation changes nothing: no break-glass group is configured.", BreakGlassAnnotation)
		} else {
			fmt.Fprintf(&b, "\nThe %s annotation lets only members of %s through; %s is not one.", BreakGlassAnnotation, strings.Join(c.BreakGlass.Groups, ", "), req.User)
		}
	}
	return b.String()
}

// firstStep is the plan's first step that changes something and is safe,
// with its first command.
func firstStep(steps []diagnose.Step) (string, string) {
	for _, st := range steps {
		if st.Safety == diagnose.SafetySafe && len(st.Actions) > 0 && len(st.Commands) > 0 {
			return st.Title, st.Commands[len(st.Checks)]
		}
	}
	for _, st := range steps {
		if len(st.Commands) > 0 && st.Safety != diagnose.SafetyUnsafe {
			return st.Title, st.Commands[0]
		}
	}
	return "", ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate cuts s to n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ,;:") + "…"
}
