package population

import "testing"

func TestNamespaceCounts(t *testing.T) {
	crds := CRDs(100, false)
	items := Namespace("bench", len(crds), 1200, 2000)
	if len(items) != 2000 {
		t.Fatalf("planned %d objects; want 2000", len(items))
	}
	kinds := map[string]bool{}
	finalizers := 0
	for _, it := range items {
		kinds[it.GVR.GroupResource().String()] = true
		if len(it.Obj.GetFinalizers()) > 0 {
			finalizers++
		}
	}
	if len(kinds) < 100 {
		t.Fatalf("planned %d resource types; want at least 100", len(kinds))
	}
	if finalizers != 200 {
		t.Fatalf("planned %d objects with finalizers; want 200 (one custom resource in six)", finalizers)
	}
}

func TestNamespaceSmall(t *testing.T) {
	// Fewer custom resources than CRDs: one each of the first CRDs.
	items := Namespace("small", 100, 6, 10)
	if len(items) != 10 {
		t.Fatalf("planned %d objects; want 10", len(items))
	}
	names := map[string]bool{}
	for _, it := range items {
		key := it.GVR.Resource + "/" + it.Obj.GetName()
		if names[key] {
			t.Fatalf("%s planned twice", key)
		}
		names[key] = true
	}
}
