package lint

import (
	"github.com/nsguard/nsguard/inventory"

	"os"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nsguard/nsguard/hack/bench/corpus"
)

// slowParse reads a document with go.yaml.in/yaml/v3 and the node
// converter: the reference the fast path must agree with.
func slowParse(d []byte) (map[string]any, int, bool, error) {
	root, lerr := parseYAMLDocument(document{data: d, line: 1})
	if lerr != nil {
		return nil, 0, false, &InputError{Line: lerr.line, Msg: lerr.msg}
	}
	if root == nil {
		return nil, 0, true, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, 0, false, nil
	}
	var c converter
	m, err := c.mapping(root)
	return m, root.Line, true, err
}

// checkAgree fails when the fast path answers differently from yaml.v3.
func checkAgree(t *testing.T, d []byte) (fast bool) {
	t.Helper()
	fo, err := fastParse(d, true)
	if err != nil {
		if err != errFallback {
			t.Fatalf("fast path returned %v, want nil or errFallback", err)
		}
		return false
	}
	m, line, isMap, serr := slowParse(d)
	if serr != nil {
		t.Fatalf("fast path accepted a document yaml.v3 rejects (%v):\n%s", serr, d)
	}
	if fo == nil {
		if m != nil {
			t.Fatalf("fast path saw an empty document, yaml.v3 read %v:\n%s", m, d)
		}
		return true
	}
	if !isMap {
		t.Fatalf("fast path read a mapping, yaml.v3 did not:\n%s", d)
	}
	if !reflect.DeepEqual(fo.m, m) {
		t.Fatalf("fast path and yaml.v3 disagree on\n%s\nfast: %#v\nyaml: %#v", d, fo.m, m)
	}
	if fo.line != line {
		t.Fatalf("fast path says line %d, yaml.v3 line %d:\n%s", fo.line, line, d)
	}
	// Reading only what trimming keeps gives the same values for those fields.
	sel, err := fastParse(d, false)
	if err != nil {
		t.Fatalf("fast path read the whole document but not its kept fields: %v\n%s", err, d)
	}
	if fo.list == nil {
		if sel.list != nil {
			t.Fatalf("fast path read a List only when reading its kept fields:\n%s", d)
		}
		if want := keptFields(m, defaults{}); !reflect.DeepEqual(sel.m, want) {
			t.Fatalf("kept fields differ on\n%s\nfast: %#v\nwant: %#v", d, sel.m, want)
		}
		return true
	}
	// A List: the same items as the node path, on the same lines, with the
	// same type for those that omit theirs.
	items, def := slowListItems(t, d)
	if sel.list == nil || len(fo.list.items) != len(items) || len(sel.list.items) != len(items) {
		t.Fatalf("fast path and yaml.v3 disagree on the items of\n%s", d)
	}
	if fo.list.def != def || sel.list.def != def {
		t.Fatalf("item type %+v, yaml.v3 %+v:\n%s", fo.list.def, def, d)
	}
	for i, it := range items {
		for _, got := range []fastObject{fo.list.items[i], sel.list.items[i]} {
			if got.line != it.line {
				t.Fatalf("item %d: fast path says line %d, yaml.v3 line %d:\n%s", i, got.line, it.line, d)
			}
		}
		if !reflect.DeepEqual(fo.list.items[i].m, it.m) {
			t.Fatalf("item %d differs on\n%s\nfast: %#v\nyaml: %#v", i, d, fo.list.items[i].m, it.m)
		}
		if want := keptFields(it.m, def); !reflect.DeepEqual(sel.list.items[i].m, want) {
			t.Fatalf("kept fields of item %d differ on\n%s\nfast: %#v\nwant: %#v", i, d, sel.list.items[i].m, want)
		}
	}
	return true
}

// keptFields is what the fast path builds of an object read as m by the
// node path: all of it for the kinds whose body rules read.
func keptFields(m map[string]any, def defaults) map[string]any {
	if av, kind := typeOf(m, def); needsBody(av, kind) {
		group, _ := inventory.SplitAPIVersion(av)
		return inventory.BodyMask(group, kind).Apply(m).(map[string]any)
	}
	want := map[string]any{}
	for _, k := range []string{"apiVersion", "kind", "metadata"} {
		if v, ok := m[k]; ok {
			want[k] = v
		}
	}
	return want
}

