package policies

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/nsguard/nsguard/policies/catalog"
)

// builtinFS holds the built-in rules, their tests and the Rego library.
//
//go:embed *.rego lib/*.rego
var builtinFS embed.FS

// builtinPrefix names the built-in modules in messages ("policies/x.rego"),
// the path they have in the source tree.
const builtinPrefix = "policies/"

// CompileError is a policy that does not parse or compile. Each error names
// the file and line (file:line: code: message).
type CompileError struct {
	Errors ast.Errors
}

func (e *CompileError) Error() string {
	lines := make([]string, 0, len(e.Errors))
	for _, err := range e.Errors {
		lines = append(lines, err.Error())
	}
	return strings.Join(lines, "\n")
}

// asCompileError turns OPA's parse and compile errors into a CompileError.
func asCompileError(err error) error {
	var errs ast.Errors
	if errors.As(err, &errs) {
		return &CompileError{Errors: errs}
	}
	var one *ast.Error
	if errors.As(err, &one) {
		return &CompileError{Errors: ast.Errors{one}}
	}
	return err
}

// module is one Rego file: evaluation modules and _test.rego files are kept
// apart because only `nsguard policy test` uses the latter.
type module struct {
	name    string
	builtin bool
	test    bool
	src     []byte
	parsed  *ast.Module
}

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

func parseModule(name string, src []byte) (*ast.Module, error) {
	m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{
		RegoVersion:       ast.RegoV1,
		ProcessAnnotation: true,
	})
	if err != nil {
		return nil, asCompileError(err)
	}
	return m, nil
}

// builtinModules parses the embedded policies.
func builtinModules(withTests bool) ([]module, error) {
	var mods []module
	err := fs.WalkDir(builtinFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".rego" {
			return nil
		}
		test := isTestFile(p)
		if test && !withTests {
			return nil
		}
		src, err := builtinFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read built-in policy %s: %w", p, err)
		}
		m, err := parseModule(builtinPrefix+p, src)
		if err != nil {
			return err
		}
		mods = append(mods, module{name: builtinPrefix + p, builtin: true, test: test, src: src, parsed: m})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mods, nil
}

// userModules parses the .rego files of the given directories (recursive)
// or files.
func userModules(dirs []string, withTests bool) ([]module, error) {
	var mods []module
	seen := map[string]bool{}
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("read policy directory: %w", err)
		}
		var files []string
		if !info.IsDir() {
			files = []string{dir}
		} else {
			err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && filepath.Ext(p) == ".rego" {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("read policy directory %s: %w", dir, err)
			}
		}
		sort.Strings(files)
		for _, f := range files {
			test := isTestFile(f)
			if (test && !withTests) || seen[f] {
				continue
			}
			seen[f] = true
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read policy: %w", err)
			}
			m, err := parseModule(f, src)
			if err != nil {
				return nil, err
			}
			mods = append(mods, module{name: f, test: test, src: src, parsed: m})
		}
	}
	return mods, nil
}

// mergeModules adds the user's modules to the built-in ones. A user file
// whose path is that of a built-in one (running from the source tree with
// --policy policies) is the same file when its content is: it is skipped;
// otherwise it would silently replace the built-in one, which is an error.
func mergeModules(builtin, user []module) ([]module, error) {
	byName := make(map[string][]byte, len(builtin))
	for _, m := range builtin {
		byName[m.name] = m.src
	}
	out := builtin
	for _, m := range user {
		name := filepath.ToSlash(filepath.Clean(m.name))
		if src, ok := byName[name]; ok {
			if bytes.Equal(src, m.src) {
				continue
			}
			return nil, fmt.Errorf("%s: has the path of a built-in policy; rename it", m.name)
		}
		out = append(out, m)
	}
	return out, nil
}

// loadData builds the data document: the finalizer catalog under
// nsguard.catalog, with the data files merged in. Entries of
// nsguard.catalog.finalizers in a data file replace the built-in entry with
// the same id, or are added.
// LoadCatalog returns the finalizer catalog that New would build from the
// same data files (built-in entries, overridden or extended by theirs),
// without compiling any policy.
func LoadCatalog(dataFiles []string) (*catalog.Catalog, error) {
	_, cat, err := loadData(dataFiles)
	return cat, err
}

