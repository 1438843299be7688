package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nsguard/nsguard/inventory"
)

// YAML documents are read with go.yaml.in/yaml/v3. Parsing into nodes
// gives each object its line. The values come from the library's decoder,
// with its checks: a duplicate key anywhere in the document (as when `cat
// a.yaml b.yaml` glues two objects into one mapping), excessive aliasing, a
// bad merge key or tag. A document that fails either step gives errors and
// no objects.
//
// Most documents are plain (see plain): the decoder can refuse nothing in
// them and has no choice to make, so only the fields trimming keeps are
// decoded, as for JSON (inventory.BodyMask); decoding whole objects would
// cost a fifth of the reading time.

// streamShare: a YAML input is read as one stream when it holds at most
// 1/(streamShare × workers) of the input's bytes (see Read).
const streamShare = 4

// streamable reports whether yaml.v3 splits data into the documents
// splitYAML finds, at the same lines: it breaks lines at "\n" only (no
// "\r", NEL, LS or PS, which yaml.v3 also takes for line breaks) and is
// UTF-8 (yaml.v3 reads UTF-16 after its byte order mark).
func streamable(data []byte) bool {
	return bytes.IndexByte(data, '\r') < 0 &&
		!bytes.Contains(data, []byte("\u0085")) && !bytes.Contains(data, []byte("\u2028")) && !bytes.Contains(data, []byte("\u2029")) &&
		!bytes.HasPrefix(data, []byte{0xfe, 0xff}) && !bytes.HasPrefix(data, []byte{0xff, 0xfe})
}

// parseYAMLStreamUnit reads a whole YAML input (see streamable) with one
// decoder, as parseYAMLUnit reads each of its documents. Wherever that
// could read otherwise (a document that fails to parse, that is not plain,
// or that is not an object), it reads the documents one by one instead.
func parseYAMLStreamUnit(u *unit, convert func(map[string]any) (*inventory.Object, error)) {
	if parseYAMLStream(u, convert) {
		return
	}
	u.objects, u.errs = nil, nil
	for _, d := range splitYAML(u.in.data) {
		du := &unit{in: u.in, doc: d}
		parseYAMLUnit(du, convert)
		u.objects = append(u.objects, du.objects...)
		u.errs = append(u.errs, du.errs...)
	}
}

// parseYAMLStream reads the plain documents of u, the whole input, and
// reports whether all of them were plain and read without an error. Node
// lines are the file's: the unit starts at line 1.
func parseYAMLStream(u *unit, convert func(map[string]any) (*inventory.Object, error)) bool {
	data := bytes.TrimPrefix(u.doc.data, bom)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		if err := dec.Decode(&root); errors.Is(err, io.EOF) {
			return true
		} else if err != nil {
			return false
		}
		if root.Kind == 0 || len(root.Content) == 0 {
			continue
		}
		n := root.Content[0]
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			continue
		}
		if !plain(n) {
			return false
		}
		u.addNode(n, defaults{}, 0, convert)
		if len(u.errs) > 0 {
			return false
		}
	}
}

// parseYAMLUnit reads one document (see splitYAML).
func parseYAMLUnit(u *unit, convert func(map[string]any) (*inventory.Object, error)) {
	root, lerr := parseYAMLDocument(u.doc)
	if lerr != nil {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: lerr.line, Msg: lerr.msg})
		return
	}
	if root == nil {
		return
	}
	// yaml.v3 counts a lone "\r" as a line break; positions stay within the
	// lines counted by "\n".
	u.lastLine = u.doc.line + bytes.Count(u.doc.data, []byte{'\n'})
	if plain(root) {
		u.addNode(root, defaults{}, 0, convert)
		return
	}
	timestampsAsText(root)
	var v any
	if err := root.Decode(&v); err != nil {
		u.decodeErrors(err, root)
		return
	}
	u.addValue(v, root, defaults{}, 0, convert)
}

// timestampsAsText has the decoder read untagged timestamps (2024-01-02)
// as the strings they are written as, as kubectl does, instead of
// time.Time.
func timestampsAsText(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp" && n.Style&yaml.TaggedStyle == 0 {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		timestampsAsText(c)
	}
}

