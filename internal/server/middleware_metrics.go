package server

import (
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
)

// requestMetrics returns observe's report that records every request in m
// by route pattern, method and status.
func requestMetrics(m *metrics.Metrics) func(*http.Request, outcome) {
	return func(r *http.Request, o outcome) {
		m.ObserveRequest(o.route, methodLabel(r.Method), o.status, o.end.Sub(o.start))
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
