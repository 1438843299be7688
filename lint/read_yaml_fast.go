package lint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"go.yaml.in/yaml/v3"

	"github.com/nsguard/nsguard/inventory"
)

// The fast path reads the block-style YAML that helm, kustomize and kubectl
// write, several times faster than go.yaml.in/yaml/v3, and builds values
// only for the top-level fields that trimming keeps (apiVersion, kind,
// metadata, and the whole object for the kinds whose body rules read, see
// inventory.KeepsBody). Every other byte is still checked, so malformed YAML
// is not let through.
//
// It accepts a strict subset of YAML: block mappings and sequences indented
// with spaces, plain and quoted scalars (also wrapped over several lines, as
// kubectl and yaml.v2 write long strings), single-line flow collections,
// and literal or folded block scalars. Anything else (anchors, tags,
// multi-line flow collections, complex keys, …) and every syntax error
// return errFallback, and the document is read again by
// go.yaml.in/yaml/v3, which also words the error. FuzzRead checks that both
// paths agree wherever the fast path answers, and TestFastPathRealWorld
// that real manifests never need the slow path.

// errFallback means "not handled here": read the document with yaml.v3.
var errFallback = errors.New("yaml fast path: unsupported construct")

// maxPlainKey is below the 1024-character limit yaml.v3 puts on implicit keys.
const maxPlainKey = 1000

// maxFlowDepth bounds the nesting of flow collections on the fast path.
const maxFlowDepth = 64

// fastObject is what the fast path read from one document, or one item of
// a List.
type fastObject struct {
	m    map[string]any
	line int // line of the first key, 1-based within the document
	// list is set when the document is a List: its items are the objects.
	list *fastList
}

// fastList holds the items of a List, each read as an object of its own
// (building only what trimming keeps of it) with its line.
type fastList struct {
	all   bool
	def   defaults // the type of items that omit theirs (PodList)
	items []fastObject
}

// fastParse reads one document. all builds every field instead of only the
// ones trimming keeps. It returns a nil object for an empty or comments-only
// document, and errFallback for anything it does not handle.
func fastParse(d []byte, all bool) (*fastObject, error) {
	if !fastChars(d) {
		return nil, errFallback
	}
	p := &fastParser{d: d, line: 1, peekAt: -1}
	l, ok, err := p.peek()
	if err != nil {
		return nil, err
	}
	if ok && l.indent == 0 && isMarker(d, l.start, '-') {
		if !blankOrComment(d, l.start+3, l.end) {
			return nil, errFallback
		}
		p.consume(l)
		if l, ok, err = p.peek(); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, nil
	}
	if l.indent == 0 && isMarker(d, l.start, '.') {
		// yaml.v3 rejects a document end marker with no document.
		return nil, errFallback
	}
	if l.indent != 0 || isSeqStart(d, l, 0) {
		return nil, errFallback
	}
	var fo *fastObject
	if av, kind := prescanType(d, l, 0, defaults{}); isListKind(kind) {
		fo, err = p.list(l, all, av, kind)
	} else {
		var m map[string]any
		m, err = p.object(0, l, all, false, defaults{})
		fo = &fastObject{m: m, line: l.num}
	}
	if err != nil {
		return nil, err
	}
	if l2, ok, err := p.peek(); err != nil {
		return nil, err
	} else if ok {
		// Only a document end marker may follow the root mapping.
		if l2.indent != 0 || !isMarker(d, l2.start, '.') || !blankOrComment(d, l2.start+3, l2.end) {
			return nil, errFallback
		}
		p.consume(l2)
		if _, ok, err := p.peek(); err != nil || ok {
			return nil, errFallback
		}
	}
	return fo, nil
}

// object reads a mapping that is one Kubernetes object, whose first key is
// at column indent of line first. Unless all is set, it builds only the
// fields trimming keeps of the object's type; def is the type when the
// object omits its own (an item of a typed List); strict is as in
// topSelect.
func (p *fastParser) object(indent int, first fline, all, strict bool, def defaults) (map[string]any, error) {
	pos, line := p.pos, p.line
	sel := &topSelect{all: all, strict: strict}
	if !all {
		sel.apiVersion, sel.kind = prescanType(p.d, first, indent, def)
		sel.all = needsBody(sel.apiVersion, sel.kind)
		if sel.all {
			group, _ := inventory.SplitAPIVersion(sel.apiVersion)
			sel.mask = inventory.BodyMask(group, sel.kind)
		}
	}
	m, err := p.mapping(indent, first, true, sel, nil)
	if err != nil || all {
		return m, err
	}
	av, kind := typeOf(m, def)
	if av == sel.apiVersion && kind == sel.kind {
		return m, nil
	}
	// The prescan misread the type (quoted keys, duplicates, a value that
	// wraps, a type that is not a string): build what the real type needs.
	switch {
	case needsBody(av, kind) && (!sel.all || sel.mask != nil):
		group, _ := inventory.SplitAPIVersion(av)
		p.pos, p.line, p.peekAt = pos, line, -1
		return p.mapping(indent, first, true, &topSelect{all: true, strict: sel.strict, mask: inventory.BodyMask(group, kind)}, nil)
	case !needsBody(av, kind) && sel.all:
		for k := range m {
			if !(&topSelect{}).build([]byte(k)) {
				delete(m, k)
			}
		}
	}
	return m, nil
}

