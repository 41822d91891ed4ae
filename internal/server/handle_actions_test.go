package server

import (
	"strings"
	"testing"
)

// TestActionAndOrgRoutesRefuseBadInputNamingIt checks the bodies and
// parameters of stop, the check actions, the PR edit and the organization
// reads: each mistake gets a 4xx naming it, and nothing reaches upstream.
func TestActionAndOrgRoutesRefuseBadInputNamingIt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantMsg                  string
	}{
		{"stop bad id", "POST", "/agent-runs/012/stop", "", 400, "id must be a positive integer"},
		{"stop unknown field", "POST", "/agent-runs/1/stop", `{"agent_run_id":2}`, 400, "agent_run_id"},
		{"stop card order not a string", "POST", "/agent-runs/1/stop", `{"before_card_order_id":3}`, 400, "before_card_order_id must be a string"},
		{"stop case-variant key", "POST", "/agent-runs/1/stop", `{"Before_Card_Order_Id":"a"}`, 400, "Before_Card_Order_Id"},
		{"stop duplicate key", "POST", "/agent-runs/1/stop", `{"after_card_order_id":"a","after_card_order_id":"b"}`, 400, "after_card_order_id"},
		{"stop not an object", "POST", "/agent-runs/1/stop", `[1]`, 400, "must be a JSON object"},
		{"ban bad id", "POST", "/agent-runs/x/ban-checks", "", 400, "id must be a positive integer"},
		{"unban invalid UTF-8", "POST", "/agent-runs/1/unban-checks", "{\"after_card_order_id\":\"\xff\"}", 400, "not valid UTF-8"},
		{"remove-from-pr bad JSON", "POST", "/agent-runs/1/remove-from-pr", `{"after_card_order_id":`, 400, "not valid JSON"},
		{"edit pr no body", "PATCH", "/pull-requests/5", "", 400, "body is empty"},
		{"edit pr no state", "PATCH", "/pull-requests/5", `{}`, 400, "state is required"},
		{"edit pr null state", "PATCH", "/pull-requests/5", `{"state":null}`, 400, "state is required"},
		{"edit pr unknown state", "PATCH", "/pull-requests/5", `{"state":"merged"}`, 400, "state is required and must be one of open, closed, draft, ready_for_review"},
		{"edit pr state in capitals", "PATCH", "/pull-requests/5", `{"state":"CLOSED"}`, 400, "must be one of"},
		{"edit pr state not a string", "PATCH", "/pull-requests/5", `{"state":1}`, 400, "state must be a string"},
		{"edit pr extra field", "PATCH", "/pull-requests/5", `{"state":"open","title":"x"}`, 400, "title"},
		{"edit pr bad id", "PATCH", "/pull-requests/-5", `{"state":"open"}`, 400, "id must be a positive integer"},
		{"edit pr wrong method", "PUT", "/pull-requests/5", `{"state":"open"}`, 405, "PUT is not allowed"},
		{"repositories limit", "GET", "/repositories?limit=101", "", 400, "limit must be an integer from 1 to 100"},
		{"repositories page and skip", "GET", "/repositories?page=1&skip=0", "", 400, "page or skip, not both"},
		{"users page", "GET", "/users?page=0", "", 400, "page must be an integer from 1"},
		{"user bad id", "GET", "/users/+7", "", 400, "id must be a positive integer"},
		{"integrations bad org", "GET", "/integrations?org_id=x", "", 400, "org_id must be a positive integer"},
		{"stop wrong method", "GET", "/agent-runs/1/stop", "", 405, "GET is not allowed"},
	}
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, tt.method, proxy+tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if e := decodeEnvelope(t, body); !strings.Contains(e.Error, tt.wantMsg) || e.StatusCode != tt.wantStatus {
				t.Errorf("error %q (status_code %d), want it to contain %q", e.Error, e.StatusCode, tt.wantMsg)
			}
		})
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("bad input reached upstream: %+v", got)
	}
}

// TestActionErrorsPassThrough checks that the upstream's refusals of the new
// routes reach the caller with their status and message: a stop of a
// finished run gets whatever the API answers.
func TestActionErrorsPassThrough(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body, answer string
		status                           int
	}{
		{"stop finished run", "POST", "/agent-runs/12345/stop", "", `{"message":"Agent run is already finished.","status_code":400}`, 400},
		{"ban missing run", "POST", "/agent-runs/1/ban-checks", "", `{"message":"Agent run not found.","status_code":404}`, 404},
		{"user missing", "GET", "/users/9", "", `{"message":"User not found.","status_code":404}`, 404},
		{"repositories forbidden", "GET", "/repositories", "", `{"message":"You do not have access to this organization.","status_code":403}`, 403},
		{"edit pr rate limited", "PATCH", "/pull-requests/5", `{"state":"open"}`, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, jsonAnswer(tt.status, tt.answer))
			proxy := newProxy(t, u, proxyOpts{})
			resp, body := call(t, tt.method, proxy+tt.path, tt.body)
			e := decodeEnvelope(t, body)
			if resp.StatusCode != tt.status || e.StatusCode != tt.status || !strings.Contains(tt.answer, e.Error) {
				t.Errorf("got %d %+v, want %d with the upstream's message", resp.StatusCode, e, tt.status)
			}
			if n := len(u.requests()); n != 1 {
				t.Errorf("upstream saw %d requests, want 1", n)
			}
		})
	}
}
