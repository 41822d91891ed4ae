package cluster

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the shared mode's Prometheus collectors. Create them with
// NewMetrics and register Collectors on the server's registry. A nil
// *Metrics records nothing. It is safe for concurrent use.
type Metrics struct {
	leases    prometheus.Gauge
	takeovers prometheus.Counter
	errors    prometheus.Counter
	degraded  prometheus.Gauge
}

// NewMetrics creates the collectors, unregistered.
func NewMetrics() *Metrics {
	return &Metrics{
		leases: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "codegen_proxy_cluster_leases_held", Help: "Poller leases this replica holds.",
		}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "codegen_proxy_cluster_lease_takeovers_total",
			Help: "Leases this replica acquired after finding them held by another replica.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "codegen_proxy_cluster_redis_errors_total",
			Help: "Redis calls that failed for want of an answer (dial, I/O, timeout).",
		}),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "codegen_proxy_cluster_degraded", Help: "1 while Redis is unreachable and this replica runs on local state.",
		}),
	}
}

// Collectors lists the collectors, for prometheus.Registerer.MustRegister.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.leases, m.takeovers, m.errors, m.degraded}
}

func (m *Metrics) leaseHeld(delta float64) {
	if m != nil {
		m.leases.Add(delta)
	}
}

func (m *Metrics) takeover() {
	if m != nil {
		m.takeovers.Inc()
	}
}

func (m *Metrics) redisError() {
	if m != nil {
		m.errors.Inc()
	}
}

func (m *Metrics) setDegraded(on bool) {
	if m == nil {
		return
	}
	if on {
		m.degraded.Set(1)
	} else {
		m.degraded.Set(0)
	}
}
