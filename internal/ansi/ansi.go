// Package ansi colours terminal text for the text reports of lint and
// diagnose.
package ansi

// SGR codes the reports use.
const (
	Reset  = "\x1b[0m"
	Bold   = "\x1b[1m"
	Dim    = "\x1b[2m"
	Red    = "\x1b[31m"
	Green  = "\x1b[32m"
	Yellow = "\x1b[33m"
)

// Paint wraps s in code when on; otherwise it returns s as it is.
func Paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + Reset
}
