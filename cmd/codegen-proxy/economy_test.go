package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// UPSTREAM_BUDGET=false and READ_CACHE=false leave the bare hop, which is
// what make bench measures against a plain reverse proxy: every read goes
// upstream, without cache headers, and one token's reads are not paced to
// the API's limits. By default the same reads share the cache.
func TestEconomySettingsTurnTheCacheAndTheBudgetOff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		env       map[string]string
		reads     int
		wantCalls int64
		cached    bool
	}{
		{"default", nil, 3, 1, true},
		// BUDGET_MAX_WAIT=0s: were the budget on, the reads past its burst would
		// be refused at once.
		{"off", map[string]string{"UPSTREAM_BUDGET": "false", "READ_CACHE": "false", "BUDGET_MAX_WAIT": "0s"}, 30, 30, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := &econUpstream{}
			us := httptest.NewServer(up)
			t.Cleanup(us.Close)
			env := map[string]string{"CODEGEN_BASE_URL": us.URL + "/v1", "CODEGEN_ORG_ID": "323"}
			for k, v := range tt.env {
				env[k] = v
			}
			url := start(t, env).url
			for i := range tt.reads {
				status, h := call(t, http.MethodGet, url+"/agent-runs/5", "sk-economy")
				if status != http.StatusOK || (h.Get("Cache-Status") != "") != tt.cached {
					t.Fatalf("read %d: %d, Cache-Status %q; want 200, cache headers %v", i, status, h.Get("Cache-Status"), tt.cached)
				}
			}
			if got := up.calls.Load(); got != tt.wantCalls {
				t.Errorf("upstream calls: %d, want %d", got, tt.wantCalls)
			}
		})
	}
}
