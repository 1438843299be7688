package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// jsonValue is one top-level JSON value of an input and the line it starts on.
type jsonValue struct {
	value any
	line  int
	// items holds the line of each element of the value's "items" array
	// (kind: List), in order; nil when the value has none.
	itemLines []int
}

// readJSON decodes a stream of JSON values (one object, a List, a top-level
// array of objects, or several concatenated values as kubectl accepts). A
// syntax error ends the file: JSON has no document markers to resume at.
func readJSON(data []byte) ([]jsonValue, *lineError) {
	data = bytes.TrimPrefix(data, bom)
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []jsonValue
	for {
		start := skipSpace(data, int(dec.InputOffset()))
		if start >= len(data) {
			return out, nil
		}
		if data[start] == '[' {
			// A bare array of objects.
			if _, err := dec.Token(); err != nil {
				return out, jsonError(err, lines, start)
			}
			for dec.More() {
				at := skipSpaceComma(data, int(dec.InputOffset()))
				v, err := decodeJSONValue(dec, data, at)
				if err != nil {
					return out, jsonError(err, lines, at)
				}
				out = append(out, jsonValue{value: v.value, line: lines.line(at), itemLines: v.itemLines(lines)})
			}
			if _, err := dec.Token(); err != nil {
				return out, jsonError(err, lines, int(dec.InputOffset()))
			}
			continue
		}
		v, err := decodeJSONValue(dec, data, start)
		if err != nil {
			return out, jsonError(err, lines, start)
		}
		out = append(out, jsonValue{value: v.value, line: lines.line(start), itemLines: v.itemLines(lines)})
	}
}

type decodedJSON struct {
	value any
	// raw is the value's text, kept only for values with an items array.
	raw   []byte
	start int
}

func (d decodedJSON) itemLines(lines lineIndex) []int {
	if d.raw == nil {
		return nil
	}
	offs := jsonItemOffsets(d.raw)
	if offs == nil {
		return nil
	}
	out := make([]int, len(offs))
	for i, o := range offs {
		out[i] = lines.line(d.start + o)
	}
	return out
}

func decodeJSONValue(dec *json.Decoder, data []byte, start int) (decodedJSON, error) {
	var v any
	if err := dec.Decode(&v); err != nil {
		return decodedJSON{}, err
	}
	v = normalizeNumbers(v)
	d := decodedJSON{value: v, start: start}
	if m, ok := v.(map[string]any); ok {
		if _, ok := m["items"].([]any); ok {
			end := int(dec.InputOffset())
			d.raw = data[start:end]
		}
	}
	return d, nil
}

// jsonItemOffsets returns the offset in raw (one JSON object) of each element
// of its top-level "items" array.
func jsonItemOffsets(raw []byte) []int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var offs []int
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		if key != "items" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		offs = offs[:0]
		for dec.More() {
			offs = append(offs, skipSpaceComma(raw, int(dec.InputOffset())))
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil
		}
	}
	return offs
}

// normalizeNumbers replaces json.Number with int64 when the number is an
// integer that fits, float64 otherwise, so JSON and YAML inputs give the
// same types.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			return string(x)
		}
		return f
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case json.Number, map[string]any, []any:
				x[k] = normalizeNumbers(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

func jsonError(err error, lines lineIndex, at int) *lineError {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &lineError{line: lines.line(int(syn.Offset) - 1), msg: fmt.Sprintf("invalid JSON: %v", syn)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &lineError{line: lines.line(len(lines.data) - 1), msg: "invalid JSON: unexpected end of input"}
	}
	return &lineError{line: lines.line(at), msg: fmt.Sprintf("invalid JSON: %v", err)}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

func skipSpaceComma(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n', ',':
			i++
		default:
			return i
		}
	}
	return i
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex struct {
	data   []byte
	starts []int // offset of the first byte of each line
}

func newLineIndex(data []byte) lineIndex {
	starts := make([]int, 1, bytes.Count(data, []byte{'\n'})+1)
	for i := 0; ; {
		n := bytes.IndexByte(data[i:], '\n')
		if n < 0 {
			break
		}
		i += n + 1
		starts = append(starts, i)
	}
	return lineIndex{data: data, starts: starts}
}

func (l lineIndex) line(off int) int {
	if off < 0 {
		off = 0
	}
	// The last line start at or before off.
	lo, hi := 0, len(l.starts)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if l.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}
