package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nsguard/nsguard/inventory"
)

// jsonValue is one top-level JSON value of an input. The decoder has
// checked that it is valid JSON; only the parts rules read are decoded
// (see unit.addJSON).
type jsonValue struct {
	raw   []byte
	start int // offset of raw in the input
}

// readJSON splits a stream of JSON values (one object, a List, a top-level
// array of objects, or several concatenated values as kubectl accepts). A
// syntax error ends the file: JSON has no document markers to resume at.
func readJSON(data []byte) ([]jsonValue, lineIndex, *lineError) {
	data = bytes.TrimPrefix(data, bom)
	lines := newLineIndex(data)
	if json.Valid(data) {
		// One value, the common case: validated in one pass and split
		// without decoding it again.
		start := skipSpace(data, 0)
		value := data[start:skipJSON(data, start)]
		if value[0] != '[' {
			return []jsonValue{{raw: value, start: start}}, lines, nil
		}
		var out []jsonValue
		jsonElements(value, func(elem []byte, off int) {
			out = append(out, jsonValue{raw: elem, start: start + off})
		})
		return out, lines, nil
	}
	// Several values, or an error to place.
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []jsonValue
	next := func(start int) error {
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
		out = append(out, jsonValue{raw: data[start:dec.InputOffset()], start: start})
		return nil
	}
	for {
		start := skipSpace(data, int(dec.InputOffset()))
		if start >= len(data) {
			return out, lines, nil
		}
		if data[start] == '[' {
			// A bare array of objects.
			if _, err := dec.Token(); err != nil {
				return out, lines, jsonError(err, lines, start)
			}
			for dec.More() {
				at := skipSpaceComma(data, int(dec.InputOffset()))
				if err := next(at); err != nil {
					return out, lines, jsonError(err, lines, at)
				}
			}
			if _, err := dec.Token(); err != nil {
				return out, lines, jsonError(err, lines, int(dec.InputOffset()))
			}
			continue
		}
		if err := next(start); err != nil {
			return out, lines, jsonError(err, lines, start)
		}
	}
}

// decodeJSON decodes one valid JSON value with integers as int64.
func decodeJSON(raw []byte) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil // cannot happen: readJSON checked the value
	}
	return normalizeNumbers(v)
}

// decodeMasked decodes what mask keeps of raw, a valid JSON value (all of it
// for a nil mask), and skips the rest without decoding it: the containers
// of a pod template, most of a workload's bytes.
func decodeMasked(raw []byte, mask inventory.FieldMask) any {
	if mask == nil {
		return decodeJSON(raw)
	}
	switch raw[0] {
	case '{':
		out := map[string]any{}
		jsonMembers(raw, func(key string, val []byte, _ int) {
			if sub, ok := mask.Child(key); ok {
				out[key] = decodeMasked(val, sub)
			}
		})
		return out
	case '[':
		out := []any{}
		jsonElements(raw, func(elem []byte, _ int) {
			out = append(out, decodeMasked(elem, mask))
		})
		return out
	}
	return decodeJSON(raw)
}

// jsonMembers calls fn with the key, the value and the value's offset of
// each member of obj, a valid JSON object, in order.
func jsonMembers(obj []byte, fn func(key string, val []byte, off int)) {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		end := skipJSONString(obj, i)
		key := string(obj[i+1 : end-1])
		if strings.IndexByte(key, '\\') >= 0 || !utf8.ValidString(key) {
			_ = json.Unmarshal(obj[i:end], &key)
		}
		i = skipSpace(obj, end) + 1 // past the ':'
		i = skipSpace(obj, i)
		vend := skipJSON(obj, i)
		fn(key, obj[i:vend], i)
		i = skipSpaceComma(obj, vend)
	}
}

// jsonElements calls fn with each element of arr, a valid JSON array, and
// its offset.
func jsonElements(arr []byte, fn func(elem []byte, off int)) {
	i := skipSpace(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		end := skipJSON(arr, i)
		fn(arr[i:end], i)
		i = skipSpaceComma(arr, end)
	}
}

// skipJSON returns the end of the valid JSON value that starts at b[i].
func skipJSON(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipJSONString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipJSONString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && !strings.ContainsRune(",]} \t\r\n", rune(b[i])) {
		i++
	}
	return i
}

// skipJSONString returns the end of the valid JSON string that starts at b[i].
func skipJSONString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
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
