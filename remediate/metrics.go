package remediate

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nsguard/nsguard/actions"
)

// Metrics are the remediator's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	terminatingSeconds *prometheus.GaugeVec
	stuckNamespaces    *prometheus.GaugeVec
	actions            *prometheus.CounterVec

	mu      sync.Mutex
	reasons map[string]string // namespace → reason label in use
	stuckBy map[string]string // stuck namespace → reason
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		terminatingSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nsguard_namespace_terminating_seconds",
			Help: "How long a namespace has been Terminating, with why it is not gone (the namespace controller's conditions, its own finalizers; empty while nothing is reported left).",
		}, []string{"namespace", "reason"}),
		stuckNamespaces: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nsguard_stuck_namespaces",
			Help: "Namespaces Terminating for longer than --stuck-after with something left, by reason.",
		}, []string{"reason"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nsguard_remediation_actions_total",
			Help: "Remediation actions by type, mode and result (executed, failed, skipped, would-run).",
		}, []string{"type", "mode", "result"}),
		reasons: map[string]string{},
		stuckBy: map[string]string{},
	}
	if reg != nil {
		reg.MustRegister(m.terminatingSeconds, m.stuckNamespaces, m.actions)
	}
	return m
}

func (m *Metrics) terminating(ns, reason string, age time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.reasons[ns]; ok && old != reason {
		m.terminatingSeconds.DeleteLabelValues(ns, old)
	}
	m.reasons[ns] = reason
	m.terminatingSeconds.WithLabelValues(ns, reason).Set(age.Seconds())
}

func (m *Metrics) stuck(ns, reason string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stuckBy[ns] = reason
	m.recount()
}

func (m *Metrics) forget(ns string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.reasons[ns]; ok {
		m.terminatingSeconds.DeleteLabelValues(ns, old)
		delete(m.reasons, ns)
	}
	delete(m.stuckBy, ns)
	m.recount()
}

// recount sets the stuck gauge from stuckBy; called with m.mu held.
func (m *Metrics) recount() {
	m.stuckNamespaces.Reset()
	for _, r := range m.stuckBy {
		m.stuckNamespaces.WithLabelValues(r).Inc()
	}
}

func (m *Metrics) action(t actions.Type, mode, result string) {
	if m == nil {
		return
	}
	m.actions.WithLabelValues(string(t), mode, result).Inc()
}