// slowListItems reads the items of a List document as unit.addNode does.
func slowListItems(t *testing.T, d []byte) ([]fastObject, defaults) {
	t.Helper()
	root, lerr := parseYAMLDocument(document{data: d, line: 1})
	if lerr != nil || root == nil {
		t.Fatalf("yaml.v3 does not read a List from\n%s", d)
	}
	items := listItems(root)
	if items == nil {
		t.Fatalf("yaml.v3 does not read a List from\n%s", d)
	}
	var out []fastObject
	var c converter
	for _, it := range items.Content {
		m, err := c.mapping(it)
		if err != nil || it.Kind != yaml.MappingNode {
			t.Fatalf("yaml.v3 does not read item at line %d as a mapping (%v):\n%s", it.Line, err, d)
		}
		out = append(out, fastObject{m: m, line: it.Line})
	}
	return out, itemDefaults(scalarField(root, "apiVersion"), scalarField(root, "kind"))
}

func TestFastPathAgrees(t *testing.T) {
	// Documents the fast path must read itself, identically to yaml.v3.
	fast := []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		"---\napiVersion: v1\nkind: ConfigMap\n",
		"--- # comment\n# another\napiVersion: v1\n\nkind: X\n...\n",
		"a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf:\ng: null\nh: 0777\ni: 0x1F\nj: 1e3\nk: .inf\nl: 2024-01-02\nm: '0777'\nn: \"x\"\no: yes\np: +12\nq: 1_000\n",
		"a:\n- 1\n- x\n-\n  y: 2\n- - \n",
		"a:\n  - name: x\n    value: y\n  - name: z\n    items:\n    - 1\n    - 2\n  -   k: v\n      l: w\nb: c\n",
		"a: 'it''s'\nb: \"tab\\there \\u00e9 \\x41 \\\\ \\\" \\'\"\nc: \"\"\nd: ''\n",
		"a: [1, two, \"three\", 'four', [5], {six: 6}]\nb: {}\nc: []\nd: {a: 1, b: [x, y], c: }\ne: [a b, c,]\n",
		"a: |\n  line 1\n  line 2\n\n  line 4\n\nb: |-\n  x\n  y\nc: >\n  folded\n  text\n\n  para\nd: >-\n  f\n  g\ne: |\nf: x\n",
		"a: |\n\n   lead\n   x\n  \nb: 1\n",
		"a: plain text # comment\nb: http://x:80/y\nc: a#b\nd: -x\ne: ?x\nf: :x\n",
		"a: this is a long\n  plain scalar that wraps\n\n  with a paragraph\nb: 'single\n  quoted\n\n  wrap'\nc: \"double\n  quoted \\\n  joined\"\n",
		"- a\n",
		"key with spaces: v\n\"quoted key\": 1\n'single key': 2\napp.kubernetes.io/name: x\n",
		"a: 1\r\nb:\r\n  c: |\r\n    x\r\n",
		"a: \"é ü 日本\"\nb: ü\n",
		"a:\n  b:\n    c:\n      d: deep\n  e: f\n",
		"a:   spaced   \nb:\t# tab comment?\n",
		"# only a comment\n",
		"",
		"---\n",
		"a: b\nc: d\na: dup\n",
		"list:\n- a: 1\n  b:\n  - x\n- c\n",
		"args:\n- /bin/cp /usr/local/bin/argocd /var/run/argocd/argocd && /bin/ln -sf /var/run/argocd/argocd\n  /var/run/argocd/argocd-cmp-server\n",
	}
	for _, s := range fast {
		checkAgree(t, []byte(s))
	}
	// Lists: each item read as an object of its own, on the line of its "- ".
	lists := []string{
		"apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n  data:\n    k: v\n\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b}\n  spec:\n    replicas: 2\n",
		"kind: List\napiVersion: v1\nitems:\n  # a comment\n  - kind: Secret\n    apiVersion: v1\n  - metadata:\n      name: no-type\n",
		"apiVersion: v1\nkind: PodList\nitems:\n- metadata:\n    name: p\n  spec:\n    serviceAccountName: sa\n- kind: ConfigMap\n  metadata: {name: c}\n",
		"apiVersion: v1\nkind: List\nitems: []\n",
		"apiVersion: v1\nkind: List\nitems:\n",
		"apiVersion: v1\nkind: List\n",
		// The prescan finds the next item's kind: the item is read again.
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  metadata:\n    kind: x\n  spec: {replicas: 1}\n- apiVersion: apps/v1\n  kind: Deployment\n",
	}
	for _, s := range lists {
		if !checkAgree(t, []byte(s)) {
			t.Errorf("List went to yaml.v3:\n%s", s)
		}
	}
	// Documents that must go to yaml.v3 (which may accept or reject them).
	slow := []string{
		"a: &x 1\nb: *x\n",
		"a: !!str 1\n",
		"a: b: c\n",
		"a:\n\tb: 1\n",
		"? complex\n: key\n",
		"a: [1,\n  2]\n",
		"a: \"unterminated\n",
		"- top level sequence\n",
		"a: |+\n  keep\n\n",
		"a: |2\n   x\n",
		"a: 1\n  b: 2\n",
		"<<: {a: 1}\n",
		"a: x\x00y\n",
		"a: \"\\q\"\n",
		"a: @x\n",
		"a: x\rb: y\n",
		// Lists the node path reads: nested Lists, items that are not
		// mappings or start below their "-", duplicate type keys, items
		// that are not a block sequence.
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - kind: Secret\n",
		"apiVersion: v1\nkind: List\nitems:\n- x\n",
		"apiVersion: v1\nkind: List\nitems:\n-\n  apiVersion: v1\n  kind: Secret\n",
		"apiVersion: v1\nkind: List\nkind: List\nitems: []\n",
		"apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  kind: List\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  apiVersion: v2\n",
		"apiVersion: v1\nkind: List\nitems: [{kind: Secret}]\n",
		"apiVersion: v1\nkind: List\nitems: x\n",
		"apiVersion: 1\nkind: PodList\nitems: []\n",
		"apiVersion: v1\nkind: PodList\n",
	}
	for _, s := range slow {
		if fastParse, err := fastParse([]byte(s), true); err != errFallback {
			t.Errorf("fast path read %q as %v, %v; want errFallback", s, fastParse, err)
		}
	}
}

