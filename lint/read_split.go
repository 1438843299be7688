package lint

import (
	"bytes"
)

// document is one YAML document of an input, still unparsed: its bytes and
// the 1-based line of its first byte in the file. Splitting a file into
// documents before parsing lets a syntax error in one document leave the
// others readable, and lets the documents of one big file be parsed in
// parallel.
type document struct {
	data []byte
	line int
}

var (
	docStart = []byte("\n---")
	docEnd   = []byte("\n...")
	bom      = []byte("\xef\xbb\xbf")
)

// splitYAML cuts a YAML stream at its document markers. YAML forbids a
// "---" or "..." followed by a blank at the start of a line anywhere inside a
// document (even inside block scalars), so a marker at column 0 always ends
// the document before it; this split is exact, not a heuristic.
//
// A "---" line stays with the document it opens (it may carry content or a
// tag); a "..." line stays with the document it closes. Leading directives
// ("%YAML 1.2") stay with the document that follows them.
func splitYAML(data []byte) []document {
	data = bytes.TrimPrefix(data, bom)
	var docs []document
	f := &markerFinder{data: data, dash: -1, dot: -1}
	start, startLine := 0, 1 // the document being collected
	pos, line := 0, 1        // a line start and its number
	for {
		var at int
		var kind byte
		if pos == 0 && (isMarker(data, 0, '-') || isMarker(data, 0, '.')) {
			at, kind = 0, data[0]
		} else {
			// Search from the newline before pos so that a marker on the
			// line at pos is found too.
			at, kind = f.next(max(pos-1, 0))
		}
		if at < 0 {
			break
		}
		line += bytes.Count(data[pos:at], []byte{'\n'})
		end := lineEnd(data, at)
		switch kind {
		case '-':
			if at > start && !onlyDirectives(data[start:at]) {
				docs = appendDoc(docs, data[start:at], startLine)
				start, startLine = at, line
			} else if at == start {
				startLine = line
			}
			// else: directives stay with the document they introduce.
		case '.':
			docs = appendDoc(docs, data[start:end], startLine)
			start, startLine = end, line+1
		}
		pos, line = end, line+1
		if end == len(data) {
			break
		}
	}
	return appendDoc(docs, data[start:], startLine)
}

func appendDoc(docs []document, b []byte, line int) []document {
	if len(b) == 0 {
		return docs
	}
	return append(docs, document{data: b, line: line})
}

// markerFinder finds document markers at line starts. It remembers where
// the next "\n-" and "\n." are so that a file without "..." lines is not
// rescanned for them at every "---".
type markerFinder struct {
	data      []byte
	dash, dot int // offset of the next candidate, -1 when none is left
	dashDone  bool
	dotDone   bool
}

func (f *markerFinder) find(from int, pat []byte, cached *int, done *bool) int {
	if *done {
		return -1
	}
	if *cached >= from {
		return *cached
	}
	i := bytes.Index(f.data[from:], pat)
	if i < 0 {
		*done = true
		return -1
	}
	*cached = from + i
	return *cached
}

// next returns the offset of the next line at or after from+1 that starts
// with a document marker, and which marker it is.
func (f *markerFinder) next(from int) (int, byte) {
	for {
		i := f.find(from, docStart, &f.dash, &f.dashDone)
		j := f.find(from, docEnd, &f.dot, &f.dotDone)
		if i < 0 && j < 0 {
			return -1, 0
		}
		var at int
		var kind byte
		if j < 0 || (i >= 0 && i < j) {
			at, kind = i+1, '-'
		} else {
			at, kind = j+1, '.'
		}
		if isMarker(f.data, at, kind) {
			return at, kind
		}
		from = at
	}
}

// isMarker reports whether data[at:] starts with "---" or "..." followed by a
// blank or the end of the line.
func isMarker(data []byte, at int, c byte) bool {
	if len(data)-at < 3 || data[at] != c || data[at+1] != c || data[at+2] != c {
		return false
	}
	if len(data)-at == 3 {
		return true
	}
	switch data[at+3] {
	case ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// lineEnd returns the offset just past the newline ending the line at i.
func lineEnd(data []byte, i int) int {
	if n := bytes.IndexByte(data[i:], '\n'); n >= 0 {
		return i + n + 1
	}
	return len(data)
}

// onlyDirectives reports whether b holds directives and nothing but blank
// lines and comments besides.
func onlyDirectives(b []byte) bool {
	seen := false
	for len(b) > 0 {
		end := bytes.IndexByte(b, '\n')
		var l []byte
		if end < 0 {
			l, b = b, nil
		} else {
			l, b = b[:end], b[end+1:]
		}
		l = bytes.TrimLeft(l, " \t\r")
		switch {
		case len(l) == 0 || l[0] == '#':
		case l[0] == '%':
			seen = true
		default:
			return false
		}
	}
	return seen
}