// list reads a document that is a List (kind "List", or a typed list such
// as "PodList") whose type the prescan read as apiVersion and kind. It
// answers only for the Lists that need no more than addObject per item to
// read exactly as the node path does (see unit.addNode): items a block
// sequence of mappings that are not Lists themselves, no duplicate keys,
// a string apiVersion; anything else falls back.
func (p *fastParser) list(first fline, all bool, apiVersion, kind string) (*fastObject, error) {
	list := &fastList{all: all, def: itemDefaults(apiVersion, kind)}
	m, err := p.mapping(0, first, true, &topSelect{all: true, strict: true, list: list}, nil)
	if err != nil {
		return nil, err
	}
	if av, k := typeOf(m, defaults{}); av != apiVersion || k != kind {
		return nil, errFallback
	}
	if v, ok := m["apiVersion"]; ok {
		if _, ok := v.(string); !ok {
			return nil, errFallback // the node path reads it as written
		}
	}
	switch items := m["items"].(type) {
	case nil:
		if kind != "List" {
			return nil, errFallback // a typed list without items is an object
		}
	case []any:
		if len(items) != len(list.items) {
			return nil, errFallback // a flow sequence
		}
	default:
		return nil, errFallback
	}
	for _, it := range list.items {
		if _, k := typeOf(it.m, list.def); isListKind(k) && list.def == (defaults{}) {
			return nil, errFallback // Lists in a List are read by the node path
		}
	}
	return &fastObject{m: m, line: first.num, list: list}, nil
}

// typeOf is the apiVersion and kind of a decoded object, as addObject
// completes them with def.
func typeOf(m map[string]any, def defaults) (apiVersion, kind string) {
	apiVersion, kind = def.apiVersion, def.kind
	if v, ok := m["apiVersion"]; ok || def.kind == "" {
		apiVersion, _ = v.(string)
	}
	if v, ok := m["kind"]; ok || def.kind == "" {
		kind, _ = v.(string)
	}
	return apiVersion, kind
}

func needsBody(apiVersion, kind string) bool {
	group, _ := inventory.SplitAPIVersion(apiVersion)
	return inventory.KeepsBody(group, kind) || isListKind(kind)
}

// topSelect decides which top-level fields of an object are built.
type topSelect struct {
	all              bool
	apiVersion, kind string
	// strict sends duplicate keys to the node path, which reads a List's
	// type from the first of them.
	strict bool
	// list, for a List, receives the items.
	list *fastList
	// mask, when set, limits the fields built below the top level to what
	// trimming reads (inventory.BodyMask).
	mask inventory.FieldMask
}

func (s *topSelect) build(key []byte) bool {
	if s.all {
		return true
	}
	switch string(key) {
	case "apiVersion", "kind", "metadata":
		return true
	}
	return false
}

// prescanType guesses the apiVersion and kind of the mapping whose first key
// is at column indent of line first, from its "apiVersion:" and "kind:"
// lines; def is the type when the object omits its own.
func prescanType(d []byte, first fline, indent int, def defaults) (apiVersion, kind string) {
	av, okAV := prescan(d, first.start+indent, indent, "apiVersion")
	k, okKind := prescan(d, first.start+indent, indent, "kind")
	if def.kind != "" {
		if !okAV {
			av = def.apiVersion
		}
		if !okKind {
			k = def.kind
		}
	}
	return av, k
}

// prescan finds a "key: value" line at column indent, from offset from
// (the first key) on, and returns its value as written (comments and simple
// quotes removed). It may find a line of another mapping: it only guides
// what to build, and object checks the parsed values against it.
func prescan(d []byte, from, indent int, key string) (string, bool) {
	at := -1
	if bytes.HasPrefix(d[from:], []byte(key+":")) {
		at = from
	} else {
		needle := make([]byte, 0, 1+indent+len(key)+1)
		needle = append(needle, '\n')
		for range indent {
			needle = append(needle, ' ')
		}
		needle = append(append(needle, key...), ':')
		if i := bytes.Index(d[from:], needle); i >= 0 {
			at = from + i + 1 + indent
		}
	}
	if at < 0 {
		return "", false
	}
	v := d[at+len(key)+1:]
	if i := bytes.IndexByte(v, '\n'); i >= 0 {
		v = v[:i]
	}
	if i := bytes.Index(v, []byte(" #")); i >= 0 {
		v = v[:i]
	}
	v = bytes.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return string(v), true
}

// badByte marks the bytes that send a document to the slow path: control
// characters yaml.v3 rejects, lone carriage returns (checked separately)
// and non-ASCII bytes (checked rune by rune).
var badByte = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n'
	}
	for c := 0x7f; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// fastChars reports whether every character of d is one the fast path can
// take as is: printable, no line breaks but "\n" and "\r\n", no byte order
// mark or Unicode line separators (YAML treats those as line breaks).
func fastChars(d []byte) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	// Eight bytes at a time: most words hold nothing but printable ASCII,
	// tabs and newlines.
	for i+8 <= len(d) {
		w := binary.LittleEndian.Uint64(d[i:])
		// Bytes below 0x20: (b|0x80)-0x20 keeps its high bit only when
		// b&0x7f >= 0x20, and no borrow crosses bytes.
		low := ^((w | highs) - 0x20*ones) & ^w & highs
		bad := low&^eqBytes(w, '\n')&^eqBytes(w, '\t') | w&highs | eqBytes(w, 0x7f)
		if bad == 0 {
			i += 8
			continue
		}
		var ok bool
		if i, ok = fastCharsSlow(d, i, i+8); !ok {
			return false
		}
	}
	_, ok := fastCharsSlow(d, i, len(d))
	return ok
}

