package lint

import "fmt"

// Exit codes of nsguard lint.
const (
	ExitOK       = 0 // nothing at or above the --fail-on threshold
	ExitFindings = 1 // findings at or above the threshold
	ExitInput    = 2 // unreadable or malformed input (usage errors too)
)

// FailOn is the lowest severity that fails the run.
type FailOn string

// Thresholds for --fail-on.
const (
	FailOnDeny  FailOn = "deny"
	FailOnWarn  FailOn = "warn"
	FailOnNever FailOn = "never"
)

// ParseFailOn checks a --fail-on value.
func ParseFailOn(s string) (FailOn, error) {
	switch f := FailOn(s); f {
	case FailOnDeny, FailOnWarn, FailOnNever:
		return f, nil
	}
	return "", fmt.Errorf("invalid --fail-on %q: want deny, warn or never", s)
}

// Fails reports whether a finding of the severity fails the run. Unknown
// severities count as deny: a rule that says nothing clear must not pass
// silently.
func (f FailOn) Fails(severity string) bool {
	switch f {
	case FailOnNever:
		return false
	case FailOnWarn:
		return true
	}
	return severity != SeverityWarn
}

// ExitCode is the exit code of a run: input errors first (the report is
// incomplete), then findings at or above the threshold.
func ExitCode(r *Report, failOn FailOn) int {
	if len(r.Errors) > 0 {
		return ExitInput
	}
	for _, f := range r.Findings {
		if failOn.Fails(f.Severity) {
			return ExitFindings
		}
	}
	return ExitOK
}
