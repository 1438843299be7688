package main

import "testing"

func TestCountNSGuard(t *testing.T) {
	out := []byte(`{"findings": [
		{"rule": "hardcoded-finalizer", "file": "a.yaml", "line": 3},
		{"rule": "hardcoded-finalizer", "file": "a.yaml", "line": 3},
		{"rule": "hardcoded-finalizer", "file": "a.yaml", "line": 9},
		{"rule": "controller-in-namespace", "file": "b.yaml", "line": 1}
	], "errors": []}`)
	fin, all, err := countNSGuard(out)
	if err != nil || fin != 2 || all != 4 {
		t.Fatalf("got %d, %d, %v; want 2 objects, 4 findings", fin, all, err)
	}
}

func TestCountConftest(t *testing.T) {
	out := []byte(`[{"filename": "a.yaml", "successes": 3, "failures": [{"msg": "x"}, {"msg": "y"}]},
		{"filename": "b.json", "successes": 1, "warnings": [{"msg": "w"}]}]`)
	fails, all, err := countConftest(out)
	if err != nil || fails != 2 || all != 3 {
		t.Fatalf("got %d, %d, %v; want 2 failures, 3 results", fails, all, err)
	}
}
