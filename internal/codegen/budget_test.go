package codegen

import (
	"net/http"
	"testing"
)

// TestClassOf classifies calls as the API counts them, on the unescaped
// path it routes on: a pass-through target may spell a segment escaped.
func TestClassOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, path string
		want         Class
	}{
		{http.MethodPost, "/organizations/1/agent/run", ClassCreate},
		{http.MethodPost, "/organizations/1/agent/run?x=1", ClassCreate},
		{http.MethodGet, "/organizations/1/agent/run", ClassGeneral},
		{http.MethodPost, "/organizations/1/agent/run/resume", ClassGeneral},
		{http.MethodGet, "/alpha/organizations/1/agent/run/5/logs?limit=10", ClassLogs},
		{http.MethodGet, "/organizations/1/agent/run/5/logs", ClassGeneral},
		{http.MethodGet, "/alpha/organizations/1/agent/run/5/log%73", ClassLogs},
		{http.MethodGet, "/%61lpha/organizations/1/agent/run/5/logs", ClassLogs},
		{http.MethodPost, "/organizations/1/agent/ru%6E", ClassCreate},
		{http.MethodPost, "/organizations/1/agent/ru%6e?x=%zz", ClassCreate},
		{http.MethodPost, "/organizations/1/agent/run%zz", ClassGeneral}, // malformed: CheckTarget refuses it
	} {
		if got := ClassOf(tc.method, tc.path); got != tc.want {
			t.Errorf("ClassOf(%s %s): got %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}
