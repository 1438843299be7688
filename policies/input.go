package policies

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/nsguard/nsguard/inventory"
)

// Label that Kubernetes sets on every namespace (since 1.21); selectors of
// admission webhooks often use it to exempt namespaces by name.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// WaiverPrefix starts the annotation by which an object waives a rule:
// ignore.nsguard.io/<rule-id>: "<reason>".
const WaiverPrefix = "ignore.nsguard.io/"

// Objects converted per worker: below this, one goroutine is faster.
const objectsPerWorker = 2000

// Objects converted at a time by a worker: small enough that the workers
// finish together whatever else runs beside them.
const objectsPerChunk = 500

// InputValue builds the Rego input (input in policies) for a snapshot.
//
// It is built by hand from the Go structs, without a JSON round trip or
// reflection: the conversion is a large part of the evaluation time on big
// bundles, so large snapshots are converted on several cores. The shape
// follows the JSON tags of inventory.Snapshot (omitempty fields are left
// out when empty) with these differences, which make rules simpler:
// input.target is always present, slices that are not omitempty are []
// rather than null, every namespace's labels include
// kubernetes.io/metadata.name, Object.Body's keys are merged into each
// object, and input.index holds lookups (see docs/policy-input.md).
func InputValue(s *inventory.Snapshot) (ast.Value, error) {
	// The finalizer facts do not depend on the object terms: they are
	// built while the objects are converted.
	fin := make(chan *ast.Term, 1)
	go func() { fin <- newBuilder().finalizers(s.Finalizers) }()
	objects, err := convertObjects(s.Objects)
	finalizers := <-fin
	if err != nil {
		return nil, err
	}
	return newBuilder().snapshot(s, objects, finalizers), nil
}

