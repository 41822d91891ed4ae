// Package metrics holds codegen-proxy's Prometheus metrics, on a registry of
// their own (never the global one). Labels are route patterns, methods,
// statuses and operation names: never raw paths, tokens or hashes of tokens.
package metrics

import (
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics records what the proxy does. Create it with New; a nil *Metrics
// records nothing, so callers need not check. It is safe for concurrent use.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.HistogramVec
	upstream    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	economy     *economy
}

// New registers the metrics, the Go runtime and process collectors and a
// build-info gauge on a new registry.
func New(version, mode string) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		registry: r,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "codegen_proxy_http_request_duration_seconds",
			Help:    "Time to answer requests, by route pattern, method and status. Streams last as long as they are open.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "status"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "codegen_proxy_upstream_request_duration_seconds",
			Help:    `Time of each attempt to call the Codegen API, by operation and status ("error" when no answer came).`,
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"op", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codegen_proxy_upstream_rate_limited_total",
			Help: "Codegen API answers of 429 Too Many Requests, by operation.",
		}, []string{"op"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "codegen_proxy_build_info",
		Help:        "Always 1; the labels tell the version, the Go version and the mode (sandbox or upstream).",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version(), "mode": mode},
	})
	build.Set(1)
	m.economy = newEconomy(r)
	r.MustRegister(m.requests, m.upstream, m.rateLimited, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveRequest records one answered request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, statusLabel(status)).Observe(d.Seconds())
}

// ObserveUpstream records one attempt to call the Codegen API; status is 0
// when no answer came. It fits codegen.Client's Observe hook.
func (m *Metrics) ObserveUpstream(op string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.upstream.WithLabelValues(op, statusLabel(status)).Observe(d.Seconds())
	if status == http.StatusTooManyRequests {
		m.rateLimited.WithLabelValues(op).Inc()
	}
}

// Streams is what the metrics read from the stream hub.
type Streams interface {
	Subscribers() int64
	Pollers() int
	Polls() int64
	PollsSaved() int64
}

// Register adds collectors of other packages, such as the shared mode's
// (cluster.Metrics.Collectors), to the registry served at /metrics. It
// returns the registry's error for a collector registered twice or
// clashing with another. A nil *Metrics registers nothing.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	if m == nil {
		return nil
	}
	for _, c := range cs {
		if err := m.registry.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// WatchStreams reports the hub's open streams, pollers, upstream polls and
// the polls sharing saved, read when the metrics are scraped.
func (m *Metrics) WatchStreams(s Streams) {
	if m == nil {
		return
	}
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "codegen_proxy_sse_streams_open", Help: "Open log streams (SSE subscribers).",
		}, func() float64 { return float64(s.Subscribers()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "codegen_proxy_stream_pollers", Help: "Upstream log pollers, running or lingering after their last subscriber.",
		}, func() float64 { return float64(s.Pollers()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "codegen_proxy_stream_upstream_polls_total", Help: "Upstream log reads made by stream pollers.",
		}, func() float64 { return float64(s.Polls()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "codegen_proxy_stream_polls_saved_total",
			Help: "Upstream log reads avoided by sharing: for each poll, the subscribers it served beyond the first.",
		}, func() float64 { return float64(s.PollsSaved()) }),
	)
}

// statusLabels caches the labels of the statuses a server answers with.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	l[0] = "error"
	return l
}()

func statusLabel(status int) string {
	if status >= 0 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}
