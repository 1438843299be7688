package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
	"github.com/nsguard/nsguard/test/controlplane"
)

// webhookProc is a running nsguard serve and the memory samples taken of
// it.
type webhookProc struct {
	w         *controlplane.Webhook
	started   time.Time
	startedIn time.Duration

	mu      sync.Mutex
	samples []memSample
}

// memSample is the webhook's memory at one moment, beside what its cache
// held.
type memSample struct {
	At            time.Duration `json:"atNs"`
	CachedObjects int           `json:"cachedObjects"`
	RSS           int64         `json:"rssBytes"`
	// HeapInuse is the Go heap's spans in use (go_memstats_heap_inuse_bytes):
	// what is cached, plus garbage not yet collected.
	HeapInuse int64 `json:"heapInuseBytes"`
	// LiveHeap is the heap the last collection left, from the next
	// collection's goal (go_memstats_next_gc_bytes) at nsguard serve's
	// GOGC=100: what is cached, without garbage.
	LiveHeap int64 `json:"liveHeapBytes"`
	// Phase is 1 while the measured namespaces are created, before any
	// decision, and 2 afterwards.
	Phase int `json:"phase"`
}

// startWebhook starts nsguard serve's webhook alone (no remediator) with
// --namespace-contents contents, registered for the namespaces labelled
// modeLabel=label. It logs each snapshot (-v 2) beside each decision, so
// that the snapshot's share of a decision is known.
func startWebhook(ctx context.Context, cp *controlplane.ControlPlane, nsguard, name, contents, label string) (*webhookProc, error) {
	began := time.Now()
	w, err := cp.StartWebhook(ctx, controlplane.WebhookOptions{
		Binary: nsguard, Name: name, Selector: map[string]string{modeLabel: label},
		Args: []string{"--components", "webhook", "--namespace-contents", contents, "-v", "2"},
	})
	if err != nil {
		return nil, fmt.Errorf("start nsguard serve (%s): %w", contents, err)
	}
	return &webhookProc{w: w, started: began, startedIn: time.Since(began)}, nil
}

// sample reads the webhook's metrics and memory, and keeps the sample.
func (p *webhookProc) sample(ctx context.Context, since time.Time, phase int) (memSample, error) {
	text, err := p.w.Metrics(ctx)
	if err != nil {
		return memSample{}, fmt.Errorf("read nsguard serve's metrics: %w", err)
	}
	m, err := measure.ProcMemory(p.w.PID())
	if err != nil {
		return memSample{}, err
	}
	objects, _ := measure.MetricSum(text, "nsguard_cache_objects")
	heap, _ := measure.MetricSum(text, "go_memstats_heap_inuse_bytes")
	nextGC, _ := measure.MetricSum(text, "go_memstats_next_gc_bytes")
	s := memSample{At: time.Since(since), CachedObjects: int(objects), RSS: m.RSS, HeapInuse: int64(heap), LiveHeap: int64(nextGC / 2), Phase: phase}
	p.mu.Lock()
	p.samples = append(p.samples, s)
	p.mu.Unlock()
	return s, nil
}

// cachedObjects is what the cache holds now (0 when unknown).
func (p *webhookProc) cachedObjects(ctx context.Context) int {
	text, err := p.w.Metrics(ctx)
	if err != nil {
		return 0
	}
	n, _ := measure.MetricSum(text, "nsguard_cache_objects")
	return int(n)
}

// waitCache waits until the cache holds at least min objects and its count
// has not changed for 3 s, and returns when it last changed, from the
// process's start.
func (p *webhookProc) waitCache(ctx context.Context, min int) (time.Duration, error) {
	last, changed := -1, time.Now()
	err := controlplane.WaitFor(ctx, 3*time.Minute, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		n := p.cachedObjects(ctx)
		if n != last {
			last, changed = n, time.Now()
		}
		return n >= min && time.Since(changed) >= 3*time.Second, nil
	})
	if err != nil {
		return 0, fmt.Errorf("wait for the cache to fill (%d objects, want %d): %w", last, min, err)
	}
	return changed.Sub(p.started), nil
}

// startSampling samples every webhook's memory each second until the
// returned function is called. It runs during population only: reading
// nsguard_cache_objects walks every informer's keys, which would weigh on
// the CPU measured per decision.
func startSampling(ctx context.Context, procs map[string]*webhookProc, since time.Time, phase int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				_, _ = p.sample(ctx, since, phase)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// memoryResult sums up the process's memory now and its last sample, and
// fits its memory against the objects cached over the phase 1 samples:
// growth that no decision has disturbed yet.
func (p *webhookProc) memoryResult(what string, now measure.Memory) memoryResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := memoryResult{What: what, RSS: now.RSS, PeakRSS: now.Peak, Samples: p.samples}
	var xs, rss, heap, live []float64
	for _, s := range p.samples {
		if s.CachedObjects == 0 {
			continue // not read
		}
		r.CachedObjects, r.HeapInuse, r.LiveHeap = s.CachedObjects, s.HeapInuse, s.LiveHeap
		if s.Phase != 1 {
			continue
		}
		xs = append(xs, float64(s.CachedObjects))
		rss = append(rss, float64(s.RSS))
		heap = append(heap, float64(s.HeapInuse))
		live = append(live, float64(s.LiveHeap))
	}
	if len(xs) > 0 {
		r.FitFrom, r.FitTo = int(slices.Min(xs)), int(slices.Max(xs))
	}
	r.RSSPer10k = slope(xs, rss) * 10000
	r.HeapPer10k = slope(xs, heap) * 10000
	r.LivePer10k = slope(xs, live) * 10000
	return r
}
