package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/nsguard/nsguard/diagnose"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/test/controlplane"
)

// BenchmarkDiagnose runs the diagnosis in-process against the populated
// control plane of make bench-diagnose, so that a CPU profile shows where
// the client's time goes (discovery, listing, decoding, analysis, rules):
//
//	go test ./hack/bench/diagnosebench -run '^$' -bench . -benchtime 10x -cpuprofile bin/bench/diagnose.cpu -o bin/bench/diagnosebench.test
//
// It needs the control-plane binaries (make k8s-bin) and is skipped in
// -short mode. The control plane runs on the same cores, so the profile
// shows the client only; wall time includes waiting for the API server.
func BenchmarkDiagnose(b *testing.B) {
	cp := controlplane.StartForTest(b, controlplane.Options{})
	o := options{namespace: "bench", crds: 100, crsPerCRD: 12, objects: 2000, workers: 16, schemas: true}
	if err := populate(b.Context(), cp, o, &results{}, io.Discard); err != nil {
		b.Fatal(err)
	}
	b.Run("startup", func(b *testing.B) {
		for b.Loop() {
			if _, err := policies.New(context.Background(), policies.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	engine, err := policies.New(context.Background(), policies.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("inventory", func(b *testing.B) {
		for b.Loop() {
			if _, err := inventory.FromCluster(context.Background(), cp.Config, o.namespace, inventory.ClusterOptions{Catalog: engine.Catalog()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("run", func(b *testing.B) {
		var objects int
		for b.Loop() {
			res, err := diagnose.Run(context.Background(), cp.Config, o.namespace, engine, diagnose.RunOptions{Timeout: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			objects = res.Report.ObjectsInNamespace
		}
		b.ReportMetric(float64(objects), "objects")
	})
}