// eqBytes has the high bit set in each byte of w that equals c.
func eqBytes(w uint64, c byte) uint64 {
	const (
		lows  = 0x7f7f7f7f7f7f7f7f
		highs = 0x8080808080808080
	)
	y := w ^ (uint64(c) * 0x0101010101010101)
	return ^((y&lows + lows) | y) & highs
}

// fastCharsSlow checks d[from:to] byte by byte and returns where it
// stopped: past to when a multi-byte rune runs over it.
func fastCharsSlow(d []byte, from, to int) (int, bool) {
	i := from
	for ; i < to; i++ {
		c := d[i]
		if !badByte[c] {
			continue
		}
		switch {
		case c == '\r':
			if i+1 >= len(d) || d[i+1] != '\n' {
				return i, false
			}
		case c >= 0x80:
			r, n := utf8.DecodeRune(d[i:])
			switch {
			case r == utf8.RuneError && n <= 1,
				r >= 0x80 && r <= 0x9f, // C1 controls, NEL
				r == 0x2028 || r == 0x2029 || r == 0xfeff,
				r == 0xfffe || r == 0xffff:
				return i, false
			}
			i += n - 1
		default:
			return i, false
		}
	}
	return i, true
}

type fastParser struct {
	d    []byte
	pos  int // offset of the next unread line
	line int // its 1-based number
	// The last peeked line, kept because nested parsers peek the same line.
	peekAt  int
	peekL   fline
	peekOK  bool
	peekErr error
}

// fline is one line: [start, end) without the line break; indent is the
// number of leading spaces; next is the offset of the following line.
type fline struct {
	start, end, next int
	indent           int
	num              int
}

func (p *fastParser) lineAt(pos, num int) fline {
	d := p.d
	next := len(d)
	end := len(d)
	if i := bytes.IndexByte(d[pos:], '\n'); i >= 0 {
		end = pos + i
		next = end + 1
	}
	if end > pos && d[end-1] == '\r' {
		end--
	}
	n := 0
	for pos+n < end && d[pos+n] == ' ' {
		n++
	}
	return fline{start: pos, end: end, next: next, indent: n, num: num}
}

// peek returns the next line that is neither blank nor a comment, without
// consuming it.
func (p *fastParser) peek() (fline, bool, error) {
	if p.peekAt == p.pos {
		return p.peekL, p.peekOK, p.peekErr
	}
	pos, num := p.pos, p.line
	var l fline
	ok := false
	var err error
	for pos < len(p.d) {
		l = p.lineAt(pos, num)
		i := l.start + l.indent
		if i < l.end && p.d[i] == '\t' {
			// Tabs may separate, never indent; yaml.v3 even rejects some
			// blank lines that start with one.
			err = errFallback
			break
		}
		if i == l.end || p.d[i] == '#' {
			pos, num = l.next, num+1
			continue
		}
		ok = true
		break
	}
	p.peekAt, p.peekL, p.peekOK, p.peekErr = p.pos, l, ok, err
	return l, ok, err
}

func (p *fastParser) consume(l fline) {
	p.pos, p.line = l.next, l.num+1
}

// blankOrComment reports whether d[i:end] is empty, blanks, or blanks and a
// comment that starts after a blank (or at i).
func blankOrComment(d []byte, i, end int) bool {
	start := i
	for i < end && (d[i] == ' ' || d[i] == '\t') {
		i++
	}
	return i == end || d[i] == '#' && (i > start || i == 0 || d[i-1] == ' ' || d[i-1] == '\t')
}

// isSeqStart reports whether the line has "- " or a lone "-" at indent.
func isSeqStart(d []byte, l fline, indent int) bool {
	i := l.start + indent
	if i >= l.end || d[i] != '-' {
		return false
	}
	return i+1 == l.end || d[i+1] == ' '
}

// mapping reads a block mapping whose keys are at column indent; the first
// key is on line first (after "- " in a sequence item). sel is set for the
// root mapping only; below it, mask (nil: everything) says which keys to
// build.
func (p *fastParser) mapping(indent int, first fline, build bool, sel *topSelect, mask inventory.FieldMask) (map[string]any, error) {
	var m map[string]any
	if build {
		m = map[string]any{}
	}
	l := first
	for {
		key, kq, vcol, err := p.key(l, l.start+indent)
		if err != nil {
			return nil, err
		}
		b := build
		var ks string
		if kq != 0 {
			ks = p.keyString(key, kq)
		}
		if sel != nil {
			if kq != 0 {
				b = sel.build([]byte(ks))
			} else {
				b = sel.build(key)
			}
			mask = sel.mask
		}
		var child inventory.FieldMask
		if b && mask != nil {
			if kq != 0 {
				child, b = mask[ks]
			} else {
				child, b = mask[string(key)]
			}
		}
		var list *fastList
		if sel != nil && sel.list != nil && (kq == 0 && string(key) == "items" || kq != 0 && ks == "items") {
			list = sel.list
		}
		v, err := p.value(l, vcol, indent, b, list, child)
		if err != nil {
			return nil, err
		}
		if b {
			// The last of duplicate keys wins, as in the node path.
			if kq == 0 {
				ks = p.keyString(key, 0)
			}
			if _, dup := m[ks]; dup && sel != nil && sel.strict {
				return nil, errFallback
			}
			m[ks] = v
		}
		nl, ok, err := p.peek()
		if err != nil {
			return nil, err
		}
		if !ok || nl.indent < indent {
			return m, nil
		}
		if nl.indent > indent || isSeqStart(p.d, nl, indent) {
			return nil, errFallback
		}
		l = nl
	}
}

