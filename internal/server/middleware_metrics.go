package server

import (
	"net/http"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
)

// observe records every request in m by route pattern, method and status
// once it is answered. It reads the status from the access log's recorder,
// so it runs inside accessLog, and outside recoverer so that panics count.
func observe(m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if m == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			next.ServeHTTP(w, r)
			status := http.StatusOK
			if rec := recorderOf(w); rec != nil {
				status = rec.finalStatus(r)
			}
			m.ObserveRequest(routePattern(r), methodLabel(r.Method), status, time.Since(start))
		})
	}
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