// plain reports whether the decoder can neither refuse nor read otherwise
// than addNode what n holds: no anchors, aliases or explicit tags, mapping
// keys that are strings and unique (so no merge keys), and no number JSON
// cannot hold (.inf, .nan).
func plain(n *yaml.Node) bool {
	if n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 {
		return false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Tag != "!!float" || !strings.ContainsAny(n.Value, "nN")
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if !plain(c) {
				return false
			}
		}
		return true
	case yaml.MappingNode:
		if !uniqueStringKeys(n) {
			return false
		}
		for i := 1; i < len(n.Content); i += 2 {
			if !plain(n.Content[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// uniqueStringKeys reports whether the keys of the mapping n are untagged,
// unanchored strings, none twice.
func uniqueStringKeys(n *yaml.Node) bool {
	keys := len(n.Content) / 2
	var seen map[string]bool
	if keys > 16 {
		seen = make(map[string]bool, keys)
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || k.Anchor != "" || k.Style&yaml.TaggedStyle != 0 {
			return false
		}
		if seen != nil {
			if seen[k.Value] {
				return false
			}
			seen[k.Value] = true
			continue
		}
		for j := 0; j < i; j += 2 {
			if n.Content[j].Value == k.Value {
				return false
			}
		}
	}
	return true
}

// addNode adds the object, or the items of the List, of n, a plain node
// (see plain), as addValue does with the decoded value.
func (u *unit) addNode(n *yaml.Node, def defaults, depth int, convert func(map[string]any) (*inventory.Object, error)) {
	line := u.line(n)
	if n.Kind != yaml.MappingNode {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: "not a Kubernetes object: expected a mapping with apiVersion and kind"})
		return
	}
	m := map[string]any{}
	for _, key := range []string{"apiVersion", "kind"} {
		if v := field(n, key); v != nil {
			m[key] = str(v)
		}
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if isListKind(kind) && def.kind == "" && depth < maxListDepth {
		switch items := field(n, "items"); {
		case items != nil && items.Kind == yaml.SequenceNode:
			itemDef := itemDefaults(apiVersion, kind)
			for _, it := range items.Content {
				u.addNode(it, itemDef, depth+1, convert)
			}
			return
		case kind == "List" && (items == nil || items.Tag == "!!null"):
			return // an empty List
		}
	}
	apiVersion, kind = typeOf(m, def)
	mask := metadataOnly
	if group, _ := inventory.SplitAPIVersion(apiVersion); inventory.KeepsBody(group, kind) {
		mask = inventory.BodyMask(group, kind)
	}
	v, err := decodeNode(n, mask)
	if err != nil {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
		return
	}
	u.addObject(v.(map[string]any), line, convert, def)
}

// metadataOnly is what trimming keeps of the kinds whose body rules do not
// read.
var metadataOnly = inventory.FieldMask{"apiVersion": nil, "kind": nil, "metadata": nil}

// decodeNode decodes what mask keeps of n, a plain node (all of it for a
// nil mask), and skips the rest. Its values are already those
// jsonCompatible would give.
func decodeNode(n *yaml.Node, mask inventory.FieldMask) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			sub, ok := mask.Child(key)
			if !ok {
				continue
			}
			v, err := decodeNode(n.Content[i+1], sub)
			if err != nil {
				return nil, err
			}
			out[key] = v
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := decodeNode(c, mask)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return scalarValue(n)
}

// scalarValue is the value the decoder gives a scalar of a plain node
// (timestamps as text, see timestampsAsText), read from the tag the parser
// resolved, as JSON would give it; the decoder itself reads the less
// common forms, and toJSON makes its values JSON's.
func scalarValue(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!str", "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		}
	case "!!int":
		// Decimal only: yaml.v3 reads 017 as octal, 1_000 as 1000.
		if v := strings.TrimPrefix(n.Value, "-"); v != "" && v[0] >= '1' && v[0] <= '9' {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i, nil
			}
		}
	case "!!float":
		if !strings.ContainsRune(n.Value, '_') {
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return f, nil
			}
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return toJSON(v)
}

// field returns the value of key in the mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// str is the value of a plain node as the decoder gives it when it is a
// string, or the node itself otherwise (typeOf then finds no string).
func str(n *yaml.Node) any {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return n.Value
	}
	return n
}

