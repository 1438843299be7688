package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nsguard/nsguard/hack/bench/internal/measure"
)

type results struct {
	Date      string        `json:"date"`
	Machine   string        `json:"machine"`
	Settings  settings      `json:"settings"`
	Finalizer string        `json:"finalizer"`
	Runs      []runResult   `json:"runs"`
	Total     time.Duration `json:"totalNs"`
}

// spread is the distribution of one duration over a run's namespaces.
type spread struct {
	P50 time.Duration `json:"p50Ns"`
	P95 time.Duration `json:"p95Ns"`
	Max time.Duration `json:"maxNs"`
}

func spreadOf(ds []time.Duration) spread {
	return spread{P50: measure.Percentile(ds, 50), P95: measure.Percentile(ds, 95), Max: measure.Percentile(ds, 100)}
}

// runResult is one run: n namespaces stuck at once.
type runResult struct {
	Namespaces          int    `json:"namespaces"`
	ObjectsPerNamespace int    `json:"objectsPerNamespace"`
	LoadBefore          string `json:"loadBefore"`
	LoadAfter           string `json:"loadAfter"`

	// Time from the DELETE to the namespace controller's
	// NamespaceFinalizersRemaining, to stuck (that, or --stuck-after if
	// later), to the finalizer's removal, to the namespace's end.
	FinalizersRemaining spread `json:"finalizersRemainingAfterDeletion"`
	StuckAfterDeletion  spread `json:"stuckAfterDeletion"`
	RemovedAfterStuck   spread `json:"removedAfterStuck"`
	GoneAfterRemoved    spread `json:"goneAfterRemoved"`
	GoneAfterStuck      spread `json:"goneAfterStuck"`
	GoneAfterDeletion   spread `json:"goneAfterDeletion"`
	// NeverStuck counts the namespaces that went without showing
	// NamespaceFinalizersRemaining (left out of the figures from stuck).
	NeverStuck int `json:"neverStuck"`

	// The remediator process, started fresh for the run, and its
	// arguments.
	Args       []string      `json:"remediatorArgs"`
	ReadyIn    time.Duration `json:"readyInNs"`
	StartupCPU time.Duration `json:"startupCpuNs"`
	// Window is from the first DELETE to the second scrape, after the
	// last namespace went (and -settle); CPU is the process's over it.
	Window  time.Duration `json:"windowNs"`
	CPU     time.Duration `json:"cpuNs"`
	RSS     int64         `json:"rssBytes"`
	PeakRSS int64         `json:"peakRssBytes"`

	// Requests is rest_client_requests_total over the window, by
	// "METHOD code"; Audit the API server's record of the same requests.
	Requests requests     `json:"requests"`
	Audit    *auditCounts `json:"audit,omitempty"`
	Activity activity     `json:"activity"`
	Times    []nsTimes    `json:"perNamespace"`
}

// summarize computes the spreads from the times.
func (r *runResult) summarize(stuckAfter time.Duration) {
	var cond, stuck, removed, goneRemoved, goneStuck, goneDeleted []time.Duration
	r.NeverStuck = 0
	for _, t := range r.Times {
		goneDeleted = append(goneDeleted, t.Gone.Sub(t.Deleted))
		if !t.Removed.IsZero() {
			goneRemoved = append(goneRemoved, t.Gone.Sub(t.Removed))
		}
		s := t.stuck(stuckAfter)
		if s.IsZero() {
			r.NeverStuck++
			continue
		}
		cond = append(cond, t.Condition.Sub(t.Deleted))
		stuck = append(stuck, s.Sub(t.Deleted))
		goneStuck = append(goneStuck, t.Gone.Sub(s))
		if !t.Removed.IsZero() {
			removed = append(removed, t.Removed.Sub(s))
		}
	}
	r.FinalizersRemaining, r.StuckAfterDeletion = spreadOf(cond), spreadOf(stuck)
	r.RemovedAfterStuck, r.GoneAfterRemoved = spreadOf(removed), spreadOf(goneRemoved)
	r.GoneAfterStuck, r.GoneAfterDeletion = spreadOf(goneStuck), spreadOf(goneDeleted)
}