func TestFastPathSelects(t *testing.T) {
	d := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: y}\ndata:\n  k: |\n    big\n")
	fo, err := fastParse(d, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "y"}}}
	if !reflect.DeepEqual(fo.m, want) {
		t.Errorf("got %#v, want %#v", fo.m, want)
	}
	// Kinds whose body rules read are built whole.
	d = []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  replicas: 2\n")
	if fo, err = fastParse(d, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := fo.m["spec"]; !ok {
		t.Errorf("spec of a Deployment not built: %#v", fo.m)
	}
	// A syntax error in a field that is not built still sends the document
	// to yaml.v3, which reports it.
	d = []byte("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b: c\n")
	if _, err = fastParse(d, false); err != errFallback {
		t.Errorf("error in skipped field: got %v, want errFallback", err)
	}
	if !strings.Contains(string(d), "b: c") {
		t.Fatal("unreachable")
	}
}

// TestFastPathRealWorld reads real and generated manifests with both paths:
// they must agree, and the fast path must handle every document (a
// fallback there would silently cost most of the reading speed).
func TestFastPathRealWorld(t *testing.T) {
	var inputs [][]byte
	for _, f := range []string{"../testdata/realworld/argo-cd-install.yaml", "../testdata/realworld/argo-cd-application.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, data)
	}
	for i := range 60 {
		if f := corpus.File(i, corpus.Options{}); f.Format != corpus.FormatJSON {
			inputs = append(inputs, f.Data)
		}
	}
	for _, data := range inputs {
		for _, d := range splitYAML(data) {
			if !checkAgree(t, d.data) {
				t.Errorf("document at line %d went to yaml.v3:\n%.300s", d.line, d.data)
			}
		}
	}
}

func TestFastChars(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"plain ascii text, long enough for words\n\twith tabs\r\n", true},
		{"", true},
		{"abc\x00", false},
		{"abcdefgh\x7f", false},
		{"abcdefg\x1b", false},
		{"lone\rcr", false},
		{"ends with cr\r", false},
		{"0123456é89ü日本語 multi-byte runes across words", true},
		{"1234567\xc3\xa9", true},
		{"1234567\xc3", false},
		{"nel \xc2\x85 here", false},
		{"c1 \xc2\x9b here", false},
		{"ls \xe2\x80\xa8", false},
		{"bom \xef\xbb\xbf", false},
		{"\xff", false},
		{"valid 😀 emoji", true},
	} {
		if got := fastChars([]byte(tc.in)); got != tc.want {
			t.Errorf("fastChars(%q) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range 9 {
			// Every alignment.
			s := strings.Repeat("x", i) + tc.in
			if got := fastChars([]byte(s)); got != tc.want {
				t.Errorf("fastChars(%q) = %v, want %v", s, got, tc.want)
			}
		}
	}
}
