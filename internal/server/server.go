// Package server is codegen-proxy's HTTP API: routes, middleware and the
// handlers that turn each call into calls to the Codegen API.
package server

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// Deps are what NewServer wires into the handlers; each handler gets only
// the parts it uses.
type Deps struct {
	// Logger receives the access log and errors. Required.
	Logger *slog.Logger
	// Config holds the settings, as config.Load returns them.
	Config config.Config
	// Client calls the Codegen API. Required.
	Client *codegen.Client
	// Cache, if set, keeps and coalesces the REST reads per token and
	// answers them with Cache-Status, ETag and Cache-Control; if nil, every
	// read goes upstream.
	Cache *cache.Cache
	// Streams serves the log streams. Required.
	Streams *stream.Hub
	// Metrics records requests and is served at /metrics. If nil, NewServer
	// makes one that records requests only.
	Metrics *metrics.Metrics
	// Version is the build's version, reported by /health.
	Version string
	// Started is when the process started, for /health's uptime.
	Started time.Time
	// Shared, if set, reports the shared mode's health (REDIS_URL): nil
	// while Redis answers, an error while this replica works alone. /ready
	// reports it without failing on it.
	Shared func() error
}

// apiVersion is the version the API documentation shows.
func (d Deps) apiVersion() string {
	if d.Config.APIVersion != "" {
		return d.Config.APIVersion
	}
	return d.Version
}

// mode is d.Config.Mode(), for routes.go.
func (d Deps) mode() string { return d.Config.Mode() }

// NewServer returns the proxy's HTTP handler, or an error naming a required
// dependency that d lacks: a wiring mistake, returned rather than panicked
// on so that run reports it like any other start-up failure. Middleware runs
// in this order: request id, observe (which reports every answer to the
// access log and the metrics), panic recovery, the refusal of
// Transfer-Encoding, the guard on bodies (see guardBodies), CORS, the query
// check, HEAD served as GET, then per route the token check and the
// handler.
func NewServer(d Deps) (http.Handler, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("server: Deps.Logger is required")
	case d.Client == nil:
		return nil, errors.New("server: Deps.Client is required")
	case d.Streams == nil:
		return nil, errors.New("server: Deps.Streams is required")
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New(d.Version, d.mode())
	}
	r := chi.NewRouter()
	r.Use(requestID, observe(accessLog(d.Logger), requestMetrics(d.Metrics)), recoverer(d.Logger), refuseTransferEncoding,
		guardBodies(d.Config.BodyReadTimeout), corsHandler(d.Config.CORSOrigins), strictQuery, middleware.GetHead)
	addRoutes(r, d)
	return r, nil
}

// corsHandler lets browsers call the API: from the listed origins with
// credentials, or from any origin without them. It never combines a
// wildcard with credentials: go-chi/cors reads "*" in an origin as a
// pattern, so an entry holding one (config.Load refuses them) is dropped.
// Scripts may read X-Request-ID and Retry-After.
func corsHandler(origins []string) func(http.Handler) http.Handler {
	origins = slices.DeleteFunc(slices.Clone(origins), func(o string) bool { return strings.Contains(o, "*") })
	o := cors.Options{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions},
		AllowedHeaders: []string{"Authorization", "Content-Type", "X-Request-ID", "X-Codegen-Org-Id", "Last-Event-ID",
			"If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since", "Idempotency-Key"},
		ExposedHeaders: []string{"X-Request-ID", "Retry-After", "X-Filter-Scanned", "X-Filter-Complete", "Cache-Status", "ETag", "Age",
			"X-Wait-Timed-Out", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
			"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"},
		MaxAge: 600,
	}
	if len(origins) > 0 {
		o.AllowedOrigins, o.AllowCredentials = origins, true
	}
	return cors.Handler(o)
}
