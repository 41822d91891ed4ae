package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// economy counts what the read cache and the per-token budget do. Labels
// are classes only: the cache's route classes (run, run_list, logs, org)
// and the budget's classes (general, logs, create), never a token or path.
type economy struct {
	reads     *prometheus.CounterVec
	refused   *prometheus.CounterVec
	waits     *prometheus.CounterVec
	waitTotal *prometheus.CounterVec
}

func newEconomy(r *prometheus.Registry) *economy {
	e := &economy{
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codegen_proxy_cache_reads_total",
			Help: "Cached reads by route class and result: hit (fresh entry), miss (made the upstream call), coalesced (shared another request's call), stale (expired entry served because the budget was spent).",
		}, []string{"class", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codegen_proxy_budget_refused_total",
			Help: "Upstream calls the token's budget refused, by budget class: no slot within the allowed wait, so nothing went upstream. A refused read is served stale from the cache when an answer is kept (see codegen_proxy_cache_reads_total), otherwise answered 429.",
		}, []string{"class"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codegen_proxy_budget_waits_total",
			Help: "Upstream calls that waited for a slot of the token's budget, by budget class.",
		}, []string{"class"}),
		waitTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codegen_proxy_budget_wait_seconds_total",
			Help: "Time upstream calls spent waiting for a slot of the token's budget, by budget class.",
		}, []string{"class"}),
	}
	r.MustRegister(e.reads, e.refused, e.waits, e.waitTotal)
	return e
}

// CacheRead records one cached read of class with its result: hit, miss,
// coalesced or stale.
func (m *Metrics) CacheRead(class, result string) {
	if m == nil {
		return
	}
	m.economy.reads.WithLabelValues(class, result).Inc()
}

// BudgetRefused records a call refused by the budget of class.
func (m *Metrics) BudgetRefused(class string) {
	if m == nil {
		return
	}
	m.economy.refused.WithLabelValues(class).Inc()
}

// BudgetWaited records a call that waited d for a slot of class.
func (m *Metrics) BudgetWaited(class string, d time.Duration) {
	if m == nil {
		return
	}
	m.economy.waits.WithLabelValues(class).Inc()
	m.economy.waitTotal.WithLabelValues(class).Add(d.Seconds())
}