func (r runResult) requestsPerNamespace() float64 { return r.Requests.total() / float64(r.Namespaces) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func (s spread) cells() string {
	return fmt.Sprintf("%7s %7s %7s", secs(s.P50), secs(s.P95), secs(s.Max))
}

func (r *results) print(out io.Writer) {
	s := r.Settings
	fmt.Fprintf(out, "Remediator: --stuck-after %s --controller-gone-after %s --recheck-interval %s --remediation-qps %g; finalizer %s\n",
		s.StuckAfter, s.ControllerGoneAfter, s.Recheck, s.QPS, r.Finalizer)
	fmt.Fprintln(out, "stuck = Terminating for --stuck-after with NamespaceFinalizersRemaining; removed = the custom resource went (its finalizer removed)")
	fmt.Fprintf(out, "%-5s | %-23s | %-23s | %-23s | %-23s | %-8s | %-7s | %-8s\n",
		"ns", "gone − stuck", "gone − deletion", "removed − stuck", "gone − removed", "req/ns", "CPU", "peak RSS")
	fmt.Fprintf(out, "%-5s | %-23s | %-23s | %-23s | %-23s | %-8s | %-7s | %-8s\n",
		"", "p50 / p95 / max", "p50 / p95 / max", "p50 / p95 / max", "p50 / p95 / max", "", "", "")
	for _, x := range r.Runs {
		fmt.Fprintf(out, "%-5d | %s | %s | %s | %s | %8.1f | %7s | %-8s\n", x.Namespaces,
			x.GoneAfterStuck.cells(), x.GoneAfterDeletion.cells(), x.RemovedAfterStuck.cells(), x.GoneAfterRemoved.cells(),
			x.requestsPerNamespace(), fmt.Sprintf("%.2f s", x.CPU.Seconds()), measure.MiB(x.PeakRSS))
	}
	fmt.Fprintln(out)
	for _, x := range r.Runs {
		fmt.Fprintf(out, "%d namespace(s): stuck %s after the DELETE (p50; NamespaceFinalizersRemaining after %s, max %s); window %s; %d pass(es), at most %d on one namespace; %d remediated, %d failed, %d error line(s)",
			x.Namespaces, secs(x.StuckAfterDeletion.P50), secs(x.FinalizersRemaining.P50), secs(x.FinalizersRemaining.Max), secs(x.Window),
			x.Activity.Passes, x.Activity.MaxPasses, x.Activity.Remediated, x.Activity.Failed, x.Activity.Errors)
		if x.NeverStuck > 0 {
			fmt.Fprintf(out, "; %d never showed NamespaceFinalizersRemaining", x.NeverStuck)
		}
		fmt.Fprintln(out)
		fmt.Fprintf(out, "    process: ready and leading in %s, start-up CPU %.2f s; CPU over the window %.2f s (%s per namespace, %s per pass); RSS %s, peak %s\n",
			x.ReadyIn.Round(10*time.Millisecond), x.StartupCPU.Seconds(), x.CPU.Seconds(), measure.Millis(x.CPU/time.Duration(x.Namespaces)),
			measure.Millis(x.CPU/time.Duration(max(x.Activity.Passes, 1))), measure.MiB(x.RSS), measure.MiB(x.PeakRSS))
		fmt.Fprintf(out, "    rest_client_requests_total: %.0f (%s)\n", x.Requests.total(), x.Requests.words())
		if a := x.Audit; a != nil {
			fmt.Fprintf(out, "    audit log: %d requests, %d of them leader election (%.1f per namespace without it): %s\n",
				a.Total, a.LeaderElection, float64(a.Total-a.LeaderElection)/float64(x.Namespaces), a.words(x.Namespaces))
		}
		fmt.Fprintf(out, "    load: %s before, %s after\n", x.LoadBefore, x.LoadAfter)
	}
}

func (q requests) words() string {
	keys := slices.Sorted(maps.Keys(q))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, q[k]))
	}
	return strings.Join(parts, ", ")
}

// words lists the requests by kind, most first, per namespace.
func (a auditCounts) words(namespaces int) string {
	keys := slices.Collect(maps.Keys(a.ByRequest))
	sort.Slice(keys, func(i, j int) bool {
		if a.ByRequest[keys[i]] != a.ByRequest[keys[j]] {
			return a.ByRequest[keys[i]] > a.ByRequest[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d (%.2f/ns)", k, a.ByRequest[k], float64(a.ByRequest[k])/float64(namespaces)))
	}
	return strings.Join(parts, ", ")
}
