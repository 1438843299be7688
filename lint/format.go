package lint

import (
	"fmt"
	"io"
	"strings"
)

// Formatter writes a report in one format.
type Formatter interface {
	Format(w io.Writer, r *Report) error
}

// FormatOptions tune formats that support it.
type FormatOptions struct {
	// Color turns on ANSI colours (text only); the caller decides, from
	// whether the output is a terminal and NO_COLOR.
	Color bool
}

// Formats are the names accepted by NewFormatter, in the order help shows.
var Formats = []string{"text", "json", "sarif", "junit"}

// NewFormatter returns the formatter of a format. An unknown name is an
// error: silently falling back to another format would break the tools
// that read the output.
func NewFormatter(name string, opts FormatOptions) (Formatter, error) {
	switch name {
	case "text":
		return &textFormatter{color: opts.Color}, nil
	case "json":
		return jsonFormatter{}, nil
	case "sarif":
		return sarifFormatter{}, nil
	case "junit":
		return junitFormatter{}, nil
	}
	return nil, fmt.Errorf("unknown output format %q: want one of %s", name, strings.Join(Formats, ", "))
}

// objectName is "Kind namespace/name" or "Kind name".
func objectName(kind, namespace, name string) string {
	if namespace != "" {
		return kind + " " + namespace + "/" + name
	}
	return kind + " " + name
}

// displayFile names a finding's file; findings about objects that no file
// holds (rare: a rule pointing at an object outside the bundle) are
// grouped under "(bundle)".
func displayFile(f string) string {
	if f == "" {
		return "(bundle)"
	}
	return f
}