// convertObjects builds the object terms, in parallel for large snapshots.
func convertObjects(objs []*inventory.Object) ([]*ast.Term, error) {
	terms := make([]*ast.Term, len(objs))
	workers := min(runtime.GOMAXPROCS(0), (len(objs)+objectsPerWorker-1)/objectsPerWorker)
	if workers <= 1 {
		return terms, newBuilder().objects(objs, terms)
	}
	chunks := (len(objs) + objectsPerChunk - 1) / objectsPerChunk
	errs := make([]error, chunks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			b := newBuilder()
			for c := int(next.Add(1) - 1); c < chunks; c = int(next.Add(1) - 1) {
				lo, hi := c*objectsPerChunk, min((c+1)*objectsPerChunk, len(objs))
				errs[c] = b.objects(objs[lo:hi], terms[lo:hi])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return terms, nil
}

// builder shares terms for repeated strings (apiVersions, kinds, label keys,
// namespaces): fewer allocations, and equal strings compare by pointer.
// Objects are built on a stack of key/value pairs (ast.NewObject copies
// them), so building one does not allocate a slice of its own.
type builder struct {
	strs  map[string]*ast.Term
	stack [][2]*ast.Term
}

func newBuilder() *builder {
	return &builder{strs: make(map[string]*ast.Term, 512), stack: make([][2]*ast.Term, 0, 256)}
}

// str returns a shared term for a string that is likely to repeat.
func (b *builder) str(s string) *ast.Term {
	if t, ok := b.strs[s]; ok {
		return t
	}
	t := ast.StringTerm(s)
	b.strs[s] = t
	return t
}

// begin starts an object, put and its variants add fields, end builds it.
func (b *builder) begin() int { return len(b.stack) }

func (b *builder) put(key string, v *ast.Term) {
	b.stack = append(b.stack, ast.Item(b.str(key), v))
}

func (b *builder) putString(key, v string) { b.put(key, ast.StringTerm(v)) }

func (b *builder) putShared(key, v string) { b.put(key, b.str(v)) }

func (b *builder) putOptString(key, v string) {
	if v != "" {
		b.put(key, ast.StringTerm(v))
	}
}

func (b *builder) end(start int) *ast.Term {
	t := ast.NewTerm(ast.NewObject(b.stack[start:]...))
	clear(b.stack[start:])
	b.stack = b.stack[:start]
	return t
}

func (b *builder) snapshot(s *inventory.Snapshot, objects []*ast.Term, finalizers *ast.Term) ast.Value {
	o := b.begin()
	b.putShared("schemaVersion", s.SchemaVersion)
	b.putShared("source", s.Source)
	b.put("kubeVersion", b.kubeVersion(s.KubeVersion))
	b.putShared("target", s.Target)
	b.put("namespaces", b.namespaces(s))
	b.put("objects", ast.NewTerm(ast.NewArray(objects...)))
	b.put("finalizers", finalizers)
	b.put("services", b.services(s.Services))
	if s.Discovery != nil {
		b.put("discovery", b.discovery(s.Discovery))
	}
	b.put("complete", ast.BooleanTerm(s.Complete))
	if len(s.Incomplete) > 0 {
		b.put("incomplete", b.strings(s.Incomplete, false))
	}
	b.put("index", b.index(s, objects))
	return b.end(o).Value
}

func (b *builder) kubeVersion(kv inventory.KubeVersion) *ast.Term {
	o := b.begin()
	b.put("major", ast.IntNumberTerm(kv.Major))
	b.put("minor", ast.IntNumberTerm(kv.Minor))
	b.putShared("gitVersion", kv.GitVersion)
	return b.end(o)
}

func (b *builder) namespaces(s *inventory.Snapshot) *ast.Term {
	kvs := make([][2]*ast.Term, 0, len(s.Namespaces))
	for name, ns := range s.Namespaces {
		if ns == nil {
			continue
		}
		o := b.begin()
		b.putShared("name", ns.Name)
		b.put("deletable", ast.BooleanTerm(ns.Deletable))
		b.put("declared", ast.BooleanTerm(ns.Declared))
		b.put("objectID", ast.IntNumberTerm(ns.ObjectID))
		b.putOptString("phase", ns.Phase)
		b.putOptString("deletionTimestamp", ns.DeletionTimestamp)
		if len(ns.SpecFinalizers) > 0 {
			b.put("specFinalizers", b.strings(ns.SpecFinalizers, true))
		}
		if len(ns.Conditions) > 0 {
			b.put("conditions", b.conditions(ns.Conditions))
		}
		labels := ns.Labels
		if labels[namespaceNameLabel] == "" {
			labels = make(map[string]string, len(ns.Labels)+1)
			for k, v := range ns.Labels {
				labels[k] = v
			}
			labels[namespaceNameLabel] = ns.Name
		}
		b.put("labels", b.stringMap(labels))
		kvs = append(kvs, ast.Item(b.str(name), b.end(o)))
	}
	return ast.NewTerm(ast.NewObject(kvs...))
}

func (b *builder) conditions(cs []inventory.Condition) *ast.Term {
	terms := make([]*ast.Term, len(cs))
	for i, c := range cs {
		o := b.begin()
		b.putShared("type", c.Type)
		b.putShared("status", c.Status)
		b.putOptString("reason", c.Reason)
		b.putOptString("message", c.Message)
		b.putOptString("lastTransitionTime", c.LastTransitionTime)
		terms[i] = b.end(o)
	}
	return ast.NewTerm(ast.NewArray(terms...))
}

func (b *builder) ref(r inventory.ObjectRef) *ast.Term {
	o := b.begin()
	b.put("id", ast.IntNumberTerm(r.ID))
	b.putShared("apiVersion", r.APIVersion)
	b.putShared("group", r.Group)
	b.putShared("version", r.Version)
	b.putShared("kind", r.Kind)
	if r.Resource != "" {
		b.putShared("resource", r.Resource)
	}
	if r.Namespace != "" {
		b.putShared("namespace", r.Namespace)
	}
	b.putString("name", r.Name)
	return b.end(o)
}

func (b *builder) objects(objs []*inventory.Object, out []*ast.Term) error {
	for i, obj := range objs {
		if obj == nil {
			return fmt.Errorf("convert objects: object %d is nil", i)
		}
		t, err := b.object(obj)
		if err != nil {
			return err
		}
		out[i] = t
	}
	return nil
}

func (b *builder) object(obj *inventory.Object) (*ast.Term, error) {
	if obj.FactOnly {
		return ast.NullTerm(), nil
	}
	if obj.Memo != nil {
		// A cached object: its fields but ref (whose id is per snapshot)
		// are converted once, and shared by every decision.
		fields, _ := obj.Memo.Load().([][2]*ast.Term)
		if fields == nil {
			o := b.begin()
			if err := b.fields(obj); err != nil {
				return nil, err
			}
			fields = slices.Clone(b.stack[o:])
			clear(b.stack[o:])
			b.stack = b.stack[:o]
			obj.Memo.Store(fields)
		}
		o := b.begin()
		b.put("ref", b.ref(obj.Ref))
		b.stack = append(b.stack, fields...)
		return b.end(o), nil
	}
	o := b.begin()
	b.put("ref", b.ref(obj.Ref))
	if err := b.fields(obj); err != nil {
		return nil, err
	}
	return b.end(o), nil
}

// fields puts an object's fields but ref: apiVersion, kind, metadata and
// the body's top-level fields.
func (b *builder) fields(obj *inventory.Object) error {
	o := len(b.stack)
	b.putShared("apiVersion", obj.Ref.APIVersion)
	b.putShared("kind", obj.Ref.Kind)
	b.put("metadata", b.metadata(&obj.Metadata))
	for k, v := range obj.Body {
		switch k {
		case "ref", "apiVersion", "kind", "metadata":
			// Built from Ref and Metadata; a Body copy would conflict.
			continue
		}
		t, err := b.value(v)
		if err != nil {
			b.stack = b.stack[:o]
			return fmt.Errorf("convert %s %s/%s field %s: %w", obj.Ref.Kind, obj.Ref.Namespace, obj.Ref.Name, k, err)
		}
		b.put(k, t)
	}
	return nil
}

func (b *builder) metadata(m *inventory.Metadata) *ast.Term {
	o := b.begin()
	b.putString("name", m.Name)
	if m.Namespace != "" {
		b.putShared("namespace", m.Namespace)
	}
	b.putOptString("generateName", m.GenerateName)
	b.putOptString("uid", m.UID)
	if len(m.Labels) > 0 {
		b.put("labels", b.stringMap(m.Labels))
	}
	if len(m.Annotations) > 0 {
		b.put("annotations", b.stringMap(m.Annotations))
	}
	if len(m.Finalizers) > 0 {
		b.put("finalizers", b.strings(m.Finalizers, true))
	}
	if len(m.OwnerReferences) > 0 {
		refs := make([]*ast.Term, len(m.OwnerReferences))
		for i, r := range m.OwnerReferences {
			or := b.begin()
			b.putShared("apiVersion", r.APIVersion)
			b.putShared("kind", r.Kind)
			b.putString("name", r.Name)
			b.putOptString("uid", r.UID)
			if r.Controller {
				b.put("controller", ast.BooleanTerm(true))
			}
			if r.BlockOwnerDeletion {
				b.put("blockOwnerDeletion", ast.BooleanTerm(true))
			}
			refs[i] = b.end(or)
		}
		b.put("ownerReferences", ast.NewTerm(ast.NewArray(refs...)))
	}
	b.putOptString("creationTimestamp", m.CreationTimestamp)
	b.putOptString("deletionTimestamp", m.DeletionTimestamp)
	if m.DeletionGracePeriodSeconds != nil {
		b.put("deletionGracePeriodSeconds", ast.IntNumberTerm(int(*m.DeletionGracePeriodSeconds)))
	}
	return b.end(o)
}

func (b *builder) stringMap(m map[string]string) *ast.Term {
	o := b.begin()
	for k, v := range m {
		b.put(k, b.str(v))
	}
	return b.end(o)
}

// strings converts a string slice; shared is for values that repeat across
// objects (finalizer names, kinds).
func (b *builder) strings(ss []string, shared bool) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		if shared {
			terms[i] = b.str(s)
		} else {
			terms[i] = ast.StringTerm(s)
		}
	}
	return ast.NewTerm(ast.NewArray(terms...))
}

