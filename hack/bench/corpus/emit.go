package corpus

import (
	"encoding/json"
	"strconv"
	"strings"
)

// M is a map whose keys keep the order they were added in, so that the
// generated manifests read like what helm and kubectl write (apiVersion,
// kind, metadata, spec) rather than sorted keys.
type M []F

// F is one field of an M.
type F struct {
	K string
	V any
}

// L is a sequence.
type L []any

// Get returns the value of key k, or nil.
func (m M) Get(k string) any {
	for _, f := range m {
		if f.K == k {
			return f.V
		}
	}
	return nil
}

// writeYAML appends m as a block mapping at the given indent.
func writeYAML(b *strings.Builder, m M, indent int) {
	for _, f := range m {
		b.WriteString(strings.Repeat(" ", indent))
		writeKey(b, f.K)
		b.WriteByte(':')
		writeYAMLValue(b, f.V, indent)
	}
}

// writeYAMLValue writes what follows "key:" or "- ", ending with a newline.
func writeYAMLValue(b *strings.Builder, v any, indent int) {
	switch v := v.(type) {
	case M:
		if len(v) == 0 {
			b.WriteString(" {}\n")
			return
		}
		b.WriteByte('\n')
		writeYAML(b, v, indent+2)
	case L:
		if len(v) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteByte('\n')
		// Sequences sit at the indent of their key, as kubectl and helm
		// charts usually write them.
		writeYAMLSeq(b, v, indent)
	case string:
		if strings.Contains(v, "\n") {
			writeBlockScalar(b, v, indent+2)
			return
		}
		b.WriteByte(' ')
		writeScalar(b, v)
		b.WriteByte('\n')
	default:
		b.WriteByte(' ')
		writeScalar(b, v)
		b.WriteByte('\n')
	}
}

func writeYAMLSeq(b *strings.Builder, l L, indent int) {
	pad := strings.Repeat(" ", indent)
	for _, item := range l {
		b.WriteString(pad)
		b.WriteString("- ")
		switch it := item.(type) {
		case M:
			if len(it) == 0 {
				b.WriteString("{}\n")
				continue
			}
			// The first field shares the line with the dash.
			writeKey(b, it[0].K)
			b.WriteByte(':')
			writeYAMLValue(b, it[0].V, indent+2)
			writeYAML(b, it[1:], indent+2)
		case L:
			b.WriteString("\n")
			writeYAMLSeq(b, it, indent+2)
		default:
			writeScalar(b, it)
			b.WriteByte('\n')
		}
	}
}

func writeBlockScalar(b *strings.Builder, s string, indent int) {
	if strings.HasSuffix(s, "\n") {
		b.WriteString(" |\n")
		s = strings.TrimSuffix(s, "\n")
	} else {
		b.WriteString(" |-\n")
	}
	pad := strings.Repeat(" ", indent)
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" {
			b.WriteString(pad)
			b.WriteString(line)
		}
		b.WriteByte('\n')
	}
}

func writeKey(b *strings.Builder, k string) {
	if plain(k) {
		b.WriteString(k)
		return
	}
	b.WriteString(strconv.Quote(k))
}

func writeScalar(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		if plain(v) {
			b.WriteString(v)
		} else {
			// The generator only produces printable ASCII, for which Go's
			// quoting is also valid YAML (and JSON) double-quoted style.
			b.WriteString(strconv.Quote(v))
		}
	case int:
		b.WriteString(strconv.Itoa(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	default:
		panic("corpus: unsupported scalar type")
	}
}

// plain reports whether s can be written unquoted and still read back as
// the same string: a conservative subset of YAML plain scalars.
func plain(s string) bool {
	if s == "" {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~":
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '/' || c == '$') {
			return false
		}
	}
	return true
}

// writeJSON appends v indented by two spaces per level, as kubectl -o json does.
func writeJSON(b *strings.Builder, v any, indent int) {
	switch v := v.(type) {
	case M:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, f := range v {
			b.WriteString(strings.Repeat(" ", indent+2))
			writeJSONString(b, f.K)
			b.WriteString(": ")
			writeJSON(b, f.V, indent+2)
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat(" ", indent))
		b.WriteByte('}')
	case L:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, item := range v {
			b.WriteString(strings.Repeat(" ", indent+2))
			writeJSON(b, item, indent+2)
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat(" ", indent))
		b.WriteByte(']')
	case string:
		writeJSONString(b, v)
	default:
		writeScalar(b, v)
	}
}

func writeJSONString(b *strings.Builder, s string) {
	out, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	b.Write(out)
}
