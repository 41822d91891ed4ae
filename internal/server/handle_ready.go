package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// readiness tells whether the upstream answers, probing it at most once per
// ttl however often it is asked. It is safe for concurrent use; callers that
// arrive during a probe wait for its result.
type readiness struct {
	client  *codegen.Client
	token   string        // CODEGEN_API_TOKEN, or "" to probe without one
	ttl     time.Duration // how long a result is reused
	timeout time.Duration // bound on one probe
	shared  func() error  // the shared mode's health, or nil without REDIS_URL

	mu   sync.Mutex
	last readyReport
	at   time.Time
}

// readyReport is the body of GET /ready. Its callers are not authenticated,
// so it says what failed in general words; cause, the error itself (which
// may name the upstream's internal address), goes to the log only.
type readyReport struct {
	Status    string         `json:"status" example:"ready" enums:"ready,unavailable"`
	Upstream  upstreamReport `json:"upstream"`
	Shared    *sharedReport  `json:"shared,omitempty"`
	CheckedAt string         `json:"checked_at" example:"2026-11-25T20:00:00Z"`
	cause     error
} //@name ReadyResponse

// upstreamReport says how the upstream answered the probe.
type upstreamReport struct {
	Reachable  bool    `json:"reachable"`
	StatusCode int     `json:"status_code,omitempty" example:"200"`
	LatencyMS  float64 `json:"latency_ms" example:"12.5"`
	Error      string  `json:"error,omitempty"`
} //@name UpstreamReport

// sharedReport says whether the replicas' shared state (REDIS_URL) is
// reachable. Degraded does not fail the readiness: a replica that lost
// Redis still serves, alone, and taking every replica out of the balancer
// because Redis is down would turn a degraded service into none.
type sharedReport struct {
	Status string `json:"status" example:"shared" enums:"shared,degraded"`
	Error  string `json:"error,omitempty" example:"Redis cannot be reached; this replica serves from its own state"`
} //@name SharedReport

// check returns a fresh or cached report, with the shared mode's state as
// it is now.
func (rd *readiness) check(ctx context.Context) readyReport {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	report := rd.last
	if rd.at.IsZero() || time.Since(rd.at) >= rd.ttl {
		report = rd.probe(ctx)
		if ctx.Err() == nil { // a caller that left says nothing about the upstream
			rd.last, rd.at = report, time.Now()
		}
	}
	if rd.shared != nil {
		report.Shared = &sharedReport{Status: "shared"}
		if err := rd.shared(); err != nil {
			report.Shared = &sharedReport{Status: "degraded", Error: "Redis cannot be reached; this replica serves from its own state"}
		}
	}
	return report
}

// probe reads /users/me: any answer below 500 (401 included, when there is
// no operator token) means the upstream is there and working.
func (rd *readiness) probe(ctx context.Context) readyReport {
	ctx, cancel := context.WithTimeout(ctx, rd.timeout)
	defer cancel()
	start := time.Now()
	_, err := rd.client.CurrentUser(ctx, rd.token)
	up := upstreamReport{LatencyMS: float64(time.Since(start).Microseconds()) / 1000, Reachable: true, StatusCode: http.StatusOK}
	var apiErr *codegen.Error
	switch {
	case errors.As(err, &apiErr):
		up.StatusCode = apiErr.StatusCode
		up.Reachable = apiErr.StatusCode < 500
		if !up.Reachable {
			up.Error = "the Codegen API failed"
		}
	case errors.Is(err, codegen.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		up = upstreamReport{LatencyMS: up.LatencyMS, Error: "the Codegen API did not answer in time"}
	case err != nil:
		up = upstreamReport{LatencyMS: up.LatencyMS, Error: "the Codegen API could not be reached or gave an unusable answer"}
	}
	report := readyReport{Status: "ready", Upstream: up, CheckedAt: time.Now().UTC().Format(time.RFC3339)}
	if !up.Reachable {
		report.Status, report.cause = "unavailable", fmt.Errorf("readiness probe: %w", err)
	}
	return report
}

// handleReady reports whether the upstream answers.
//
//	@Summary		Readiness
//	@Description	Whether the Codegen API (or the sandbox) answers: 200 when it does, 503 when it does not. The probe reads /users/me with the operator's CODEGEN_API_TOKEN, if any; any answer below 500 counts. Results are reused for 5 s and a probe takes at most 2 s. With REDIS_URL, "shared" says whether Redis answers ("shared") or this replica works alone ("degraded"); degraded alone does not make the answer 503.
//	@ID				getReadiness
//	@Tags			system
//	@Produce		json
//	@Success		200	{object}	readyReport
//	@Failure		503	{object}	readyReport
//	@Router			/ready [get]
func handleReady(rd *readiness) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		report := rd.check(r.Context())
		status := http.StatusOK
		if report.Status != "ready" {
			status = http.StatusServiceUnavailable
			noteCause(r.Context(), report.cause) // the access log line says what failed
		}
		return writeJSON(w, status, report)
	})
}

// handleMetrics serves the Prometheus metrics.
//
//	@Summary		Prometheus metrics
//	@Description	Requests by route pattern, method and status; upstream calls by operation and status; upstream 429s; open streams, pollers and polls saved by sharing; build info; Go runtime and process metrics.
//	@ID				getMetrics
//	@Tags			system
//	@Produce		plain
//	@Success		200	{string}	string	"Prometheus text format"
//	@Router			/metrics [get]
func handleMetrics(h http.Handler) http.Handler { return h }
