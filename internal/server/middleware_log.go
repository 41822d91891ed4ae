package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// accessLog returns observe's report that writes one line per request:
// method, route pattern (never the raw path or query, which may hold ids or
// a stream token), status, bytes, duration, request id, and the cause of an
// error answer.
func accessLog(logger *slog.Logger) func(*http.Request, outcome) {
	return func(r *http.Request, o outcome) {
		level := slog.LevelInfo
		if o.status >= 500 {
			level = slog.LevelError
		}
		if !logger.Enabled(r.Context(), level) {
			return
		}
		// A record of its own, without the caller's program counter
		// (always this function), spares LogAttrs' runtime.Callers.
		line := slog.NewRecord(o.end, level, "request", 0)
		line.AddAttrs(
			slog.String("method", r.Method),
			slog.String("route", o.route),
			slog.Int("status", o.status),
			slog.Int64("bytes", o.bytes),
			slog.Float64("duration_ms", float64(o.end.Sub(o.start).Microseconds())/1000), // the same in text and JSON
			slog.String("request_id", RequestID(r.Context())),
		)
		if o.cause != nil && o.status != statusClientClosed {
			line.AddAttrs(slog.String("error", o.cause.Error()))
		}
		logger.Handler().Handle(context.Background(), line) //nolint:errcheck // as LogAttrs, which drops it too
	}
}

// routePattern names the route that served r, such as /agent-runs/{id}, or
// "unmatched" for requests no route took.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}
