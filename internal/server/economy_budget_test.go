package server

import (
	"net/http"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/budget"
)

// TestBudgetFullOfBusyTokensIsServerBusy: when the budget keeps as many
// tokens as it may and none is idle, a new token's request is refused 503
// server_busy without an upstream call, rather than reset a busy token's
// budget.
func TestBudgetFullOfBusyTokensIsServerBusy(t *testing.T) {
	t.Parallel()
	e := newEcon(t, runAnswer, nil)
	e.client.Budget.(*budget.Budget).MaxTokens = 1 // before the first call
	if resp, body := call(t, http.MethodGet, e.url+"/agent-runs/5", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("the first token: got %d %s, want 200", resp.StatusCode, body)
	}
	resp, body := call(t, http.MethodGet, e.url+"/agent-runs/5", "", "Authorization", "Bearer sk-another")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("a second token while the first is busy: got %d, Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if env := decodeEnvelope(t, body); env.Code != "server_busy" {
		t.Errorf("envelope %+v, want server_busy", env)
	}
	if n := e.calls.Load(); n != 1 {
		t.Errorf("upstream calls: got %d, want 1", n)
	}
}
