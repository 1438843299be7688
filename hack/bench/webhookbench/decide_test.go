package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/hack/bench/internal/population"
	"github.com/nsguard/nsguard/inventory"
	"github.com/nsguard/nsguard/policies"
	"github.com/nsguard/nsguard/test/controlplane"
	"github.com/nsguard/nsguard/webhook"
)

// BenchmarkDecide runs the webhook's decision in process, split into its
// phases, against a control plane populated as make bench-webhook does
// (smaller: namespaces of 10, 1,000 and 5,000 objects, and 10 others of
// 1,000 with pods), so that a CPU profile shows where a decision's time
// goes:
//
//	go test ./hack/bench/webhookbench -run '^$' -bench . -benchtime 20x -cpuprofile bin/bench/webhook.cpu -o bin/bench/webhookbench.test
//
// It needs the control-plane binaries (make k8s-bin) and is skipped in
// -short mode. Sub-benchmarks: <mode>/<objects>/snapshot (Cache.Snapshot,
// Analyze included), /input (the snapshot as a Rego value), /evaluate
// (every rule, the input included) and /decide (all of it as nsguard serve
// runs it: snapshot, rules, and the denial with its plan).
func BenchmarkDecide(b *testing.B) {
	cp := controlplane.StartForTest(b, controlplane.Options{APIServerArgs: []string{"--service-cluster-ip-range=10.0.0.0/16"}})
	ctx := b.Context()
	c, err := population.NewCreator(cp.Config)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.CreateCRDs(ctx, population.CRDs(100, false)); err != nil {
		b.Fatal(err)
	}
	sizes := []int{10, 1000, 5000}
	var items []population.Item
	for _, size := range sizes {
		name := fmt.Sprintf("bench-%d", size)
		if err := c.CreateNamespace(ctx, name, nil); err != nil {
			b.Fatal(err)
		}
		items = append(items, population.Namespace(name, 100, size*6/10, size)...)
	}
	var pods []population.Item
	for i := range 10 {
		name := fmt.Sprintf("fill-%02d", i)
		if err := c.CreateNamespace(ctx, name, nil); err != nil {
			b.Fatal(err)
		}
		items = append(items, population.Namespace(name, 100, 540, 900)...)
		pods = append(pods, population.Pods(name, 100)...)
	}
	if err := c.Create(ctx, append(items, pods...), 32, 0, nil); err != nil {
		b.Fatal(err)
	}
	engine, err := policies.New(context.Background(), policies.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{inventory.ContentsWatch, inventory.ContentsList} {
		cache, err := inventory.NewCache(cp.Config, inventory.CacheOptions{Contents: mode, Catalog: engine.Catalog()})
		if err != nil {
			b.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		if err := cache.Start(cctx); err != nil {
			b.Fatal(err)
		}
		if !cache.WaitForSync(cctx) {
			b.Fatal("caches did not sync")
		}
		// The contents informers are not waited for by WaitForSync.
		last, same := -1, 0
		if err := controlplane.WaitFor(ctx, 2*time.Minute, 500*time.Millisecond, func(context.Context) (bool, error) {
			n := 0
			for _, v := range cache.Sizes() {
				n += v
			}
			if n == last {
				same++
			} else {
				last, same = n, 0
			}
			return same >= 4, nil
		}); err != nil {
			b.Fatal(err)
		}
		decider, err := webhook.NewDecider(webhook.Options{Source: cache, Engine: engine, Catalog: engine.Catalog(), Budget: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range sizes {
			name := fmt.Sprintf("bench-%d", size)
			ns, err := cp.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			snap, err := cache.Snapshot(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			if dir := os.Getenv("NSGUARD_BENCH_DUMP_INPUT"); dir != "" {
				dumpInput(b, snap, fmt.Sprintf("%s/%s-%d.json", dir, mode, size))
			}
			b.Run(fmt.Sprintf("%s/%d/snapshot", mode, size), func(b *testing.B) {
				for b.Loop() {
					if _, err := cache.Snapshot(ctx, name); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(snap.Objects)), "objects")
			})
			b.Run(fmt.Sprintf("%s/%d/input", mode, size), func(b *testing.B) {
				for b.Loop() {
					if _, err := policies.InputValue(snap); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/%d/evaluate", mode, size), func(b *testing.B) {
				for b.Loop() {
					if _, err := engine.EvaluateWithWaivers(ctx, snap); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/%d/decide", mode, size), func(b *testing.B) {
				var dec webhook.Decision
				for b.Loop() {
					dec = decider.Decide(ctx, webhook.Request{User: "bench"}, ns)
				}
				if dec.Result == webhook.ResultUnchecked {
					b.Fatalf("decision unchecked: %s", dec.Reason)
				}
			})
		}
		cancel()
	}
}

// dumpInput writes a decision's policy input as JSON, for
// hack/bench/pipeline's rule benchmarks (NSGUARD_BENCH_INPUT): the rules'
// cost on a webhook decision, rule by rule and expression by expression.
func dumpInput(b *testing.B, snap *inventory.Snapshot, path string) {
	b.Helper()
	in, err := policies.InputValue(snap)
	if err != nil {
		b.Fatal(err)
	}
	j, err := ast.JSON(in)
	if err != nil {
		b.Fatal(err)
	}
	data, err := json.Marshal(j)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}