func (b *builder) ints(xs []int) *ast.Term {
	terms := make([]*ast.Term, len(xs))
	for i, x := range xs {
		terms[i] = ast.IntNumberTerm(x)
	}
	return ast.NewTerm(ast.NewArray(terms...))
}

// value converts a JSON-like value (what inventory keeps in Object.Body).
func (b *builder) value(v any) (*ast.Term, error) {
	switch x := v.(type) {
	case nil:
		return ast.NullTerm(), nil
	case string:
		return ast.StringTerm(x), nil
	case bool:
		return ast.BooleanTerm(x), nil
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return ast.IntNumberTerm(int(x)), nil
		}
		return ast.FloatNumberTerm(x), nil
	case int64:
		return ast.NumberTerm(json.Number(strconv.FormatInt(x, 10))), nil
	case int:
		return ast.IntNumberTerm(x), nil
	case int32:
		return ast.IntNumberTerm(int(x)), nil
	case json.Number:
		return ast.NumberTerm(x), nil
	case []any:
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			t, err := b.value(e)
			if err != nil {
				return nil, err
			}
			terms[i] = t
		}
		return ast.NewTerm(ast.NewArray(terms...)), nil
	case map[string]any:
		o := b.begin()
		for k, e := range x {
			t, err := b.value(e)
			if err != nil {
				b.stack = b.stack[:o]
				return nil, err
			}
			b.put(k, t)
		}
		return b.end(o), nil
	case []string:
		return b.strings(x, false), nil
	case map[string]string:
		return b.stringMap(x), nil
	case time.Time:
		// YAML decoders may turn unquoted timestamps into time.Time.
		return ast.StringTerm(x.UTC().Format(time.RFC3339)), nil
	default:
		return nil, fmt.Errorf("unsupported value of type %T", v)
	}
}

