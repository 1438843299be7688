package catalog

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse, the reader of the built-in
// catalog and of users' --data files. Invariants: no panic; an error says
// what it is about; and a catalog that parses answers every lookup as
// documented: an exact name finds its entry, and any other finalizer finds
// the entry with the longest prefix it starts with.
//
// Seeds are below and in testdata/fuzz/FuzzParse; run longer with
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 1m ./policies/catalog
func FuzzParse(f *testing.F) {
	f.Add(builtinYAML)
	f.Add([]byte("finalizers:\n- {id: a, name: example.com/a}\n- {id: b, prefix: example.com/}\n- {id: c, prefix: example.com/a}\n"))
	f.Add([]byte(`{"finalizers": [{"id": "x", "name": "x", "prefix": "y"}]}`))
	f.Add([]byte("finalizers:\n- {id: a, name: n}\n- {id: a, name: m}\n"))
	f.Add([]byte("finalizers: [{id: a, prefix: ''}, {id: b, name: '\\u00e9'}]\n"))
	f.Add([]byte("unknown: field\n"))
	f.Add([]byte("finalizers:\n- {id: a, pattern: '*.example.com'}\n- {id: b, prefix: x.}\n- {id: c, pattern: 'x.*'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "parse finalizer catalog") && !strings.HasPrefix(msg, "finalizer catalog entry") {
				t.Fatalf("error %q does not say it is about the finalizer catalog", msg)
			}
			return
		}
		for i := range c.Finalizers {
			e := &c.Finalizers[i]
			if e.Name != "" {
				if got := c.Lookup(e.Name); got != e {
					t.Fatalf("Lookup(%q) = %v, want entry %q", e.Name, got, e.ID)
				}
				continue
			}
			if e.Pattern != "" {
				probe := strings.ReplaceAll(e.Pattern, "*", "\x00")
				got := c.Lookup(probe)
				if got == nil || got.Name == "" && got.Pattern == "" || got.Pattern != "" && !MatchPattern(got.Pattern, probe) {
					t.Fatalf("Lookup(%q) = %v, want an entry whose name or pattern matches it", probe, got)
				}
				continue
			}
			probe := e.Prefix + "\x00probe"
			got := c.Lookup(probe)
			if got != nil && got.Pattern != "" && MatchPattern(got.Pattern, probe) {
				continue // patterns come before prefixes
			}
			if got == nil || got.Prefix == "" && got.Name == "" {
				t.Fatalf("Lookup(%q) = %v, want an entry with a prefix of it", probe, got)
			}
			if got.Name == "" && (!strings.HasPrefix(probe, got.Prefix) || len(got.Prefix) < len(e.Prefix)) {
				t.Fatalf("Lookup(%q) = prefix %q, want the longest prefix (at least %q)", probe, got.Prefix, e.Prefix)
			}
		}
	})
}
