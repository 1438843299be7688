// Package lint is the manifest front end of nsguard: it reads manifests
// (files, directories, standard input) with the position of every object,
// and writes findings as text, JSON, SARIF or JUnit with an exit code.
package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nsguard/nsguard/inventory"
)

// StdinName is how standard input is named in reports.
const StdinName = "<stdin>"

// ReadOptions configure Read.
type ReadOptions struct {
	// Stdin is read for the path "-".
	Stdin io.Reader
	// Workers bounds the files read and the documents parsed at once;
	// 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Convert turns a decoded object into a trimmed inventory object; nil
	// means inventory.NewObject. It runs on the workers, so trimming is
	// parallel too.
	Convert func(map[string]any) (*inventory.Object, error)
}

// ReadResult is everything read from the inputs, in input order: the
// files in the order given (directories walked in lexical order), the
// objects of each file in document order.
type ReadResult struct {
	// Objects carry their Position.
	Objects []*inventory.Object
	// Files are the display names of the files read, in order.
	Files []string
	// Errors are the unreadable files, malformed documents and objects that
	// are not Kubernetes objects; every other object is still read.
	Errors []*InputError
}

// InputError is a problem with the input, at a file and (when known) line.
type InputError struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"message"`
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// manifestExts are the extensions read when walking a directory. Files named
// on the command line are read whatever their name.
var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// input is one file (or standard input) to read.
type input struct {
	name string // display name
	path string // "" for standard input
	json bool
	// filled by the read phase
	data []byte
	docs []document
	err  *InputError
	// stream: its YAML documents are read with one decoder, in one unit
	// (see parseYAMLStreamUnit), rather than split into units.
	stream bool
}

// unit is one piece of parsing work: a YAML document or a whole JSON input.
type unit struct {
	in  *input
	doc document
	// filled by the parse phase
	objects []*inventory.Object
	errs    []*InputError
	// lastLine, when set, is the last line of the document.
	lastLine int
}

// Read reads every path (files, directories walked recursively for .yaml,
// .yml and .json, or "-" for standard input) as one bundle. Problems with
// the input are in ReadResult.Errors; the error return is only for a
// cancelled context.
func Read(ctx context.Context, paths []string, opts ReadOptions) (*ReadResult, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Convert == nil {
		opts.Convert = inventory.NewObject
	}
	res := &ReadResult{}
	inputs := expand(paths)

	// Phase 1: read files. Standard input is read here too, once.
	parallel(ctx, len(inputs), opts.Workers, func(i int) {
		in := inputs[i]
		if in.err != nil {
			return
		}
		var err error
		if in.path == "" {
			if opts.Stdin == nil {
				err = errors.New("no standard input")
			} else {
				in.data, err = io.ReadAll(opts.Stdin)
			}
		} else {
			in.data, err = os.ReadFile(in.path)
		}
		if err != nil {
			in.err = &InputError{File: in.name, Msg: fmt.Sprintf("read: %v", unwrapPathError(err))}
			return
		}
		if !in.json && in.path == "" && looksLikeJSON(in.data) {
			in.json = true
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// A YAML file that holds a small share of the input is read as one
	// stream, with one decoder: the other files keep the workers busy, and
	// a decoder per document costs a twentieth of the parsing. The
	// documents of a larger one are split and parsed in parallel.
	total := 0
	for _, in := range inputs {
		total += len(in.data)
	}
	parallel(ctx, len(inputs), opts.Workers, func(i int) {
		in := inputs[i]
		if in.err != nil || in.json {
			return
		}
		if len(in.data)*streamShare*opts.Workers <= total && streamable(in.data) {
			in.stream = true
			return
		}
		in.docs = splitYAML(in.data)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Phase 2: parse the documents of every file in parallel, so one big
	// file does not hold up a worker while the others idle.
	var units []*unit
	for _, in := range inputs {
		if in.err != nil {
			continue
		}
		if in.json || in.stream {
			units = append(units, &unit{in: in, doc: document{data: in.data, line: 1}})
			continue
		}
		for _, d := range in.docs {
			units = append(units, &unit{in: in, doc: d})
		}
	}
	parallel(ctx, len(units), opts.Workers, func(i int) {
		u := units[i]
		switch {
		case u.in.json:
			parseJSONUnit(u, opts.Convert)
		case u.in.stream:
			parseYAMLStreamUnit(u, opts.Convert)
		default:
			parseYAMLUnit(u, opts.Convert)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	n := 0
	for _, u := range units {
		n += len(u.objects)
	}
	res.Objects = make([]*inventory.Object, 0, n)
	byInput := map[*input][]*InputError{}
	for _, u := range units {
		res.Objects = append(res.Objects, u.objects...)
		byInput[u.in] = append(byInput[u.in], u.errs...)
	}
	for _, in := range inputs {
		if in.err != nil {
			res.Errors = append(res.Errors, in.err)
			continue
		}
		res.Files = append(res.Files, in.name)
		res.Errors = append(res.Errors, byInput[in]...)
		in.data, in.docs = nil, nil
	}
	return res, nil
}

// parallel calls fn(0..n-1) on at most workers goroutines.
func parallel(ctx context.Context, n, workers int, fn func(int)) {
	if n == 0 {
		return
	}
	workers = min(workers, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// expand turns the arguments into the inputs to read, walking directories.
// A path that cannot be read becomes an input with its error, so that
// errors stay in argument order.
func expand(paths []string) []*input {
	var inputs []*input
	seen := map[string]bool{}
	add := func(path string) {
		name := displayName(path)
		if seen[name] {
			return
		}
		seen[name] = true
		inputs = append(inputs, &input{name: name, path: path, json: strings.EqualFold(filepath.Ext(path), ".json")})
	}
	fail := func(path string, err error) {
		inputs = append(inputs, &input{name: displayName(path), path: path, err: &InputError{File: displayName(path), Msg: fmt.Sprintf("read: %v", unwrapPathError(err))}})
	}
	for _, p := range paths {
		if p == "-" {
			if !seen[StdinName] {
				seen[StdinName] = true
				inputs = append(inputs, &input{name: StdinName})
			}
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			fail(p, err)
			continue
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		// WalkDir visits in lexical order, so the order is stable.
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				fail(path, err)
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			// Hidden files and directories (.git, .github, .gitlab-ci.yml)
			// are not manifests to apply.
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() || !manifestExts[strings.ToLower(filepath.Ext(path))] {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// Follow links to files; links to directories are not walked
				// (they may loop).
				if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
					return nil
				}
			} else if !d.Type().IsRegular() {
				return nil
			}
			add(path)
			return nil
		})
		if err != nil {
			fail(p, err)
		}
	}
	return inputs
}

// displayName is the path as given, cleaned, and relative to the working
// directory when it is an absolute path below it.
func displayName(p string) string {
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return rel
			}
		}
	}
	return filepath.Clean(p)
}

// unwrapPathError drops the path from an *fs.PathError: reports already
// name the file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// looksLikeJSON decides the format of standard input from its first byte.
func looksLikeJSON(data []byte) bool {
	data = bytes.TrimPrefix(data, bom)
	i := skipSpace(data, 0)
	return i < len(data) && (data[i] == '{' || data[i] == '[')
}

// defaults is the type an object gets when it omits its own: the items of
// a typed list (PodList) do.
type defaults struct{ apiVersion, kind string }

// isListKind reports whether objects of the kind are Lists when they have
// items: "List", or a typed list such as "PodList".
func isListKind(kind string) bool {
	return kind != "" && strings.HasSuffix(kind, "List")
}

// itemDefaults is the type the items of a List of this type get: none for
// a plain List, the element type for a typed list.
func itemDefaults(apiVersion, kind string) defaults {
	if apiVersion == "" || kind == "List" || !isListKind(kind) {
		return defaults{}
	}
	return defaults{apiVersion: apiVersion, kind: strings.TrimSuffix(kind, "List")}
}

func (u *unit) addObject(m map[string]any, line int, convert func(map[string]any) (*inventory.Object, error), def defaults) {
	if def.kind != "" {
		if _, ok := m["apiVersion"]; !ok {
			m["apiVersion"] = def.apiVersion
		}
		if _, ok := m["kind"]; !ok {
			m["kind"] = def.kind
		}
	}
	if msg := checkTypeMeta(m); msg != "" {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: msg})
		return
	}
	o, err := convert(m)
	if err != nil {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: err.Error()})
		return
	}
	o.Position = &inventory.Position{File: u.in.name, Line: line}
	u.objects = append(u.objects, o)
}

// checkTypeMeta returns why m is not a Kubernetes object, or "".
func checkTypeMeta(m map[string]any) string {
	av, _ := m["apiVersion"].(string)
	k, _ := m["kind"].(string)
	switch {
	case av == "" && k == "":
		return "not a Kubernetes object: apiVersion and kind are not set"
	case av == "":
		return fmt.Sprintf("%s has no apiVersion", k)
	case k == "":
		return fmt.Sprintf("object of %s has no kind", av)
	}
	return ""
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

func parseJSONUnit(u *unit, convert func(map[string]any) (*inventory.Object, error)) {
	values, lines, lerr := readJSON(u.doc.data)
	for _, v := range values {
		u.addJSON(v.raw, lines.line(v.start), v.start, lines, convert, defaults{}, 0)
	}
	if lerr != nil {
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: lerr.line, Msg: lerr.msg})
	}
}

// addJSON adds the object (or the items of the List) raw, a valid JSON value
// at offset start of the input, on line. It decodes only what rules read:
// apiVersion, kind and metadata, and for the kinds whose body they read
// (inventory.KeepsBody) what trimming keeps of it (inventory.BodyMask).
func (u *unit) addJSON(raw []byte, line, start int, lines lineIndex, convert func(map[string]any) (*inventory.Object, error), def defaults, depth int) {
	switch raw[0] {
	case 'n':
		return // null
	case '{':
	default:
		u.errs = append(u.errs, &InputError{File: u.in.name, Line: line, Msg: "not a Kubernetes object: expected an object with apiVersion and kind"})
		return
	}
	m := map[string]any{}
	var metadata, items []byte
	itemsAt := 0
	jsonMembers(raw, func(key string, val []byte, off int) {
		switch key {
		case "apiVersion", "kind":
			m[key] = decodeJSON(val)
		case "metadata":
			metadata = val
		case "items":
			items, itemsAt = val, off
		}
	})
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if kind == "List" && (items == nil || items[0] == 'n') {
		return // an empty List
	}
	if items != nil && items[0] == '[' && isListKind(kind) && depth < maxListDepth {
		itemDef := itemDefaults(apiVersion, kind)
		jsonElements(items, func(it []byte, off int) {
			l := line
			if depth == 0 {
				l = lines.line(start + itemsAt + off)
			}
			// Positions of nested Lists' items are not tracked: their items
			// report the line of the nested List.
			u.addJSON(it, l, start+itemsAt+off, lines, convert, itemDef, depth+1)
		})
		return
	}
	av, k := typeOf(m, def)
	if group, _ := inventory.SplitAPIVersion(av); inventory.KeepsBody(group, k) {
		m, _ = decodeMasked(raw, inventory.BodyMask(group, k)).(map[string]any)
	} else if metadata != nil {
		m["metadata"] = decodeJSON(metadata)
	}
	u.addObject(m, line, convert, def)
}
