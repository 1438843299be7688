package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
)

type results struct {
	Date    string `json:"date"`
	Machine string `json:"machine"`
	// LoadBefore and LoadAfter say how busy the machine was around the
	// measured deletions in the full cluster and the recipe.
	LoadBefore     string `json:"loadBefore"`
	LoadAfter      string `json:"loadAfter"`
	CRDs           int    `json:"crds"`
	LargeSchemas   bool   `json:"largeCrdSchemas"`
	Created        int    `json:"objectsCreated"`
	ClusterObjects int    `json:"clusterObjects"` // in the watch cache: everything but Events and finished pods
	ResourceTypes  int    `json:"resourceTypes"`  // namespaced, listable, as kubectl api-resources lists them

	Cells   []cell         `json:"cells"`
	Recipes []recipeResult `json:"recipes"`
	Memory  []memoryResult `json:"memory"`

	Speedups         []speedup `json:"speedups"`
	P99TargetMet     bool      `json:"p99TargetMet"`
	SpeedupTargetMet bool      `json:"speedupTargetMet"`
}

// memoryResult is one webhook process's memory.
type memoryResult struct {
	What          string `json:"what"`
	CachedObjects int    `json:"cachedObjects"`
	RSS           int64  `json:"rssBytes"`
	PeakRSS       int64  `json:"peakRssBytes"`
	HeapInuse     int64  `json:"heapInuseBytes"`
	LiveHeap      int64  `json:"liveHeapBytes"`
	// RSSPer10k, HeapPer10k and LivePer10k are the least-squares slopes of
	// the samples taken while the measured namespaces were created (from
	// FitFrom to FitTo cached objects): bytes per 10,000 cached objects.
	FitFrom    int           `json:"fitFromObjects"`
	FitTo      int           `json:"fitToObjects"`
	RSSPer10k  float64       `json:"rssPer10kObjectsBytes"`
	HeapPer10k float64       `json:"heapInusePer10kObjectsBytes"`
	LivePer10k float64       `json:"liveHeapPer10kObjectsBytes"`
	ReadyIn    time.Duration `json:"readyInNs,omitempty"`
	SyncedIn   time.Duration `json:"syncedInNs,omitempty"`
	Samples    []memSample   `json:"samples"`
}

// speedup compares the recipe with one mode's round trip on a namespace.
type speedup struct {
	Namespace string  `json:"namespace"`
	Mode      string  `json:"mode"`
	Median    float64 `json:"recipeMedianOverP50"`
	Worst     float64 `json:"recipeBestOverP99"`
}

func (r *results) full(mode, ns string) (cell, bool) {
	for _, c := range r.Cells {
		if c.Cluster == "full" && c.Mode == mode && c.Namespace == ns {
			return c, true
		}
	}
	return cell{}, false
}

// evaluate computes the speed-ups and checks the targets: p99 under
// targetP99 at targetP99Objects in every mode, and the recipe's median at
// least targetSpeedup times the round trip's p50 on every namespace.
func (r *results) evaluate(modes []string) {
	r.P99TargetMet, r.SpeedupTargetMet = true, true
	seen := false
	for _, mode := range modes {
		for _, rec := range r.Recipes {
			c, ok := r.full(mode, rec.Namespace)
			if !ok {
				continue
			}
			s := speedup{Namespace: rec.Namespace, Mode: mode,
				Median: rec.Median.Seconds() / c.RoundTripP50.Seconds(), Worst: rec.Best.Seconds() / c.RoundTripP99.Seconds()}
			r.Speedups = append(r.Speedups, s)
			if s.Median < targetSpeedup {
				r.SpeedupTargetMet = false
			}
			if c.NamespaceObjects == targetP99Objects {
				seen = true
				if c.RoundTripP99 >= targetP99 {
					r.P99TargetMet = false
				}
			}
		}
	}
	if !seen {
		r.P99TargetMet = false
	}
}

