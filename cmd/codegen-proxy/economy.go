package main

import (
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/budget"
	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/cluster"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
)

// newBudget returns the per-token upstream budget the settings describe,
// reporting its waits and refusals to m: shared through cc's Redis if cc
// is not nil, else in memory; nil when UPSTREAM_BUDGET is off.
func newBudget(cfg config.Config, m *metrics.Metrics, cc *cluster.Client) codegen.Budget {
	if !cfg.UpstreamBudget {
		return nil // a nil interface: no pacing at all
	}
	maxWait, reserve := cfg.BudgetMaxWait, cfg.BudgetStreamReserve
	if maxWait == 0 {
		maxWait = -1 // the setting's 0s: never wait
	}
	if reserve == 0 {
		reserve = -1 // the setting's 0: no reserve
	}
	onWait := func(c codegen.Class, d time.Duration) { m.BudgetWaited(c.String(), d) }
	onRefuse := func(c codegen.Class) { m.BudgetRefused(c.String()) }
	if cc != nil {
		return &cluster.TokenBudget{Budget: &cluster.Budget{Client: cc, MaxLocal: cfg.BudgetMaxTokens},
			MaxWait: maxWait, Reserve: reserve, OnWait: onWait, OnRefuse: onRefuse}
	}
	return &budget.Budget{MaxWait: maxWait, Reserve: reserve, MaxTokens: cfg.BudgetMaxTokens,
		OnWait: onWait, OnRefuse: onRefuse}
}

// newCache returns the REST read cache the settings describe, reporting
// its reads to m: its entries in cc's Redis if cc is not nil (and in
// memory while Redis is down), else in memory; nil when READ_CACHE is off.
func newCache(cfg config.Config, m *metrics.Metrics, cc *cluster.Client) *cache.Cache {
	if !cfg.ReadCache {
		return nil // the server reads upstream every time, without cache headers
	}
	var fresh [cache.NumClasses]time.Duration
	fresh[cache.ClassRun], fresh[cache.ClassRunList] = cfg.CacheFreshRun, cfg.CacheFreshRunList
	fresh[cache.ClassLogs], fresh[cache.ClassOrg] = cfg.CacheFreshLogs, cfg.CacheFreshOrg
	results := [...]string{cache.Hit: "hit", cache.Miss: "miss", cache.Coalesced: "coalesced", cache.Stale: "stale"}
	mem := &cache.Memory{MaxEntries: cfg.CacheMaxEntries, MaxBytes: int64(cfg.CacheMaxBytes), MaxEntryBytes: int64(cfg.CacheMaxEntryBytes)}
	var store cache.Store = mem
	if cc != nil {
		store = &cluster.CacheStore{Client: cc, MaxValueBytes: cfg.CacheMaxEntryBytes,
			Local: mem, MaxStale: cfg.CacheMaxStale}
	}
	return &cache.Cache{
		Store: store, Fresh: fresh, NotFound: cfg.CacheNotFound, MaxStale: cfg.CacheMaxStale, Timeout: cfg.UpstreamTimeout,
		Observe: func(c cache.Class, e cache.Event) { m.CacheRead(c.String(), results[e]) },
	}
}