// parseYAMLDocument parses one document. It returns the root node, nil for
// an empty or comments-only document, or an error whose line is absolute in
// the file.
func parseYAMLDocument(doc document) (*yaml.Node, *lineError) {
	dec := yaml.NewDecoder(bytes.NewReader(doc.data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err, doc)
	}
	// splitYAML cuts at markers after "\n"; yaml.v3 also breaks lines at a
	// lone "\r" (and NEL, LS, PS), so a marker after one of those is missed
	// by the split. yaml.Unmarshal would silently drop what follows it.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(err, doc)
	default:
		line := min(max(next.Line, 1), bytes.Count(doc.data, []byte{'\n'})+1)
		return nil, &lineError{line: doc.line + line - 1, msg: `a document marker ("---" or "...") follows a line break other than "\n"`}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, nil
	}
	n := root.Content[0]
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		// "~" or "null" as a whole document: rendered templates produce these.
		return nil, nil
	}
	return n, nil
}

// addValue adds v, the decoded value of node n, as an object, or the items
// of v as objects when v is a List. def is the type of an item of a typed
// List (PodList) that omits its own.
func (u *unit) addValue(v any, n *yaml.Node, def defaults, depth int, convert func(map[string]any) (*inventory.Object, error)) {
	line := u.line(n)
	m, err := stringKeys(v)
	if err != nil {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: err.Error()})
		return
	}
	if m == nil {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: "not a Kubernetes object: expected a mapping with apiVersion and kind"})
		return
	}
	// The items of a typed List are objects even when they look like Lists.
	if items, ok := listItems(m); ok && def.kind == "" && depth < maxListDepth {
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		itemDef := itemDefaults(apiVersion, kind)
		nodes := itemNodes(n)
		for i, it := range items {
			// An item placed by a merge key or an alias has no node of its
			// own in the sequence: it gets the List's line.
			itemNode := n
			if len(nodes) == len(items) {
				itemNode = nodes[i]
			}
			u.addValue(it, itemNode, itemDef, depth+1, convert)
		}
		return
	}
	if err := jsonCompatible(m); err != nil {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: err.Error()})
		return
	}
	u.addObject(m, line, convert, def)
}

// line is the line of n in the file.
func (u *unit) line(n *yaml.Node) int {
	line := u.doc.line + n.Line - 1
	if u.lastLine > 0 && line > u.lastLine {
		return u.lastLine
	}
	return line
}

// maxListDepth bounds the nesting of Lists of Lists.
const maxListDepth = 32

// listItems returns the items of m and true when m is a List: kind "List",
// or a typed list such as "PodList" with an items sequence. A List without
// items is empty; a typed list without items is an object.
func listItems(m map[string]any) ([]any, bool) {
	kind, _ := m["kind"].(string)
	if !isListKind(kind) {
		return nil, false
	}
	switch items := m["items"].(type) {
	case []any:
		return items, true
	case nil:
		return nil, kind == "List"
	}
	return nil, false
}

// itemNodes returns the nodes of the items sequence of n, a List's mapping,
// or nil when the items are not written there.
func itemNodes(n *yaml.Node) []*yaml.Node {
	n = unalias(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "items" {
			if v := unalias(n.Content[i+1]); v.Kind == yaml.SequenceNode {
				return v.Content
			}
			return nil
		}
	}
	return nil
}

func unalias(n *yaml.Node) *yaml.Node {
	for depth := 0; n.Kind == yaml.AliasNode && n.Alias != nil && depth < maxListDepth; depth++ {
		n = n.Alias
	}
	return n
}

// lineError is an error at a line of the file being read.
type lineError struct {
	line int
	msg  string
}

// yamlLineErr matches the position go.yaml.in/yaml/v3 puts in its parse
// errors.
var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserErrors are the messages of go.yaml.in/yaml/v3's parser (as
// opposed to its scanner). For those it reports the 0-based line of the
// construct being parsed, so one is added to get the line a person sees.
var yamlParserErrors = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlError turns a parse error into a lineError with the file's line.
func yamlError(err error, doc document) *lineError {
	msg := err.Error()
	if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			if yamlParserErrors[m[2]] {
				n++
			}
			// yaml.v3 counts a lone "\r" as a line break too; stay within
			// the lines an editor shows.
			n = min(n, bytes.Count(doc.data, []byte{'\n'})+1)
			return &lineError{line: doc.line + n - 1, msg: m[2]}
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &lineError{line: doc.line, msg: msg}
}