func (r *results) print(out io.Writer, modes []string) {
	fmt.Fprintln(out, "Admission: server-side dry-run DELETE of the namespace through kube-apiserver (enforce mode)")
	fmt.Fprintf(out, "%-9s %-6s %9s %5s | %-10s %-10s | %-10s %-10s | %-10s | %-10s | %s\n",
		"cluster", "mode", "ns objs", "reps", "trip p50", "trip p99", "decide p50", "decide p99", "snap p50", "CPU/dec", "results")
	for _, c := range r.Cells {
		fmt.Fprintf(out, "%-9s %-6s %9s %5d | %-10s %-10s | %-10s %-10s | %-10s | %-10s | %s\n",
			measure.Group(int64(c.ClusterObjects)), c.Mode, measure.Group(int64(c.NamespaceObjects)), c.Reps,
			measure.Millis(c.RoundTripP50), measure.Millis(c.RoundTripP99), measure.Millis(c.DecisionP50), measure.Millis(c.DecisionP99),
			measure.Millis(c.SnapshotP50), measure.Millis(c.CPUPerDecision), resultWords(c))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "The kubectl recipe on the same namespaces (full cluster; %d namespaced, listable resource types: one kubectl each)\n", r.ResourceTypes)
	head := fmt.Sprintf("%-12s %-10s %-10s %-9s", "namespace", "best", "median", "seen")
	for _, m := range modes {
		head += fmt.Sprintf(" | %-5s p50 ×  (best ÷ p99)", m)
	}
	fmt.Fprintln(out, head)
	for _, rec := range r.Recipes {
		line := fmt.Sprintf("%-12s %-10s %-10s %-9s", rec.Namespace, measure.Seconds(rec.Best), measure.Seconds(rec.Median), measure.Group(int64(rec.Objects)))
		for _, m := range modes {
			for _, s := range r.Speedups {
				if s.Mode == m && s.Namespace == rec.Namespace {
					line += fmt.Sprintf(" | %7.0f×  (%5.0f×)        ", s.Median, s.Worst)
				}
			}
		}
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Memory of nsguard serve (live heap: what the last collection left); growth per 10,000 cached objects, fitted while the measured namespaces were created")
	fmt.Fprintf(out, "%-35s %-8s %-8s %-9s %-8s | %-8s %-8s %-8s %s\n", "", "cached", "RSS", "peak RSS", "live", "RSS/10k", "heap/10k", "live/10k", "fitted over")
	for _, m := range r.Memory {
		fit := "-"
		if m.FitTo-m.FitFrom >= 1000 {
			fit = fmt.Sprintf("%-8s %-8s %-8s %s–%s objects", measure.MiB(int64(m.RSSPer10k)), measure.MiB(int64(m.HeapPer10k)),
				measure.MiB(int64(m.LivePer10k)), measure.Group(int64(m.FitFrom)), measure.Group(int64(m.FitTo)))
		}
		fmt.Fprintf(out, "%-35s %-8s %-8s %-9s %-8s | %s\n", m.What, measure.Group(int64(m.CachedObjects)), measure.MiB(m.RSS), measure.MiB(m.PeakRSS),
			measure.MiB(m.LiveHeap), fit)
		if m.ReadyIn > 0 {
			fmt.Fprintf(out, "%-35s ready (called by the API server) %s after its start, cache filled after %s\n", "", m.ReadyIn.Round(100*time.Millisecond), m.SyncedIn.Round(100*time.Millisecond))
		}
	}
	fmt.Fprintln(out)
	met := map[bool]string{true: "met", false: "MISSED"}
	for _, m := range modes {
		for _, c := range r.Cells {
			if c.Cluster == "full" && c.Mode == m && c.NamespaceObjects == targetP99Objects {
				fmt.Fprintf(out, "p99 at %s objects, %s: %s (target < %s)\n", measure.Group(targetP99Objects), m, measure.Millis(c.RoundTripP99), measure.Millis(targetP99))
			}
		}
	}
	fmt.Fprintf(out, "p99 target: %s; speed-up target (recipe median ≥ %.0f× the p50 round trip on every namespace): %s\n",
		met[r.P99TargetMet], targetSpeedup, met[r.SpeedupTargetMet])
}
