package lint

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// textFormatter writes findings grouped by file, one per line as
// "file:line: severity rule: message (Kind namespace/name)", a fix on the
// line below when the rule gives one, and a summary.
type textFormatter struct {
	color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
	ansiGreen  = "\x1b[32m"
)

func (t *textFormatter) paint(code, s string) string {
	if !t.color {
		return s
	}
	return code + s + ansiReset
}

func (t *textFormatter) Format(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	prev := "\x00"
	for _, f := range r.Findings {
		if f.File != prev {
			if prev != "\x00" {
				bw.WriteByte('\n')
			}
			prev = f.File
		}
		sev := f.Severity
		switch sev {
		case SeverityDeny:
			sev = t.paint(ansiBold+ansiRed, sev)
		case SeverityWarn:
			sev = t.paint(ansiYellow, sev)
		}
		obj := objectName(f.Kind, f.ObjectNamespace, f.Name)
		fmt.Fprintf(bw, "%s: %s %s: %s %s\n", t.paint(ansiBold, fmt.Sprintf("%s:%d", displayFile(f.File), f.Line)),
			sev, t.paint(ansiBold, f.Rule), oneLine(f.Message), t.paint(ansiDim, "("+obj+")"))
		if f.Fix != "" {
			fmt.Fprintf(bw, "    fix: %s\n", f.Fix)
		}
	}
	c := r.Counts()
	if c.Findings > 0 {
		bw.WriteByte('\n')
	}
	summary := fmt.Sprintf("No findings in %s, %s", plural(c.Objects, "object"), plural(c.Files, "file"))
	if c.Findings > 0 {
		summary = fmt.Sprintf("%s (%d deny, %d warn) in %s, %s", plural(c.Findings, "finding"), c.Deny, c.Warn, plural(c.Objects, "object"), plural(c.Files, "file"))
	}
	if c.Errors > 0 {
		summary += ", " + t.paint(ansiRed, plural(c.Errors, "input error"))
	}
	switch {
	case c.Deny > 0:
		summary = t.paint(ansiBold+ansiRed, "✗ ") + summary
	case c.Findings > 0 || c.Errors > 0:
		summary = t.paint(ansiYellow, "! ") + summary
	default:
		summary = t.paint(ansiGreen, "✓ ") + summary
	}
	fmt.Fprintln(bw, summary)
	return bw.Flush()
}

// oneLine keeps a message on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
