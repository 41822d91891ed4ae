package server

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind. toxiproxy, used by
// the fault suite, can leave its own link goroutines blocked on a channel
// after Proxy.Stop; only goroutines started by its links are exempt, and no
// goroutine of this project runs its code.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).write"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"))
}

// TestRoutesForwardToTheRightUpstreamCall checks, for every public route, the
// upstream call it makes (method, path, query, body, the caller's exact
// token and the request id) and that the answer comes back verbatim.
func TestRoutesForwardToTheRightUpstreamCall(t *testing.T) {
	t.Parallel()
	const answer = `{"id":12345,"organization_id":323,"status":"ACTIVE","extra_field":[1,2]}`
	tests := []struct {
		name, method, path, body string
		want                     seen
	}{
		{"current user", "GET", "/users/me", "", seen{Method: "GET", Path: "/v1/users/me"}},
		{"organizations", "GET", "/organizations", "", seen{Method: "GET", Path: "/v1/organizations", Query: "limit=100"}},
		{"organizations page 3", "GET", "/organizations?page=3&limit=20", "",
			seen{Method: "GET", Path: "/v1/organizations", Query: "limit=20&skip=40"}},
		{"create run", "POST", "/agent-runs",
			`{"prompt":"Create a Python function","metadata":{"priority":"high","source":"api"},"repo_id":4,"model":"m","agent_type":"claude_code","images":["data:image/png;base64,AA=="]}`,
			seen{Method: "POST", Path: "/v1/organizations/323/agent/run",
				Body: `{"prompt":"Create a Python function","images":["data:image/png;base64,AA=="],"metadata":{"priority":"high","source":"api"},"repo_id":4,"model":"m","agent_type":"claude_code"}`}},
		{"list runs", "GET", "/agent-runs?limit=10&skip=5&user_id=7&source_type=api", "",
			seen{Method: "GET", Path: "/v1/organizations/323/agent/runs", Query: "limit=10&skip=5&source_type=API&user_id=7"}},
		{"list runs by page", "GET", "/agent-runs?page=2&limit=10", "",
			seen{Method: "GET", Path: "/v1/organizations/323/agent/runs", Query: "limit=10&skip=10"}},
		{"get run", "GET", "/agent-runs/12345", "", seen{Method: "GET", Path: "/v1/organizations/323/agent/run/12345"}},
		{"resume run", "POST", "/agent-runs/12345/resume", `{"prompt":"Also add tests"}`,
			seen{Method: "POST", Path: "/v1/organizations/323/agent/run/resume", Body: `{"agent_run_id":12345,"prompt":"Also add tests"}`}},
		{"logs", "GET", "/agent-runs/12345/logs?limit=10&skip=20&reverse=true", "",
			seen{Method: "GET", Path: "/v1/alpha/organizations/323/agent/run/12345/logs", Query: "limit=10&reverse=true&skip=20"}},
		{"stop run", "POST", "/agent-runs/12345/stop", "", seen{Method: "POST", Path: "/v1/beta/organizations/323/agent/run/stop", Body: `{"agent_run_id":12345}`}},
		{"stop run with card order", "POST", "/agent-runs/12345/stop", `{"before_card_order_id":"a0","after_card_order_id":null}`,
			seen{Method: "POST", Path: "/v1/beta/organizations/323/agent/run/stop", Body: `{"agent_run_id":12345,"before_card_order_id":"a0"}`}},
		{"ban checks", "POST", "/agent-runs/12345/ban-checks", "{}", seen{Method: "POST", Path: "/v1/organizations/323/agent/run/ban", Body: `{"agent_run_id":12345}`}},
		{"unban checks", "POST", "/agent-runs/12345/unban-checks", "", seen{Method: "POST", Path: "/v1/organizations/323/agent/run/unban", Body: `{"agent_run_id":12345}`}},
		{"remove from pr", "POST", "/agent-runs/12345/remove-from-pr", `{"after_card_order_id":"b1"}`,
			seen{Method: "POST", Path: "/v1/organizations/323/agent/run/remove-from-pr", Body: `{"agent_run_id":12345,"after_card_order_id":"b1"}`}},
		{"edit pr", "PATCH", "/pull-requests/123450", `{"state":"ready_for_review"}`,
			seen{Method: "PATCH", Path: "/v1/organizations/323/prs/123450", Body: `{"state":"ready_for_review"}`}},
		{"repositories", "GET", "/repositories?page=2&limit=10", "", seen{Method: "GET", Path: "/v1/organizations/323/repos", Query: "limit=10&skip=10"}},
		{"users", "GET", "/users?skip=3", "", seen{Method: "GET", Path: "/v1/organizations/323/users", Query: "limit=100&skip=3"}},
		{"user", "GET", "/users/1002", "", seen{Method: "GET", Path: "/v1/organizations/323/users/1002"}},
		{"integrations", "GET", "/integrations", "", seen{Method: "GET", Path: "/v1/organizations/323/integrations"}},
		{"org from header", "GET", "/agent-runs/9", "", seen{Method: "GET", Path: "/v1/organizations/77/agent/run/9"}},
		{"org from query", "GET", "/agent-runs/9?org_id=78", "", seen{Method: "GET", Path: "/v1/organizations/78/agent/run/9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, jsonAnswer(200, answer))
			proxy := newProxy(t, u, proxyOpts{})
			headers := []string{"X-Request-ID", "trace-abc.1"}
			if tt.name == "org from header" {
				headers = append(headers, "X-Codegen-Org-Id", "77")
			}
			resp, body := call(t, tt.method, proxy+tt.path, tt.body, headers...)
			if resp.StatusCode != 200 || body != answer {
				t.Errorf("got %d %s, want 200 and the upstream body verbatim", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			got := u.requests()
			if len(got) != 1 {
				t.Fatalf("upstream saw %d requests, want 1: %+v", len(got), got)
			}
			want := tt.want
			want.Auth, want.RequestID = "Bearer "+secretToken, "trace-abc.1"
			if got[0] != want {
				t.Errorf("upstream saw\n %+v\nwant\n %+v", got[0], want)
			}
		})
	}
}

// TestMissingOrMalformedTokenIs401WithoutUpstreamCall covers every route
// that needs a token.
func TestMissingOrMalformedTokenIs401WithoutUpstreamCall(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	routes := [][2]string{
		{"GET", "/users/me"}, {"GET", "/organizations"}, {"POST", "/agent-runs"}, {"GET", "/agent-runs"},
		{"GET", "/agent-runs/1"}, {"POST", "/agent-runs/1/resume"}, {"GET", "/agent-runs/1/logs"},
		{"POST", "/agent-runs/1/stop"}, {"POST", "/agent-runs/1/ban-checks"}, {"POST", "/agent-runs/1/unban-checks"},
		{"POST", "/agent-runs/1/remove-from-pr"}, {"PATCH", "/pull-requests/1"}, {"GET", "/repositories"},
		{"GET", "/users"}, {"GET", "/users/1"}, {"GET", "/integrations"},
	}
	auths := []string{"", "Basic dXNlcjpwdw==", "Bearer", "Bearer ", "Bearer two words", "Token " + secretToken}
	for _, rt := range routes {
		for _, auth := range auths {
			reqBody := "" // routes other than POSTs refuse a body
			if rt[0] == "POST" {
				reqBody = `{"prompt":"x"}`
			}
			resp, body := call(t, rt[0], proxy+rt[1], reqBody, "Authorization", auth)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: status %d, want 401", rt[0], rt[1], auth, resp.StatusCode)
				continue
			}
			if e := decodeEnvelope(t, body); e.StatusCode != 401 || e.Code != "unauthorized" {
				t.Errorf("envelope = %+v", e)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		}
	}
	if n := len(u.requests()); n != 0 {
		t.Errorf("upstream saw %d requests, want none", n)
	}
}

func TestHealthNeedsNoTokenAndNoUpstream(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(500, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	resp, body := call(t, "GET", proxy+"/health", "", "Authorization", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, field := range []string{`"status":"healthy"`, `"version":"test"`, `"mode":"upstream"`, `"timestamp":`, `"uptime_seconds":`} {
		if !contains(body, field) {
			t.Errorf("health %s lacks %s", body, field)
		}
	}
	if n := len(u.requests()); n != 0 {
		t.Errorf("upstream saw %d requests, want none", n)
	}
}
