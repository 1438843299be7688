package inventory

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/nsguard/nsguard/policies/catalog"
)

// LatestKubeVersion is the newest Kubernetes version nsguard knows; lint
// reasons about it unless told otherwise (--kube-version).
var LatestKubeVersion = KubeVersion{Major: 1, Minor: 37, GitVersion: "v1.37.0"}

// ParseKubeVersion reads a version as users write it: "1.33", "v1.33",
// "v1.33.2", "1.34.0-rc.1". Only the major and minor numbers matter to
// rules.
func ParseKubeVersion(s string) (KubeVersion, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "v")
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return KubeVersion{}, fmt.Errorf("invalid Kubernetes version %q: want MAJOR.MINOR such as 1.33", s)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || len(p) > 1 && p[0] == '0' {
			return KubeVersion{}, fmt.Errorf("invalid Kubernetes version %q: want MAJOR.MINOR such as 1.33", s)
		}
		nums[i] = n
	}
	if nums[0] != 1 {
		return KubeVersion{}, fmt.Errorf("unsupported Kubernetes version %q: only 1.x exists", s)
	}
	return KubeVersion{Major: nums[0], Minor: nums[1], GitVersion: "v" + v}, nil
}

// ManifestOptions configure FromManifests.
type ManifestOptions struct {
	// DefaultNamespace receives namespaced objects that set no namespace,
	// as `kubectl apply -n` does; "" means "default".
	DefaultNamespace string
	// KubeVersion is the version rules reason about; zero means
	// LatestKubeVersion.
	KubeVersion KubeVersion
	// Catalog is the finalizer catalog Analyze matches finalizers against;
	// nil skips the analysis (Snapshot.Finalizers stays empty).
	Catalog *catalog.Catalog
	// Now is the time of the analysis; zero means time.Now().
	Now time.Time
}

// FromManifests builds the snapshot of a bundle of manifests (objects as
// trimmed by NewObject, in input order). It places namespaced objects that
// set no namespace in DefaultNamespace and drops the namespace of
// cluster-scoped ones (the API server ignores it), using the built-in kinds
// and the CRDs of the bundle to tell which is which; registers every
// namespace the bundle mentions; records the Services that CRD conversion,
// APIServices and admission webhooks depend on; then runs Analyze.
//
// Lint has no live facts: a Service the bundle lacks is not known to be
// missing (it may exist in the cluster), so its Exists stays nil.
func FromManifests(objs []*Object, opts ManifestOptions) (*Snapshot, error) {
	ns := opts.DefaultNamespace
	if ns == "" {
		ns = "default"
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return nil, fmt.Errorf("invalid namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	kv := opts.KubeVersion
	if kv.Major == 0 {
		kv = LatestKubeVersion
	}

	mapper := NewMapper()
	for _, o := range objs {
		mapper.AddCRD(o)
	}
	s := NewSnapshot(SourceManifests, kv)
	s.Objects = make([]*Object, 0, len(objs))
	for _, o := range objs {
		resource, namespaced, _ := mapper.Lookup(o.Ref.Group, o.Ref.Kind)
		o.Ref.Resource = resource
		switch {
		case namespaced && o.Ref.Namespace == "":
			o.Ref.Namespace = ns
			o.Metadata.Namespace = ns
		case !namespaced:
			o.Ref.Namespace = ""
			o.Metadata.Namespace = ""
		}
		s.Add(o)
	}

	// Services that something depends on, with what the bundle says of them.
	services := map[string]int{} // "namespace/name" → Ref.ID of the Service
	for _, o := range s.Objects {
		if o.Ref.Group == "" && o.Ref.Kind == "Service" {
			services[o.Ref.Namespace+"/"+o.Ref.Name] = o.Ref.ID
		}
	}
	for _, o := range s.Objects {
		for _, ref := range dependedServices(o.Ref.Group, o.Ref.Kind, o.Body) {
			key := ref.namespace + "/" + ref.name
			if _, ok := s.Services[key]; ok {
				continue
			}
			f := &ServiceFact{Namespace: ref.namespace, Name: ref.name, ObjectID: -1}
			if id, ok := services[key]; ok {
				exists := true
				f.Exists, f.ObjectID = &exists, id
			}
			s.Services[key] = f
			// The namespace a webhook depends on is one the bundle mentions,
			// declared in it or not.
			s.EnsureNamespace(ref.namespace)
		}
	}

	if opts.Catalog != nil {
		now := opts.Now
		if now.IsZero() {
			now = time.Now()
		}
		Analyze(s, opts.Catalog, now)
	}
	return s, nil
}
