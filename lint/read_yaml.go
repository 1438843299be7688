package lint

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxAliasNodes bounds how many nodes alias expansion may add to one
// document. Real manifests use a handful of anchors; a "billion laughs"
// document would otherwise expand exponentially.
const maxAliasNodes = 100_000

var errExcessiveAliasing = errors.New("document contains excessive aliasing")

// yamlLineErr matches the position go.yaml.in/yaml/v3 puts in its messages.
var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAMLDocument parses one document (see splitYAML). It returns the root
// node, nil for an empty or comments-only document, or an error whose line
// is absolute in the file.
func parseYAMLDocument(doc document) (*yaml.Node, *lineError) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc.data, &root); err != nil {
		return nil, yamlError(err, doc)
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

// lineError is an error at a line of the file being read.
type lineError struct {
	line int
	msg  string
}

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

// yamlError turns a parser error into a lineError with the file's line.
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

// converter turns yaml.Node trees into the plain values encoding/json would
// produce (map[string]any, []any, string, bool, nil), except that integers
// stay int64 instead of becoming float64.
type converter struct {
	// aliasNodes counts the nodes added by alias expansion so far.
	aliasNodes int
	// sizes memoises the expanded size of anchored nodes.
	sizes map[*yaml.Node]int
}

func (c *converter) value(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return scalar(n), nil
	case yaml.MappingNode:
		return c.mapping(n)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.AliasNode:
		if err := c.chargeAlias(n.Alias); err != nil {
			return nil, err
		}
		return c.value(n.Alias)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0])
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func (c *converter) mapping(n *yaml.Node) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, v)
			continue
		}
		key, err := c.key(k)
		if err != nil {
			return nil, err
		}
		val, err := c.value(v)
		if err != nil {
			return nil, err
		}
		// The last of duplicate keys wins, as kubectl's decoder does.
		out[key] = val
	}
	if len(merges) > 0 {
		if err := c.merge(out, merges); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// merge applies "<<" merge keys: explicit keys win over merged ones, and
// in "<<: [*a, *b]" a wins over b.
func (c *converter) merge(out map[string]any, merges []*yaml.Node) error {
	var sources []*yaml.Node
	for _, m := range merges {
		if m.Kind == yaml.SequenceNode {
			sources = append(sources, m.Content...)
		} else {
			sources = append(sources, m)
		}
	}
	explicit := make(map[string]bool, len(out))
	for k := range out {
		explicit[k] = true
	}
	for i := len(sources) - 1; i >= 0; i-- {
		src := sources[i]
		if src.Kind == yaml.AliasNode {
			if err := c.chargeAlias(src.Alias); err != nil {
				return err
			}
			src = src.Alias
		}
		if src.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: merge key value is not a mapping", src.Line)
		}
		m, err := c.mapping(src)
		if err != nil {
			return err
		}
		for k, v := range m {
			if !explicit[k] {
				out[k] = v
			}
		}
	}
	return nil
}

func (c *converter) key(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: mapping key is not a string", k.Line)
	}
	// kubectl's YAML-to-JSON conversion turns scalar keys into their text.
	return k.Value, nil
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge") && k.Style == 0
}

// chargeAlias accounts for the expansion of one alias and fails once the
// document has expanded more than maxAliasNodes nodes through aliases.
func (c *converter) chargeAlias(target *yaml.Node) error {
	if target == nil {
		return errors.New("unknown anchor")
	}
	c.aliasNodes += c.size(target, 0)
	if c.aliasNodes > maxAliasNodes {
		return errExcessiveAliasing
	}
	return nil
}

// size is the number of nodes n expands to, computed once per anchored node
// so that measuring a billion-laughs document stays cheap.
func (c *converter) size(n *yaml.Node, depth int) int {
	if depth > 10_000 {
		return maxAliasNodes + 1
	}
	if s, ok := c.sizes[n]; ok {
		return s
	}
	s := 1
	if n.Kind == yaml.AliasNode {
		if n.Alias != nil {
			s = c.size(n.Alias, depth+1)
		}
	} else {
		for _, ch := range n.Content {
			s += c.size(ch, depth+1)
			if s > maxAliasNodes {
				break
			}
		}
	}
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		if c.sizes == nil {
			c.sizes = map[*yaml.Node]int{}
		}
		c.sizes[n] = s
	}
	return s
}

// scalar resolves a scalar the way go.yaml.in/yaml/v3 does when decoding
// into an interface (timestamps stay strings), with integers as int64.
// Values JSON cannot hold (.nan, .inf) stay strings.
func scalar(n *yaml.Node) any {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 &&
		(n.Tag == "" || n.Tag == "!" || n.Tag == "!!str") {
		return n.Value
	}
	if n.Tag == "" || n.Tag == "!" {
		// Only plain scalars starting like a number, bool or null can be
		// anything but a string: skip the resolver for the rest.
		if n.Value != "" && !maybeNonString(n.Value[0]) {
			return n.Value
		}
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE":
			return true
		case "false", "False", "FALSE":
			return false
		}
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return i
		}
		var v any
		if n.Decode(&v) == nil {
			switch x := v.(type) {
			case int:
				return int64(x)
			case int64:
				return x
			case uint64:
				return float64(x)
			case float64:
				return x
			}
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
		var v any
		if n.Decode(&v) == nil {
			if f, ok := v.(float64); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
		}
	}
	return n.Value
}

func maybeNonString(c byte) bool {
	switch {
	case c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '+', '.', '~', 't', 'T', 'f', 'F', 'n', 'N':
		return true
	}
	return false
}
