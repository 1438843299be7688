package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook's Prometheus metrics.
type Metrics struct {
	decisions  *prometheus.CounterVec
	findings   *prometheus.CounterVec
	latency    prometheus.Histogram
	incomplete prometheus.Counter
	breakGlass prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg
// (controller-runtime's metrics.Registry in nsguard serve).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nsguard_admission_decisions_total",
			Help: "Namespace deletions decided, by result (allowed, warned, denied, would-deny, break-glass, terminating, excluded, self, unchecked) and mode.",
		}, []string{"result", "mode"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nsguard_admission_findings_total",
			Help: "Rules that found something in a decided namespace deletion, by rule and result.",
		}, []string{"rule", "result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nsguard_admission_decision_duration_seconds",
			Help:    "Time to decide on a namespace deletion, snapshot and policies included.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}),
		incomplete: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nsguard_admission_incomplete_snapshots_total",
			Help: "Decisions taken on a snapshot that could not check everything.",
		}),
		breakGlass: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nsguard_admission_break_glass_total",
			Help: "Deletions let through by the break-glass annotation despite deny findings.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.findings, m.latency, m.incomplete, m.breakGlass)
	}
	return m
}

// observe counts one decision.
func (m *Metrics) observe(dec Decision, mode string, took time.Duration) {
	m.decisions.WithLabelValues(dec.Result, mode).Inc()
	for _, r := range dec.Rules {
		m.findings.WithLabelValues(r, dec.Result).Inc()
	}
	m.latency.Observe(took.Seconds())
	if !dec.Complete && dec.Result != ResultUnchecked {
		m.incomplete.Inc()
	}
	if dec.Result == ResultBreakGlass {
		m.breakGlass.Inc()
	}
}
