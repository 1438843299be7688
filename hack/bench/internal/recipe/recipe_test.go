package recipe

import "testing"

func TestCount(t *testing.T) {
	out := []byte(`NAME                         DATA   AGE
configmap/config-0           1      5m
configmap/kube-root-ca.crt   1      5m
NAME                TYPE     DATA   AGE
secret/secret-0     Opaque   1      5m

NAME                              AGE
widget1.apps.bench.example.io/widget1-0   5m
`)
	objects, types := Count(out)
	if objects != 4 || types != 3 {
		t.Fatalf("got %d objects of %d types; want 4 of 3", objects, types)
	}
}