var (
	// decodeLineErr matches one of the errors of a *yaml.TypeError.
	decodeLineErr = regexp.MustCompile(`^line (\d+): (.*)$`)
	// duplicateKey matches yaml.v3's message for a duplicate key.
	duplicateKey = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// decodeErrors reports the errors of decoding the document whose root is
// root, each on its line of the file.
func (u *unit) decodeErrors(err error, root *yaml.Node) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// Excessive aliasing, a bad merge key or tag: yaml.v3 gives no line.
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: u.line(root), Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
		return
	}
	hinted := false
	for _, e := range te.Errors {
		line, msg := u.line(root), e
		if m := decodeLineErr.FindStringSubmatch(e); m != nil {
			n, _ := strconv.Atoi(m[1])
			line, msg = u.line(&yaml.Node{Line: n}), m[2]
			if d := duplicateKey.FindStringSubmatch(msg); d != nil {
				first, _ := strconv.Atoi(d[2])
				msg = fmt.Sprintf("mapping key %q already defined at line %d", d[1], u.line(&yaml.Node{Line: first}))
				if !hinted && (d[1] == "apiVersion" || d[1] == "kind") && rootKeyAt(root, d[1], n) {
					// The usual cause: files concatenated without a "---"
					// between them, which kubectl and kustomize refuse.
					msg += `: two objects in one document (is a "---" line missing?)`
					hinted = true
				}
			}
		}
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: msg})
	}
}

// rootKeyAt reports whether root, a mapping, has the key on that line of
// the document.
func rootKeyAt(root *yaml.Node, key string, line int) bool {
	if root.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Line == line && k.Value == key {
			return true
		}
	}
	return false
}

// stringKeys returns v as a map with string keys, converting the keys of a
// mapping whose keys are not all strings, or nil when v is not a mapping.
func stringKeys(v any) (map[string]any, error) {
	switch m := v.(type) {
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			s, err := keyString(k)
			if err != nil {
				return nil, err
			}
			if _, dup := out[s]; dup {
				return nil, fmt.Errorf("mapping key %q appears twice once keys are strings", s)
			}
			out[s] = e
		}
		return out, nil
	}
	return nil, nil
}

// keyString is the JSON key kubectl's YAML-to-JSON conversion gives a
// mapping key that is not a string.
func keyString(k any) (string, error) {
	switch k := k.(type) {
	case string:
		return k, nil
	case int:
		return strconv.Itoa(k), nil
	case int64:
		return strconv.FormatInt(k, 10), nil
	case uint64:
		return strconv.FormatUint(k, 10), nil
	case float64:
		switch {
		case math.IsInf(k, 1):
			return ".inf", nil
		case math.IsInf(k, -1):
			return "-.inf", nil
		case math.IsNaN(k):
			return ".nan", nil
		}
		return strconv.FormatFloat(k, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(k), nil
	}
	return "", fmt.Errorf("mapping key %v cannot be a JSON key", k)
}

// jsonCompatible turns, in place, the values yaml.v3 decodes into the ones
// encoding/json would give for the JSON kubectl sends (with integers as
// int64): mappings with string keys, timestamps as text. Values JSON cannot
// hold (infinities, NaN) are an error, as they are for kubectl.
func jsonCompatible(m map[string]any) error {
	for k, v := range m {
		nv, err := toJSON(v)
		if err != nil {
			return err
		}
		m[k] = nv
	}
	return nil
}

func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case string, bool, nil, int64:
		return v, nil
	case int:
		return int64(x), nil
	case uint64:
		return float64(x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("value %v cannot be represented in JSON", x)
		}
		return x, nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case []any:
		for i, e := range x {
			ne, err := toJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = ne
		}
		return x, nil
	case map[string]any:
		return x, jsonCompatible(x)
	case map[any]any:
		m, err := stringKeys(x)
		if err != nil {
			return nil, err
		}
		return m, jsonCompatible(m)
	}
	return nil, fmt.Errorf("value of type %T cannot be represented in JSON", v)
}