func loadData(files []string) (map[string]any, *catalog.Catalog, error) {
	builtin, err := catalog.Builtin()
	if err != nil {
		return nil, nil, fmt.Errorf("load built-in finalizer catalog: %w", err)
	}
	entries := append([]catalog.Entry(nil), builtin.Finalizers...)

	data := map[string]any{}
	for _, f := range files {
		docs, err := readDataFile(f)
		if err != nil {
			return nil, nil, err
		}
		for _, doc := range docs {
			extra, err := takeCatalog(doc)
			if err != nil {
				return nil, nil, fmt.Errorf("data file %s: %w", f, err)
			}
			entries = mergeEntries(entries, extra)
			mergeInto(data, doc)
		}
	}

	raw, err := json.Marshal(catalog.Catalog{Finalizers: entries})
	if err != nil {
		return nil, nil, fmt.Errorf("encode finalizer catalog: %w", err)
	}
	cat, err := catalog.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	var catDoc map[string]any
	if err := json.Unmarshal(raw, &catDoc); err != nil {
		return nil, nil, fmt.Errorf("decode finalizer catalog: %w", err)
	}
	ns, _ := data["nsguard"].(map[string]any)
	if ns == nil {
		ns = map[string]any{}
		data["nsguard"] = ns
	}
	ns["catalog"] = catDoc
	return data, cat, nil
}

// takeCatalog removes nsguard.catalog from a data document and returns its
// finalizer entries, checked against the catalog schema.
func takeCatalog(doc map[string]any) ([]catalog.Entry, error) {
	ns, ok := doc["nsguard"].(map[string]any)
	if !ok {
		return nil, nil
	}
	c, ok := ns["catalog"]
	if !ok {
		return nil, nil
	}
	delete(ns, "catalog")
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("nsguard.catalog: %w", err)
	}
	var part catalog.Catalog
	if err := yaml.UnmarshalStrict(raw, &part); err != nil {
		return nil, fmt.Errorf("nsguard.catalog: %w", err)
	}
	return part.Finalizers, nil
}

func mergeEntries(base, extra []catalog.Entry) []catalog.Entry {
	for _, e := range extra {
		replaced := false
		for i := range base {
			if base[i].ID == e.ID {
				base[i] = e
				replaced = true
				break
			}
		}
		if !replaced {
			base = append(base, e)
		}
	}
	return base
}

// mergeInto merges src into dst: objects merge key by key, anything else in
// src replaces what dst had.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// readDataFile reads a JSON file or a (multi-document) YAML file; every
// document must be an object.
func readDataFile(name string) ([]map[string]any, error) {
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read data file: %w", err)
	}
	var docs []map[string]any
	if strings.EqualFold(filepath.Ext(name), ".json") {
		var doc map[string]any
		if err := json.Unmarshal(src, &doc); err != nil {
			return nil, fmt.Errorf("data file %s: %w", name, err)
		}
		return append(docs, doc), nil
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(src))
	for i := 1; ; i++ {
		var node yamlv3.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("data file %s: %w", name, err)
		}
		if len(node.Content) == 0 {
			continue
		}
		out, err := yamlv3.Marshal(&node)
		if err != nil {
			return nil, fmt.Errorf("data file %s: document %d: %w", name, i, err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			return nil, fmt.Errorf("data file %s:%d: document must be an object: %w", name, node.Line, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs, nil
}

// ConfigFromData returns nsguard.config from the data files, merged in
// order, as JSON (nil when none sets it): nsguard serve's configuration
// can live in policy data, where a policy reads it too.
func ConfigFromData(files []string) ([]byte, error) {
	var conf map[string]any
	for _, f := range files {
		docs, err := readDataFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			ns, _ := doc["nsguard"].(map[string]any)
			c, ok := ns["config"].(map[string]any)
			if !ok {
				continue
			}
			if conf == nil {
				conf = map[string]any{}
			}
			mergeInto(conf, c)
		}
	}
	if conf == nil {
		return nil, nil
	}
	b, err := json.Marshal(conf)
	if err != nil {
		return nil, fmt.Errorf("encode nsguard.config: %w", err)
	}
	return b, nil
}
