package controlplane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

var crdResource = schema.GroupVersionResource{
	Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions",
}

// Apply server-side applies every object of a multi-document YAML (or
// JSON) manifest, in order, as field manager FieldManager, forcing
// conflicts. Namespaced objects without a namespace go to "default". After
// a CustomResourceDefinition it waits until the CRD is Established and its
// kind is in discovery, so later documents may use it.
func (cp *ControlPlane) Apply(ctx context.Context, manifest string) error {
	objs, err := decodeManifest(manifest)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if err := cp.applyObject(ctx, obj); err != nil {
			return fmt.Errorf("apply %s %s: %w", obj.GetKind(), objectKey(obj), err)
		}
	}
	return nil
}

// decodeManifest splits a manifest into objects, expanding kind: List.
func decodeManifest(manifest string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifest document %d: %w", i, err)
		}
		data, err := utilyaml.ToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("manifest document %d: %w", i, err)
		}
		if s := strings.TrimSpace(string(data)); s == "null" || s == "" || s == "{}" {
			continue // empty document or only comments
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("manifest document %d: %w", i, err)
		}
		if obj.IsList() {
			err := obj.EachListItem(func(o runtime.Object) error {
				objs = append(objs, o.(*unstructured.Unstructured))
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("manifest document %d: %w", i, err)
			}
			continue
		}
		objs = append(objs, obj)
	}
}

func (cp *ControlPlane) applyObject(ctx context.Context, obj *unstructured.Unstructured) error {
	if obj.GetName() == "" {
		return errors.New("server-side apply needs metadata.name")
	}
	mapping, err := cp.restMapping(ctx, obj.GroupVersionKind(), 3*time.Second)
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = cp.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(metav1.NamespaceDefault)
		}
		ri = cp.Dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	} else {
		obj.SetNamespace("")
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: FieldManager, Force: &force}); err != nil {
		return err
	}
	if mapping.Resource.GroupResource() == crdResource.GroupResource() {
		return cp.waitCRD(ctx, obj)
	}
	return nil
}

// restMapping maps gvk, refreshing discovery while the kind is unknown for
// up to timeout (a CRD just created elsewhere, or discovery catching up).
func (cp *ControlPlane) restMapping(ctx context.Context, gvk schema.GroupVersionKind, timeout time.Duration) (*meta.RESTMapping, error) {
	var mapping *meta.RESTMapping
	var lastErr error
	err := WaitFor(ctx, timeout, 200*time.Millisecond, func(context.Context) (bool, error) {
		m, err := cp.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err == nil {
			mapping = m
			return true, nil
		}
		if !meta.IsNoMatchError(err) {
			return false, err
		}
		lastErr = err
		cp.Mapper.Reset()
		return false, nil
	})
	if err != nil && lastErr != nil {
		return nil, fmt.Errorf("%w (%v)", lastErr, err)
	}
	return mapping, err
}

// waitCRD waits until a CRD is Established and then until each of its
// served versions maps to a resource.
func (cp *ControlPlane) waitCRD(ctx context.Context, crd *unstructured.Unstructured) error {
	err := WaitFor(ctx, 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		got, err := cp.Dynamic.Resource(crdResource).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s to be Established: %w", crd.GetName(), err)
	}
	cp.Mapper.Reset()
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		if served, _ := m["served"].(bool); !served || name == "" {
			continue
		}
		if _, err := cp.restMapping(ctx, schema.GroupVersionKind{Group: group, Version: name, Kind: kind}, 30*time.Second); err != nil {
			return fmt.Errorf("CRD %s version %s not in discovery: %w", crd.GetName(), name, err)
		}
	}
	return nil
}

func objectKey(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}