func (b *builder) finalizers(facts []*inventory.FinalizerFact) *ast.Term {
	terms := make([]*ast.Term, 0, len(facts))
	for _, f := range facts {
		if f == nil {
			continue
		}
		o := b.begin()
		b.putShared("finalizer", f.Finalizer)
		b.putShared("namespace", f.Namespace)
		b.put("objects", b.ints(f.Objects))
		if len(f.Expected) > 0 {
			b.put("expected", b.ints(f.Expected))
		}
		b.put("kinds", b.strings(f.Kinds, true))
		if f.Catalog != "" {
			b.putShared("catalog", f.Catalog)
		}
		b.put("builtin", ast.BooleanTerm(f.Builtin))
		handlers := make([]*ast.Term, 0, len(f.Handlers))
		for _, h := range f.Handlers {
			if h == nil {
				continue
			}
			ho := b.begin()
			b.put("workload", b.ref(h.Workload))
			b.putShared("namespace", h.Namespace)
			if h.ServiceAccount != "" {
				b.putShared("serviceAccount", h.ServiceAccount)
			}
			b.put("via", b.strings(h.Via, true))
			b.putShared("liveness", h.Liveness)
			if len(h.Evidence) > 0 {
				b.put("evidence", b.strings(h.Evidence, false))
			}
			handlers = append(handlers, b.end(ho))
		}
		b.put("handlers", ast.NewTerm(ast.NewArray(handlers...)))
		b.putShared("liveness", f.Liveness)
		if len(f.Evidence) > 0 {
			b.put("evidence", b.strings(f.Evidence, false))
		}
		terms = append(terms, b.end(o))
	}
	return ast.NewTerm(ast.NewArray(terms...))
}

