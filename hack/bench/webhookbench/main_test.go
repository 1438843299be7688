package main

import (
	"math"
	"testing"
	"time"
)

func TestParseLog(t *testing.T) {
	text := `{"logger":"inventory","ts":"2026-12-01 15:00:00.000000","level":2,"msg":"snapshot from cache","namespace":"bench-10","objects":1500,"requests":2,"duration":"2.5ms","complete":true}
{"logger":"webhook","ts":"2026-12-01 15:00:00.000000","level":0,"msg":"decision","namespace":"bench-10","user":"admin","result":"denied","allowed":false,"rules":["orphaned-finalizer"],"duration":"12.345ms","complete":true,"dryRun":true,"mode":"enforce","reason":""}
{"logger":"webhook","level":0,"msg":"decision","namespace":"other","result":"allowed","duration":"1ms","complete":true}
{"logger":"webhook","level":0,"msg":"decision","namespace":"bench-10","result":"unchecked","duration":"3s","complete":false}
not json
`
	d := parseLog(text, "bench-10")
	if len(d.decisions) != 2 || d.decisions[0] != 12345*time.Microsecond || d.decisions[1] != 3*time.Second {
		t.Fatalf("decisions %v", d.decisions)
	}
	if len(d.snapshots) != 1 || d.snapshots[0] != 2500*time.Microsecond || d.objects != 1500 || d.requests != 2 {
		t.Fatalf("snapshots %v, objects %d, requests %d", d.snapshots, d.objects, d.requests)
	}
	if d.results["denied"] != 1 || d.results["unchecked"] != 1 || d.incomplete != 1 {
		t.Fatalf("results %v, incomplete %d", d.results, d.incomplete)
	}
}

func TestSlope(t *testing.T) {
	xs := []float64{0, 10000, 20000, 30000}
	ys := []float64{50e6, 60e6, 71e6, 80e6}
	if got := slope(xs, ys) * 10000; math.Abs(got-10.1e6) > 1e3 {
		t.Fatalf("slope per 10k = %v, want 10.1e6", got)
	}
	if slope([]float64{1, 1}, []float64{2, 3}) != 0 || slope(nil, nil) != 0 {
		t.Fatal("a slope without distinct x")
	}
}

func TestEvaluate(t *testing.T) {
	r := results{
		Cells: []cell{
			{Cluster: "full", Mode: "watch", Namespace: "bench-5000", NamespaceObjects: 5000, RoundTripP50: 40 * time.Millisecond, RoundTripP99: 90 * time.Millisecond},
			{Cluster: "full", Mode: "list", Namespace: "bench-5000", NamespaceObjects: 5000, RoundTripP50: 80 * time.Millisecond, RoundTripP99: 150 * time.Millisecond},
		},
		Recipes: []recipeResult{{Namespace: "bench-5000", Best: 9 * time.Second, Median: 10 * time.Second}},
	}
	r.evaluate([]string{"watch"})
	if !r.P99TargetMet || !r.SpeedupTargetMet || len(r.Speedups) != 1 || r.Speedups[0].Median != 250 {
		t.Fatalf("watch only: %+v", r)
	}
	r.Speedups = nil
	r.evaluate([]string{"watch", "list"})
	if r.P99TargetMet || !r.SpeedupTargetMet {
		t.Fatalf("with list: p99 met %t, speed-up met %t", r.P99TargetMet, r.SpeedupTargetMet)
	}
}
