package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nsguard/nsguard/internal/ansi"
	"github.com/nsguard/nsguard/policies"
)

// Renderer writes a report in one output format.
type Renderer interface {
	Render(w io.Writer, r *Report) error
}

// Formats are the output formats NewRenderer knows.
var Formats = []string{"text", "json"}

// NewRenderer returns the renderer of a format; color applies to text only
// (the caller decides: a terminal, and NO_COLOR unset). An unknown format is
// an error, never a fallback.
func NewRenderer(format string, color bool) (Renderer, error) {
	switch format {
	case "text":
		return &TextRenderer{Color: color, MaxCommands: 10, Width: 100}, nil
	case "json":
		return JSONRenderer{}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want %s)", format, strings.Join(Formats, " or "))
}

// JSONRenderer writes the report as indented JSON.
type JSONRenderer struct{}

// Render implements Renderer.
func (JSONRenderer) Render(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// TextRenderer writes the report for people: sections, aligned columns,
// colour only when asked.
type TextRenderer struct {
	Color bool
	// MaxCommands is how many commands of one step are printed; the JSON
	// output has them all.
	MaxCommands int
	// Width is where long explanations wrap.
	Width int
}

func (t *TextRenderer) paint(code, s string) string { return ansi.Paint(t.Color, code, s) }

func (t *TextRenderer) heading(w io.Writer, s string) {
	fmt.Fprintf(w, "\n%s\n", t.paint(ansi.Bold, s))
}

// Render implements Renderer.
func (t *TextRenderer) Render(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	t.header(ew, r)
	t.conditions(ew, r)
	t.rootCause(ew, r)
	t.objects(ew, r)
	t.finalizers(ew, r)
	t.findings(ew, r)
	t.plan(ew, r)
	t.incomplete(ew, r)
	return ew.err
}

func (t *TextRenderer) header(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Namespace\t%s\n", t.paint(ansi.Bold, r.Namespace))
	state := r.State
	if r.State == StateTerminating {
		state = t.paint(ansi.Yellow, r.State)
		if r.DeletionTimestamp != "" {
			state += fmt.Sprintf(" for %s (deletion requested %s)", humanDuration(time.Duration(r.TerminatingSeconds)*time.Second), r.DeletionTimestamp)
		}
	}
	fmt.Fprintf(tw, "State\t%s\n", state)
	if r.KubeVersion != "" {
		fmt.Fprintf(tw, "Kubernetes\t%s\n", r.KubeVersion)
	}
	fmt.Fprintf(tw, "Checked\t%s in the namespace, across %s\n", plural(r.ObjectsInNamespace, "object"), plural(r.ResourceTypes, "resource type"))
	deny, warn := countSeverities(r.Findings)
	var verdict string
	switch {
	case deny > 0 && r.State == StateTerminating:
		verdict = t.paint(ansi.Red, "BLOCKED") + fmt.Sprintf(": it hangs (%s)", plural(deny, "blocking finding"))
	case deny > 0:
		verdict = t.paint(ansi.Red, "WOULD BLOCK") + fmt.Sprintf(": deleting it now would hang (%s)", plural(deny, "blocking finding"))
	case r.State == StateTerminating:
		verdict = t.paint(ansi.Green, "NOT BLOCKED") + ": no rule finds anything that holds it up"
	default:
		verdict = t.paint(ansi.Green, "OK") + ": nothing would block its deletion"
	}
	if warn > 0 {
		if strings.HasSuffix(verdict, ")") {
			verdict = strings.TrimSuffix(verdict, ")") + ", " + plural(warn, "warning") + ")"
		} else {
			verdict += fmt.Sprintf(" (%s)", plural(warn, "warning"))
		}
	}
	if !r.Complete {
		verdict += t.paint(ansi.Yellow, " — incomplete, see the end")
	}
	fmt.Fprintf(tw, "Verdict\t%s\n", verdict)
	tw.Flush()
}

func (t *TextRenderer) conditions(w io.Writer, r *Report) {
	if len(r.Conditions) == 0 {
		return
	}
	t.heading(w, "Conditions")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Conditions {
		status := c.Status
		if c.Status == "True" {
			status = t.paint(ansi.Yellow, status)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Type, status, c.Reason, c.Message)
	}
	tw.Flush()
}

func (t *TextRenderer) rootCause(w io.Writer, r *Report) {
	if len(r.RootCause) == 0 {
		return
	}
	t.heading(w, "Root cause")
	for _, c := range r.RootCause {
		t.wrap(w, "  - ", "    ", c)
	}
}

func (t *TextRenderer) objects(w io.Writer, r *Report) {
	if len(r.Objects) == 0 {
		return
	}
	t.heading(w, fmt.Sprintf("Objects with finalizers (%d)", len(r.Objects)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, o := range r.Objects {
		if i == 50 {
			fmt.Fprintf(tw, "  … and %d more (all in -o json)\n", len(r.Objects)-i)
			break
		}
		fins := append([]string(nil), o.Finalizers...)
		for _, f := range o.SpecFinalizers {
			fins = append(fins, f+" (spec)")
		}
		fmt.Fprintf(tw, "  %s/%s\t%s", o.Object.GroupResource(), o.Object.Name, strings.Join(fins, ", "))
		if o.DeletionTimestamp != "" {
			fmt.Fprintf(tw, "\tdeleting since %s", o.DeletionTimestamp)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func (t *TextRenderer) finalizers(w io.Writer, r *Report) {
	if len(r.Finalizers) == 0 {
		return
	}
	t.heading(w, "Finalizers and their controllers")
	for _, f := range r.Finalizers {
		fmt.Fprintf(w, "  %s on %s (%s)\n", t.paint(ansi.Bold, f.Name), countObjects(f.Objects), kindsList(f.Kinds))
		if f.HandledBy != "" {
			fmt.Fprintf(w, "    handled by  %s\n", f.HandledBy)
		}
		if f.Protects != "" {
			fmt.Fprintf(w, "    protects    %s\n", f.Protects)
		}
		if len(f.Controllers) == 0 {
			fmt.Fprintf(w, "    controller  none found\n")
		}
		for _, c := range f.Controllers {
			where := ""
			if c.InNamespace {
				where = ", in this namespace"
			}
			fmt.Fprintf(w, "    controller  %s %s/%s (%s, via %s%s)\n", c.Workload.Kind, c.Workload.Namespace, c.Workload.Name,
				t.liveness(c.Liveness), strings.Join(c.Via, "+"), where)
			for _, e := range c.Evidence {
				t.wrap(w, "                  · ", "                    ", e)
			}
		}
		fmt.Fprintf(w, "    liveness    %s\n", t.liveness(f.Liveness))
		for _, e := range f.Evidence {
			t.wrap(w, "                  · ", "                    ", e)
		}
		t.wrap(w, "    removal     ", "                ", t.verdict(f.Removal)+": "+f.RemovalReason)
	}
}

func (t *TextRenderer) findings(w io.Writer, r *Report) {
	if len(r.Findings) == 0 {
		return
	}
	t.heading(w, fmt.Sprintf("Findings (%d)", len(r.Findings)))
	for _, g := range groupFindings(r.Findings) {
		f := g.first
		sev := strings.ToUpper(f.Severity)
		if f.Severity == policies.SeverityDeny {
			sev = t.paint(ansi.Red, sev)
		} else {
			sev = t.paint(ansi.Yellow, sev)
		}
		obj := f.Object.GroupKind() + " "
		if f.Object.Namespace != "" {
			obj += f.Object.Namespace + "/"
		}
		obj += f.Object.Name
		if len(g.objects) > 1 {
			obj += fmt.Sprintf(" and %d more like it", len(g.objects)-1)
		}
		fmt.Fprintf(w, "  %s  %s  %s\n", sev, f.Rule, obj)
		t.wrap(w, "        ", "        ", f.Message)
		if len(g.objects) > 1 {
			t.wrap(w, "        ", "        ", t.paint(ansi.Dim, "The same for "+g.others(t.maxObjects())+" (all in -o json)."))
		}
	}
}

// maxObjects is how many objects a grouped finding names beyond its first.
func (t *TextRenderer) maxObjects() int {
	if t.MaxCommands > 0 {
		return t.MaxCommands
	}
	return 10
}

func (t *TextRenderer) plan(w io.Writer, r *Report) {
	if len(r.Plan) == 0 {
		return
	}
	t.heading(w, "Fix plan (in this order)")
	for i, st := range r.Plan {
		t.wrap(w, fmt.Sprintf("  %d. [%s] ", i+1, t.verdict(st.Safety)), "     ", st.Title)
		if st.Why != "" {
			t.wrap(w, "     ", "     ", t.paint(ansi.Dim, st.Why))
		}
		for j, c := range st.Commands {
			if t.MaxCommands > 0 && j == t.MaxCommands {
				fmt.Fprintf(w, "       … and %d more commands (all in -o json)\n", len(st.Commands)-j)
				break
			}
			fmt.Fprintf(w, "       $ %s\n", c)
		}
	}
	var unsafe []string
	for _, f := range r.Finalizers {
		if f.Removal == RemovalUnsafe || f.Removal == RemovalNever {
			unsafe = append(unsafe, fmt.Sprintf("%s (%s): %s", f.Name, f.Removal, f.RemovalReason))
		}
	}
	if len(unsafe) > 0 {
		t.heading(w, "Do not remove these finalizers by hand")
		for _, u := range unsafe {
			t.wrap(w, "  - ", "    ", u)
		}
	}
}

func (t *TextRenderer) incomplete(w io.Writer, r *Report) {
	if r.Complete {
		return
	}
	t.heading(w, t.paint(ansi.Yellow, "Incomplete: this report may miss causes"))
	for _, s := range r.Incomplete {
		t.wrap(w, "  - ", "    ", s)
	}
}

func (t *TextRenderer) liveness(l string) string {
	switch l {
	case "alive":
		return t.paint(ansi.Green, l)
	case "absent", "down":
		return t.paint(ansi.Red, l)
	}
	return t.paint(ansi.Yellow, l)
}

func (t *TextRenderer) verdict(v string) string {
	switch v {
	case SafetySafe:
		return t.paint(ansi.Green, v)
	case SafetyCaution:
		return t.paint(ansi.Yellow, v)
	}
	return t.paint(ansi.Red, v)
}

// wrap writes s after first, wrapping at t.Width with rest as the indent of
// the following lines. Colour codes are not counted (they only wrap a whole
// string here).
func (t *TextRenderer) wrap(w io.Writer, first, rest, s string) {
	width := t.Width
	if width <= 0 {
		fmt.Fprintf(w, "%s%s\n", first, s)
		return
	}
	line := first
	lineLen := visibleLen(first)
	start := true
	for _, word := range strings.Fields(s) {
		wl := visibleLen(word)
		if !start && lineLen+1+wl > width {
			fmt.Fprintln(w, line)
			line, lineLen, start = rest, len(rest), true
		}
		if !start {
			line += " "
			lineLen++
		}
		line += word
		lineLen += wl
		start = false
	}
	fmt.Fprintln(w, line)
}

// visibleLen is the printed width of s, without ANSI escapes.
func visibleLen(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case r == '\x1b':
			esc = true
		case esc:
			if r == 'm' {
				esc = false
			}
		default:
			n++
		}
	}
	return n
}

func countSeverities(fs []policies.Finding) (deny, warn int) {
	for _, f := range fs {
		if f.Severity == policies.SeverityDeny {
			deny++
		} else {
			warn++
		}
	}
	return deny, warn
}

// kindsList names a finalizer's kinds on its line, a few of them when there
// are many (-o json has them all).
func kindsList(kinds []string) string {
	const max = 3
	if len(kinds) <= max+1 {
		return strings.Join(kinds, ", ")
	}
	return fmt.Sprintf("%d kinds: %s and %d more", len(kinds), strings.Join(kinds[:max], ", "), len(kinds)-max)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// humanDuration prints a duration the way kubectl's AGE column does.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// errWriter keeps the first write error, so Render checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, nil
}