func (b *builder) services(svcs map[string]*inventory.ServiceFact) *ast.Term {
	kvs := make([][2]*ast.Term, 0, len(svcs))
	for key, sf := range svcs {
		if sf == nil {
			continue
		}
		o := b.begin()
		b.putShared("namespace", sf.Namespace)
		b.putString("name", sf.Name)
		if sf.Exists != nil {
			b.put("exists", ast.BooleanTerm(*sf.Exists))
		}
		if sf.ReadyEndpoints != nil {
			b.put("readyEndpoints", ast.IntNumberTerm(*sf.ReadyEndpoints))
		}
		b.put("objectID", ast.IntNumberTerm(sf.ObjectID))
		kvs = append(kvs, ast.Item(ast.StringTerm(key), b.end(o)))
	}
	return ast.NewTerm(ast.NewObject(kvs...))
}

func (b *builder) discovery(d *inventory.Discovery) *ast.Term {
	o := b.begin()
	if len(d.FailedGroupVersions) > 0 {
		terms := make([]*ast.Term, len(d.FailedGroupVersions))
		for i, f := range d.FailedGroupVersions {
			fo := b.begin()
			b.putString("groupVersion", f.GroupVersion)
			b.putString("error", f.Error)
			terms[i] = b.end(fo)
		}
		b.put("failedGroupVersions", ast.NewTerm(ast.NewArray(terms...)))
	}
	b.put("resourceTypes", ast.IntNumberTerm(d.ResourceTypes))
	return b.end(o)
}

// index builds the lookups that let rules join without nested iteration.
// The arrays share the object terms built for input.objects.
func (b *builder) index(s *inventory.Snapshot, objects []*ast.Term) *ast.Term {
	byKind := map[string][]*ast.Term{}
	byNamespace := map[string][]*ast.Term{}
	byFinalizer := map[string][]*ast.Term{}
	counts := map[string]map[string]int{}
	var withFinalizers, waivers []*ast.Term
	refKey := ast.StringTerm("ref")
	for i, obj := range s.Objects {
		if obj.FactOnly {
			continue
		}
		t := objects[i]
		gk := obj.Ref.GroupKind()
		byKind[gk] = append(byKind[gk], t)
		if ns := obj.Metadata.Namespace; ns != "" {
			byNamespace[ns] = append(byNamespace[ns], t)
			c := counts[ns]
			if c == nil {
				c = map[string]int{}
				counts[ns] = c
			}
			c[gk]++
		}
		if len(obj.Metadata.Finalizers) > 0 {
			withFinalizers = append(withFinalizers, t)
			for j, f := range obj.Metadata.Finalizers {
				if !slices.Contains(obj.Metadata.Finalizers[:j], f) {
					byFinalizer[f] = append(byFinalizer[f], t)
				}
			}
		}
		if len(obj.Metadata.Annotations) > 0 {
			waivers = b.waivers(waivers, obj, t.Value.(ast.Object).Get(refKey))
		}
	}

	o := b.begin()
	b.put("byKind", b.termLists(byKind))
	b.put("byNamespace", b.termLists(byNamespace))
	b.put("byFinalizer", b.termLists(byFinalizer))
	nsCounts := b.begin()
	for ns, c := range counts {
		kc := b.begin()
		for gk, n := range c {
			b.put(gk, ast.IntNumberTerm(n))
		}
		b.put(ns, b.end(kc))
	}
	b.put("counts", b.end(nsCounts))
	b.put("withFinalizers", ast.NewTerm(ast.NewArray(withFinalizers...)))
	b.put("waivers", ast.NewTerm(ast.NewArray(waivers...)))
	return b.end(o)
}

func (b *builder) waivers(dst []*ast.Term, obj *inventory.Object, ref *ast.Term) []*ast.Term {
	var keys []string
	for k := range obj.Metadata.Annotations {
		if strings.HasPrefix(k, WaiverPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // deterministic order of the index
	for _, k := range keys {
		o := b.begin()
		b.putShared("rule", strings.TrimPrefix(k, WaiverPrefix))
		b.putString("reason", obj.Metadata.Annotations[k])
		b.put("ref", ref)
		dst = append(dst, b.end(o))
	}
	return dst
}

func (b *builder) termLists(m map[string][]*ast.Term) *ast.Term {
	o := b.begin()
	for k, ts := range m {
		b.put(k, ast.NewTerm(ast.NewArray(ts...)))
	}
	return b.end(o)
}