func (p *fastParser) keyString(key []byte, quoted byte) string {
	if quoted == 0 {
		if k, ok := commonKeys[string(key)]; ok {
			return k
		}
		return view(key)
	}
	s, _, err := p.quoted(key, 0, len(key), true)
	if err != nil {
		return string(key) // cannot happen: key() checked it
	}
	return s
}

// key reads a mapping key at offset col of line l. It returns the key (for a
// quoted key, the quoted text including quotes, with quoted set to the quote
// character) and the offset just past the ':'.
func (p *fastParser) key(l fline, col int) (key []byte, quoted byte, vcol int, err error) {
	d := p.d
	if col >= l.end {
		return nil, 0, 0, errFallback
	}
	c := d[col]
	var end int
	if c == '"' || c == '\'' {
		_, qend, err := p.quoted(d, col, l.end, false)
		if err != nil {
			return nil, 0, 0, err
		}
		key, quoted = d[col:qend], c
		i := qend
		for i < l.end && d[i] == ' ' {
			i++
		}
		if i >= l.end || d[i] != ':' || i+1 < l.end && d[i+1] != ' ' {
			return nil, 0, 0, errFallback
		}
		end = i
	} else {
		if !plainStart(d, col, l.end, false) {
			return nil, 0, 0, errFallback
		}
		end = -1
		for i := col; i < l.end; {
			j := bytes.IndexByte(d[i:l.end], ':')
			if j < 0 {
				break
			}
			i += j
			if i+1 == l.end || d[i+1] == ' ' || d[i+1] == '\t' {
				end = i
				break
			}
			i++
		}
		if end < 0 {
			return nil, 0, 0, errFallback
		}
		k := d[col:end]
		if hasComment(k) {
			return nil, 0, 0, errFallback
		}
		k = trimBlank(k)
		if len(k) == 0 || len(k) > maxPlainKey || string(k) == "<<" {
			return nil, 0, 0, errFallback
		}
		key = k
	}
	vcol = end + 1
	if vcol < l.end && d[vcol] == '\t' {
		return nil, 0, 0, errFallback
	}
	return key, quoted, vcol, nil
}

