package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

// statusClientClosed is logged for requests whose caller left before the
// answer, after nginx's convention; it is never sent.
const statusClientClosed = 499

// accessLog writes one line per request when it ends: method, route pattern
// (never the raw path or query, which may hold ids or a stream token),
// status, bytes, duration, request id, and the cause of an error answer.
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &responseRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)

			status := rec.finalStatus(r)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			if !logger.Enabled(r.Context(), level) {
				return
			}
			// A record of its own, without the caller's program counter
			// (always this function), spares LogAttrs' runtime.Callers.
			now := time.Now()
			line := slog.NewRecord(now, level, "request", 0)
			line.AddAttrs(
				slog.String("method", r.Method),
				slog.String("route", routePattern(r)),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", now.Sub(start)),
				slog.String("request_id", RequestID(r.Context())),
			)
			if rec.cause != nil && status != statusClientClosed {
				line.AddAttrs(slog.String("error", rec.cause.Error()))
			}
			logger.Handler().Handle(context.Background(), line) //nolint:errcheck // as LogAttrs, which drops it too
		})
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

// responseRecorder notes the status and size of an answer and the error that
// caused it. It keeps streaming working through Unwrap (for
// http.ResponseController) and Flush (for code that type-asserts).
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	cause  error
}

func (w *responseRecorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *responseRecorder) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finalStatus is the status the request was answered with: 200 when the
// handler wrote nothing, unless the client had gone (499).
func (w *responseRecorder) finalStatus(r *http.Request) int {
	switch {
	case w.status != 0:
		return w.status
	case r.Context().Err() != nil:
		return statusClientClosed
	}
	return http.StatusOK
}

// recorderOf returns the responseRecorder under w, or nil.
func recorderOf(w http.ResponseWriter) *responseRecorder {
	for {
		switch x := w.(type) {
		case *responseRecorder:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// recordCause hands err to the responseRecorder under w, if any, for the
// access log.
func recordCause(w http.ResponseWriter, err error) {
	if rec := recorderOf(w); rec != nil {
		rec.cause = err
	}
}
