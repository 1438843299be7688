package lint

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/nsguard/nsguard/internal/ansi"
)

// textFormatter writes findings grouped by file, one per line as
// "file:line: severity rule: message (Kind namespace/name)", a fix on the
// line below when the rule gives one, and a summary.
type textFormatter struct {
	color bool
}

func (t *textFormatter) paint(code, s string) string { return ansi.Paint(t.color, code, s) }

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
			sev = t.paint(ansi.Bold+ansi.Red, sev)
		case SeverityWarn:
			sev = t.paint(ansi.Yellow, sev)
		}
		obj := objectName(f.Kind, f.ObjectNamespace, f.Name)
		fmt.Fprintf(bw, "%s: %s %s: %s %s\n", t.paint(ansi.Bold, fmt.Sprintf("%s:%d", displayFile(f.File), f.Line)),
			sev, t.paint(ansi.Bold, f.Rule), oneLine(f.Summary), t.paint(ansi.Dim, "("+obj+")"))
		fmt.Fprintf(bw, "    %s\n", oneLine(f.Message))
		for _, c := range f.Commands {
			fmt.Fprintf(bw, "    fix: %s\n", c)
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
		summary += ", " + t.paint(ansi.Red, plural(c.Errors, "input error"))
	}
	switch {
	case c.Deny > 0:
		summary = t.paint(ansi.Bold+ansi.Red, "✗ ") + summary
	case c.Findings > 0 || c.Errors > 0:
		summary = t.paint(ansi.Yellow, "! ") + summary
	default:
		summary = t.paint(ansi.Green, "✓ ") + summary
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