// commonKeys are field names that recur in every manifest; sharing one
// string for each saves an allocation per occurrence.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range strings.Fields(`apiVersion kind metadata name namespace labels annotations finalizers
		ownerReferences uid spec status data stringData type selector matchLabels matchExpressions template
		containers initContainers image imagePullPolicy args command env value valueFrom fieldRef fieldPath
		secretKeyRef configMapKeyRef key ports containerPort protocol port targetPort resources requests limits
		cpu memory volumeMounts mountPath readOnly volumes configMap secret secretName emptyDir
		persistentVolumeClaim claimName livenessProbe readinessProbe startupProbe httpGet path
		initialDelaySeconds periodSeconds timeoutSeconds failureThreshold successThreshold securityContext
		runAsNonRoot runAsUser runAsGroup fsGroup readOnlyRootFilesystem allowPrivilegeEscalation
		capabilities drop add seccompProfile serviceAccountName serviceAccount replicas strategy
		rollingUpdate maxSurge maxUnavailable revisionHistoryLimit affinity podAntiAffinity podAffinity
		nodeAffinity topologyKey weight podAffinityTerm labelSelector tolerations operator effect
		nodeSelector rules apiGroups verbs subjects roleRef apiGroup webhooks clientConfig service
		conversion versions served storage schema openAPIV3Schema properties description items
		required format enum default additionalProperties x-kubernetes-preserve-unknown-fields
		group names plural singular listKind shortNames scope subresources host http paths pathType
		backend number tls hosts ingressClassName conditions phase minAvailable maxReplicas minReplicas
		metrics target averageUtilization serviceName volumeClaimTemplates accessModes dnsPolicy
		restartPolicy terminationGracePeriodSeconds priorityClassName hostNetwork`) {
		m[k] = k
	}
	return m
}()

// view returns the bytes as a string without copying them. The strings of
// an object then share the memory of the file it was read from, which lives
// as long as the objects anyway; the reader never writes to that memory.
// It saves an allocation for most keys and values.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// trimBlank drops trailing spaces and tabs.
func trimBlank(b []byte) []byte {
	n := len(b)
	for n > 0 && (b[n-1] == ' ' || b[n-1] == '\t') {
		n--
	}
	return b[:n]
}

// hasComment reports whether a blank followed by '#' occurs in b.
func hasComment(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] == '#' && (b[i-1] == ' ' || b[i-1] == '\t') {
			return true
		}
	}
	return false
}

// plainStart reports whether a plain scalar may start at d[i] (YAML's
// ns-plain-first); flow is for flow context.
func plainStart(d []byte, i, end int, flow bool) bool {
	switch d[i] {
	case '-', '?', ':':
		if i+1 >= end {
			return false
		}
		n := d[i+1]
		if n == ' ' || n == '\t' {
			return false
		}
		if flow && (n == ',' || n == '[' || n == ']' || n == '{' || n == '}') {
			return false
		}
		return true
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\t':
		return false
	}
	return true
}

// value reads what follows "key:" (vcol is just past the colon) for a key
// at column indent. list, when set, receives the items of a block sequence
// (the items of a List).
func (p *fastParser) value(l fline, vcol, indent int, build bool, list *fastList, mask inventory.FieldMask) (any, error) {
	d := p.d
	i := vcol
	for i < l.end && d[i] == ' ' {
		i++
	}
	if i == l.end || d[i] == '#' {
		if i < l.end && d[i] == '#' && i == vcol {
			return nil, errFallback
		}
		p.consume(l)
		return p.blockValue(indent, true, build, list, mask)
	}
	return p.inline(l, i, indent, build)
}

// blockValue reads a node that starts on the next line: a mapping or a
// sequence indented more than indent, a sequence at indent itself when
// allowSeq (YAML's indentation-less sequence as a mapping value), or
// nothing (null). list is as for value.
func (p *fastParser) blockValue(indent int, allowSeq, build bool, list *fastList, mask inventory.FieldMask) (any, error) {
	l, ok, err := p.peek()
	if err != nil || !ok {
		return nil, err
	}
	if l.indent > indent {
		if isSeqStart(p.d, l, l.indent) {
			return p.sequence(l.indent, build, list, mask)
		}
		if list != nil {
			return nil, errFallback
		}
		m, err := p.mapping(l.indent, l, build, nil, mask)
		if err != nil || !build {
			return nil, err
		}
		return m, nil
	}
	if l.indent == indent && allowSeq && isSeqStart(p.d, l, indent) {
		return p.sequence(indent, build, list, mask)
	}
	return nil, nil
}

// sequence reads a block sequence at column indent. With list set, every
// item must be a mapping on the line of its "- ", and is read as an object
// of the List.
func (p *fastParser) sequence(indent int, build bool, list *fastList, mask inventory.FieldMask) (any, error) {
	d := p.d
	var out []any
	if build {
		out = make([]any, 0, 4)
	}
	for {
		l, ok, err := p.peek()
		if err != nil {
			return nil, err
		}
		if !ok || l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, errFallback
		}
		if !isSeqStart(d, l, indent) {
			break
		}
		i := l.start + indent + 1
		j := i
		for j < l.end && d[j] == ' ' {
			j++
		}
		var v any
		switch {
		case list != nil:
			if j == l.end || !p.isKeyLine(l, j) {
				return nil, errFallback
			}
			var m map[string]any
			m, err = p.object(j-l.start, l, list.all, true, list.def)
			list.items = append(list.items, fastObject{m: m, line: l.num})
			v = m
		case j == l.end || d[j] == '#' && j > i:
			p.consume(l)
			v, err = p.blockValue(indent, false, build, nil, mask)
		case j < l.end && d[j] == '\t':
			return nil, errFallback
		case isSeqStart(d, fline{start: j, end: l.end}, 0):
			return nil, errFallback // "- - x": rare, left to yaml.v3
		case p.isKeyLine(l, j):
			var m map[string]any
			m, err = p.mapping(j-l.start, l, build, nil, mask)
			if build && err == nil {
				v = m
			}
		default:
			v, err = p.inline(l, j, indent, build)
		}
		if err != nil {
			return nil, err
		}
		if build {
			out = append(out, v)
		}
	}
	if !build {
		return nil, nil
	}
	return out, nil
}

// isKeyLine reports whether a mapping entry ("key: …") starts at col.
func (p *fastParser) isKeyLine(l fline, col int) bool {
	d := p.d
	c := d[col]
	switch c {
	case '"', '\'':
		_, end, err := p.quoted(d, col, l.end, false)
		if err != nil {
			return false
		}
		for end < l.end && d[end] == ' ' {
			end++
		}
		return end < l.end && d[end] == ':' && (end+1 == l.end || d[end+1] == ' ')
	case '[', '{':
		return false
	}
	for i := col; i < l.end; i++ {
		switch d[i] {
		case ':':
			if i+1 == l.end || d[i+1] == ' ' || d[i+1] == '\t' {
				return true
			}
		case '#':
			if i > col && (d[i-1] == ' ' || d[i-1] == '\t') {
				return false
			}
		}
	}
	return false
}

// inline reads a value that starts at offset i of line l, inside a node at
// column indent, and consumes the line (and a block scalar's lines).
func (p *fastParser) inline(l fline, i, indent int, build bool) (any, error) {
	d := p.d
	var v any
	switch c := d[i]; c {
	case '|', '>':
		return p.blockScalar(l, i, indent, build)
	case '"', '\'':
		s, last, end, err := p.quotedLines(l, i, indent)
		if err != nil {
			return nil, err
		}
		if !blankOrComment(d, end, last.end) {
			return nil, errFallback
		}
		l = last
		if build {
			v = s
		}
	case '[', '{':
		fv, end, err := p.flow(l, i, build, 0)
		if err != nil {
			return nil, err
		}
		if !blankOrComment(d, end, l.end) {
			return nil, errFallback
		}
		v = fv
	default:
		if !plainStart(d, i, l.end, false) {
			return nil, errFallback
		}
		s, comment, ok := plainSegment(d[i:l.end])
		if !ok {
			return nil, errFallback
		}
		var more []byte
		if !comment {
			var err error
			if more, l, err = p.plainMore(l, s, indent, build); err != nil {
				return nil, err
			}
		}
		if build {
			if more != nil {
				v = resolvePlain(more)
			} else {
				v = resolvePlain(s)
			}
		}
	}
	p.consume(l)
	// A more indented line after a complete value would continue a
	// multi-line scalar or be an error: both are yaml.v3's to handle.
	nl, ok, err := p.peek()
	if err != nil {
		return nil, err
	}
	if ok && nl.indent > indent {
		return nil, errFallback
	}
	return v, nil
}

// plainSegment cuts a comment off one line of a plain scalar and trims it.
// ok is false when the text holds ": " (a nested mapping: an error).
func plainSegment(b []byte) (s []byte, comment, ok bool) {
	for j := 1; j < len(b); j++ {
		if b[j] == '#' && (b[j-1] == ' ' || b[j-1] == '\t') {
			b, comment = b[:j], true
			break
		}
	}
	s = trimBlank(b)
	for j := 0; j < len(s); {
		k := bytes.IndexByte(s[j:], ':')
		if k < 0 {
			break
		}
		j += k
		if j+1 == len(s) || s[j+1] == ' ' || s[j+1] == '\t' {
			return nil, false, false
		}
		j++
	}
	return s, comment, true
}

// plainMore reads the continuation lines of a plain scalar whose first line
// (l, text first) belongs to a node at column indent: lines indented more
// than indent, folded into one string (a line break becomes a space, n
// empty lines become n line breaks). It returns nil when there is no
// continuation, and the last line read.
func (p *fastParser) plainMore(l fline, first []byte, indent int, build bool) ([]byte, fline, error) {
	d := p.d
	// Most scalars end on their line: the next line is no more indented.
	// Tell that from its leading spaces before scanning for its end.
	n := 0
	for l.next+n < len(d) && d[l.next+n] == ' ' {
		n++
	}
	if l.next+n >= len(d) || n <= indent && d[l.next+n] != '\n' && d[l.next+n] != '\r' {
		return nil, l, nil
	}
	var b []byte
	last := l
	pos, num := l.next, l.num+1
	empties := 0
	for pos < len(d) {
		cl := p.lineAt(pos, num)
		i := cl.start + cl.indent
		if i == cl.end {
			empties++
			pos, num = cl.next, num+1
			continue
		}
		if cl.indent <= indent || d[i] == '#' {
			break // a less indented line or a comment ends the scalar
		}
		if d[i] == '\t' {
			return nil, l, errFallback
		}
		// Unlike the first line, a continuation line may start with any
		// indicator ("- x" continues the text).
		seg, comment, ok := plainSegment(d[i:cl.end])
		if !ok {
			return nil, l, errFallback
		}
		if build {
			if b == nil {
				b = append(make([]byte, 0, len(first)*2), first...)
			}
			if empties == 0 {
				b = append(b, ' ')
			}
			for range empties {
				b = append(b, '\n')
			}
			b = append(b, seg...)
		}
		last, empties = cl, 0
		pos, num = cl.next, num+1
		if comment {
			break
		}
	}
	return b, last, nil
}

// quotedLines reads a quoted scalar that starts at offset i of line l and
// may go on over the following lines (indented more than indent), folding
// line breaks as YAML does. It returns the value, the line it ends on and
// the offset past the closing quote.
func (p *fastParser) quotedLines(l fline, i, indent int) (string, fline, int, error) {
	d := p.d
	q := d[i]
	var buf []byte
	cur, j := l, i+1
	for {
		start := j
		escapedBreak := false
	line:
		for {
			if q == '\'' {
				k := bytes.IndexByte(d[j:cur.end], '\'')
				if k < 0 {
					j = cur.end
					break line
				}
				j += k
				if j+1 < cur.end && d[j+1] == '\'' {
					buf = append(buf, d[start:j+1]...)
					j += 2
					start = j
					continue
				}
				buf = append(buf, d[start:j]...)
				return string(buf), cur, j + 1, nil
			}
			k := bytes.IndexAny(d[j:cur.end], "\"\\")
			if k < 0 {
				j = cur.end
				break line
			}
			j += k
			buf = append(buf, d[start:j]...)
			if d[j] == '"' {
				return string(buf), cur, j + 1, nil
			}
			if j+1 == cur.end {
				// A backslash at the end of a line joins the lines.
				escapedBreak = true
				j, start = cur.end, cur.end
				break line
			}
			r, n, ok := unescape(d[j:cur.end])
			if !ok {
				return "", l, 0, errFallback
			}
			buf = utf8.AppendRune(buf, r)
			j += n
			start = j
		}
		tail := d[start:cur.end]
		if !escapedBreak {
			// Unescaped blanks at the end of a line are not content.
			tail = bytes.TrimRight(tail, " \t")
		}
		buf = append(buf, tail...)
		pos, num := cur.next, cur.num+1
		empties := 0
		for {
			if pos >= len(d) {
				return "", l, 0, errFallback
			}
			nl := p.lineAt(pos, num)
			k := nl.start
			for k < nl.end && (d[k] == ' ' || d[k] == '\t') {
				k++
			}
			if k == nl.end {
				empties++
				pos, num = nl.next, num+1
				continue
			}
			if nl.indent <= indent || escapedBreak && empties > 0 {
				return "", l, 0, errFallback
			}
			if !escapedBreak {
				if empties == 0 {
					buf = append(buf, ' ')
				}
				for range empties {
					buf = append(buf, '\n')
				}
			}
			cur, j = nl, k
			break
		}
	}
}

// unescape decodes the escape sequence at the start of b (b[0] is the
// backslash) and returns the rune and the length of the sequence.
func unescape(b []byte) (rune, int, bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	switch e := b[1]; e {
	case '0':
		return 0, 2, true
	case 'a':
		return '\a', 2, true
	case 'b':
		return '\b', 2, true
	case 't', '\t':
		return '\t', 2, true
	case 'n':
		return '\n', 2, true
	case 'v':
		return '\v', 2, true
	case 'f':
		return '\f', 2, true
	case 'r':
		return '\r', 2, true
	case 'e':
		return 0x1b, 2, true
	case ' ', '"', '\'', '\\':
		return rune(e), 2, true
	case 'N':
		return 0x85, 2, true
	case '_':
		return 0xa0, 2, true
	case 'L':
		return 0x2028, 2, true
	case 'P':
		return 0x2029, 2, true
	case 'x', 'u', 'U':
		n := 2
		if e == 'u' {
			n = 4
		} else if e == 'U' {
			n = 8
		}
		if len(b) < 2+n {
			return 0, 0, false
		}
		v, err := strconv.ParseUint(string(b[2:2+n]), 16, 32)
		if err != nil || v > utf8.MaxRune || v >= 0xd800 && v <= 0xdfff {
			return 0, 0, false
		}
		return rune(v), 2 + n, true
	}
	return 0, 0, false
}

// resolvePlain gives a plain scalar its type the way yaml.v3 does.
func resolvePlain(s []byte) any {
	if len(s) > 0 && (!maybeNonString(s[0]) || !numberLike(s)) {
		return view(s)
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Value: string(s)}
	return scalar(&n)
}

// numberChars are the bytes of YAML ints and floats (0x1F, 0o17, 1_000,
// -1.5e3) and of the words yaml.v3 resolves (true, null, ~, .inf).
var numberChars = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEFxXoO_+-.~" + "tTrRuUlLsSnNiI" {
		t[c] = true
	}
	return t
}()

// numberLike reports whether s may resolve to something other than a
// string; "100m", "128Mi" and "v1.2" may not, and skip the resolver (whose
// float regexp is costly).
func numberLike(s []byte) bool {
	for _, c := range s {
		if !numberChars[c] {
			return false
		}
	}
	return true
}

// quoted reads a single-line single- or double-quoted scalar that starts
// at d[i] and ends before end (keys, flow collections). It returns the value
// (when build) and the offset past the closing quote.
func (p *fastParser) quoted(d []byte, i, end int, build bool) (string, int, error) {
	q := d[i]
	var buf []byte
	j := i + 1
	start := j
	for {
		var k int
		if q == '\'' {
			k = bytes.IndexByte(d[j:end], '\'')
		} else {
			k = bytes.IndexAny(d[j:end], "\"\\")
		}
		if k < 0 {
			return "", 0, errFallback
		}
		j += k
		if q == '\'' && j+1 < end && d[j+1] == '\'' {
			if build {
				buf = append(buf, d[start:j+1]...)
			}
			j += 2
			start = j
			continue
		}
		if d[j] == q {
			if !build {
				return "", j + 1, nil
			}
			if buf == nil {
				return view(d[start:j]), j + 1, nil
			}
			buf = append(buf, d[start:j]...)
			return string(buf), j + 1, nil
		}
		r, n, ok := unescape(d[j:end])
		if !ok {
			return "", 0, errFallback
		}
		if build {
			buf = append(buf, d[start:j]...)
			buf = utf8.AppendRune(buf, r)
		}
		j += n
		start = j
	}
}

// flow reads a flow collection that starts and ends on line l.
func (p *fastParser) flow(l fline, i int, build bool, depth int) (any, int, error) {
	if depth > maxFlowDepth {
		return nil, 0, errFallback
	}
	d := p.d
	skip := func(j int) int {
		for j < l.end && d[j] == ' ' {
			j++
		}
		return j
	}
	if d[i] == '[' {
		var out []any
		if build {
			out = []any{}
		}
		j := skip(i + 1)
		if j < l.end && d[j] == ']' {
			return out, j + 1, nil
		}
		for {
			v, k, err := p.flowNode(l, j, build, depth, false)
			if err != nil {
				return nil, 0, err
			}
			if build {
				out = append(out, v)
			}
			j = skip(k)
			if j >= l.end {
				return nil, 0, errFallback
			}
			switch d[j] {
			case ',':
				j = skip(j + 1)
				if j < l.end && d[j] == ']' {
					return out, j + 1, nil
				}
			case ']':
				return out, j + 1, nil
			default:
				return nil, 0, errFallback
			}
		}
	}
	var out map[string]any
	if build {
		out = map[string]any{}
	}
	j := skip(i + 1)
	if j < l.end && d[j] == '}' {
		return out, j + 1, nil
	}
	for {
		kv, k, err := p.flowNode(l, j, true, depth, true)
		if err != nil {
			return nil, 0, err
		}
		key, _ := kv.(string)
		j = skip(k)
		if j+1 >= l.end || d[j] != ':' || d[j+1] != ' ' {
			return nil, 0, errFallback
		}
		j = skip(j + 1)
		var v any
		if j < l.end && (d[j] == ',' || d[j] == '}') {
			v = nil
		} else {
			v, k, err = p.flowNode(l, j, build, depth, false)
			if err != nil {
				return nil, 0, err
			}
			j = skip(k)
		}
		if build {
			out[key] = v
		}
		if j >= l.end {
			return nil, 0, errFallback
		}
		switch d[j] {
		case ',':
			j = skip(j + 1)
			if j < l.end && d[j] == '}' {
				return out, j + 1, nil
			}
		case '}':
			return out, j + 1, nil
		default:
			return nil, 0, errFallback
		}
	}
}

// flowNode reads one node inside a flow collection; key is true for a flow
// mapping key (then a plain scalar ends at ": ").
func (p *fastParser) flowNode(l fline, j int, build bool, depth int, key bool) (any, int, error) {
	d := p.d
	if j >= l.end {
		return nil, 0, errFallback
	}
	switch d[j] {
	case '[', '{':
		if key {
			return nil, 0, errFallback
		}
		return p.flow(l, j, build, depth+1)
	case '"', '\'':
		s, end, err := p.quoted(d, j, l.end, build)
		if err != nil {
			return nil, 0, err
		}
		if key && !build {
			return "", end, nil
		}
		return s, end, nil
	}
	if !plainStart(d, j, l.end, true) {
		return nil, 0, errFallback
	}
	k := j
scan:
	for ; k < l.end; k++ {
		switch d[k] {
		case ',', '[', ']', '{', '}':
			break scan
		case '?':
			// yaml.v3 ends a plain scalar at '?' in flow context.
			return nil, 0, errFallback
		case ':':
			if k+1 == l.end || strings.IndexByte(" \t,[]{}", d[k+1]) >= 0 {
				if !key {
					return nil, 0, errFallback // an implicit pair "[a: b]"
				}
				break scan
			}
		case '#':
			if d[k-1] == ' ' || d[k-1] == '\t' {
				return nil, 0, errFallback
			}
		}
	}
	s := trimBlank(d[j:k])
	if len(s) == 0 {
		return nil, 0, errFallback
	}
	if !build {
		return nil, k, nil
	}
	if key {
		return view(s), k, nil
	}
	return resolvePlain(s), k, nil
}

// blockScalar reads a literal (|) or folded (>) block scalar whose header is
// at offset i of line l, for a node at column indent.
func (p *fastParser) blockScalar(l fline, i, indent int, build bool) (any, error) {
	d := p.d
	folded := d[i] == '>'
	strip := false
	j := i + 1
	if j < l.end {
		switch d[j] {
		case '-':
			strip = true
			j++
		case '+':
			return nil, errFallback // keep chomping: rare
		}
	}
	if j < l.end && d[j] >= '0' && d[j] <= '9' {
		return nil, errFallback // explicit indentation: rare
	}
	if j < l.end && d[j] != ' ' || !blankOrComment(d, j, l.end) {
		return nil, errFallback
	}
	p.consume(l)

	// Content: lines indented at least as much as the first non-empty one,
	// which must be indented more than the node; empty lines in between.
	content := -1
	maxBlank := 0
	var lines [][]byte // content lines, nil for an empty line (when build)
	nonEmpty := 0
	lastBreak := false // whether the last content line ends with a line break
	pos, num := p.pos, p.line
	for pos < len(d) {
		cl := p.lineAt(pos, num)
		if cl.start+cl.indent == cl.end {
			// An empty line (spaces only).
			// A spaces-only line longer than the content indentation is
			// content (its extra spaces are kept): left to yaml.v3.
			if content >= 0 && cl.indent > content {
				return nil, errFallback
			}
			maxBlank = max(maxBlank, cl.indent)
			if build {
				lines = append(lines, nil)
			}
			pos, num = cl.next, num+1
			continue
		}
		if content < 0 {
			if cl.indent <= indent {
				break
			}
			if maxBlank > cl.indent || d[cl.start+cl.indent] == '\t' {
				return nil, errFallback
			}
			content = cl.indent
		}
		if cl.indent < content {
			break
		}
		text := d[cl.start+content : cl.end]
		if folded && (text[0] == ' ' || text[0] == '\t') {
			return nil, errFallback // more-indented folded lines keep their breaks: rare
		}
		if build {
			lines = append(lines, text)
		}
		lastBreak = cl.next > cl.end
		nonEmpty++
		pos, num = cl.next, num+1
	}
	if content < 0 && maxBlank > indent {
		return nil, errFallback
	}
	p.pos, p.line = pos, num
	if !build {
		return nil, nil
	}
	// Trailing empty lines go to chomping.
	for len(lines) > 0 && lines[len(lines)-1] == nil {
		lines = lines[:len(lines)-1]
	}
	if nonEmpty == 0 {
		return "", nil
	}
	var b strings.Builder
	if folded {
		blank := 0
		started := false
		for _, t := range lines {
			if t == nil {
				blank++
				continue
			}
			switch {
			case !started:
				b.WriteString(strings.Repeat("\n", blank))
				started = true
			case blank == 0:
				b.WriteByte(' ')
			default:
				b.WriteString(strings.Repeat("\n", blank))
			}
			blank = 0
			b.Write(t)
		}
	} else {
		for k, t := range lines {
			if k > 0 {
				b.WriteByte('\n')
			}
			b.Write(t)
		}
	}
	if !strip && lastBreak {
		b.WriteByte('\n')
	}
	return b.String(), nil
}
