package lint

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
)

// junitFormatter writes JUnit XML: a testsuite per file, a testcase per
// object without findings (passing), a failing testcase per finding
// (failure type = severity), and an erroring testcase per input error.
type junitFormatter struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func (junitFormatter) Format(w io.Writer, r *Report) error {
	suites := map[string]*junitSuite{}
	var order []string
	suite := func(file string) *junitSuite {
		name := displayFile(file)
		s, ok := suites[name]
		if !ok {
			s = &junitSuite{Name: name}
			suites[name] = s
			order = append(order, name)
		}
		return s
	}
	for _, f := range r.Files {
		suite(f)
	}
	// Objects with findings get one failing case per finding; the others
	// pass.
	type key struct {
		file string
		line int
		kind string
		name string
	}
	flagged := map[key]bool{}
	for _, f := range r.Findings {
		flagged[key{f.File, f.Line, f.Kind, f.Name}] = true
	}
	cases := map[*junitSuite][]junitCase{}
	for _, o := range r.Objects {
		if flagged[key{o.File, o.Line, o.Kind, o.Name}] {
			continue
		}
		s := suite(o.File)
		cases[s] = append(cases[s], junitCase{Name: objectName(o.Kind, o.Namespace, o.Name), Classname: displayFile(o.File), File: o.File, Line: o.Line})
	}
	for _, f := range r.Findings {
		s := suite(f.File)
		text := fmt.Sprintf("%s:%d: %s", displayFile(f.File), f.Line, f.Message)
		for _, c := range f.Commands {
			text += "\nfix: " + c
		}
		cases[s] = append(cases[s], junitCase{
			Name:      f.Rule + ": " + objectName(f.Kind, f.ObjectNamespace, f.Name),
			Classname: displayFile(f.File),
			File:      f.File,
			Line:      f.Line,
			Failure:   &junitProblem{Message: oneLine(f.Summary), Type: f.Severity, Text: text},
		})
		s.Failures++
	}
	for _, e := range r.Errors {
		s := suite(e.File)
		cases[s] = append(cases[s], junitCase{
			Name:      "read " + e.File,
			Classname: displayFile(e.File),
			File:      e.File,
			Line:      e.Line,
			Error:     &junitProblem{Message: e.Msg, Type: "input", Text: e.Error()},
		})
		s.Errors++
	}
	out := junitSuites{Name: r.Tool.Name}
	for _, name := range order {
		s := suites[name]
		s.Cases = cases[s]
		// In file order, as a reader goes through the file.
		slices.SortStableFunc(s.Cases, func(a, b junitCase) int { return cmp.Compare(a.Line, b.Line) })
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, *s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
