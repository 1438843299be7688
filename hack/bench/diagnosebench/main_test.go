package main

import "testing"

func TestCountRecipe(t *testing.T) {
	out := []byte(`NAME                         DATA   AGE
configmap/config-0           1      5m
configmap/kube-root-ca.crt   1      5m
NAME                TYPE     DATA   AGE
secret/secret-0     Opaque   1      5m

NAME                              AGE
widget1.apps.bench.example.io/widget1-0   5m
`)
	objects, types := countRecipe(out)
	if objects != 4 || types != 3 {
		t.Fatalf("got %d objects of %d types; want 4 of 3", objects, types)
	}
}

func TestPlanCounts(t *testing.T) {
	p := plan("bench", 100, 12, 2000, false)
	if len(p.crds) != 100 || len(p.namespaced) != 2000 {
		t.Fatalf("planned %d CRDs and %d objects; want 100 and 2000", len(p.crds), len(p.namespaced))
	}
	kinds := map[string]bool{}
	for _, it := range p.namespaced {
		kinds[it.gvr.GroupResource().String()] = true
	}
	if len(kinds) < 100 {
		t.Fatalf("planned %d resource types; want at least 100", len(kinds))
	}
}
