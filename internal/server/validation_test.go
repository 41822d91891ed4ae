package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// TestBadInputIs4xxNamingTheProblem checks that malformed input never reaches
// upstream and gets an envelope whose message names the field.
func TestBadInputIs4xxNamingTheProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		headers                  []string
		wantStatus               int
		wantMsg                  string
	}{
		{"malformed JSON", "POST", "/agent-runs", `{"prompt": "x",`, nil, 400, "not valid JSON"},
		{"syntax error", "POST", "/agent-runs", `{"prompt" "x"}`, nil, 400, "not valid JSON (at byte"},
		{"empty body", "POST", "/agent-runs", ``, []string{"Content-Type", "application/json"}, 400, "body is empty"},
		{"array body", "POST", "/agent-runs", `["x"]`, nil, 400, "must be a JSON object"},
		{"two objects", "POST", "/agent-runs", `{"prompt":"x"}{"prompt":"y"}`, nil, 400, "single JSON object"},
		{"missing prompt", "POST", "/agent-runs", `{"metadata":{}}`, nil, 400, "prompt is required"},
		{"null prompt", "POST", "/agent-runs", `{"prompt":null}`, nil, 400, "prompt is required"},
		{"blank prompt", "POST", "/agent-runs", `{"prompt":"   "}`, nil, 400, "prompt is required"},
		{"prompt not a string", "POST", "/agent-runs", `{"prompt":42}`, nil, 400, "prompt must be a string"},
		{"metadata nested too deep", "POST", "/agent-runs", `{"prompt":"x","metadata":` + strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10001),
			nil, 400, "nested too deeply"},
		{"a body on a GET", "GET", "/agent-runs/1", `{}`, nil, 400, "this route takes no request body"},
		{"metadata not an object", "POST", "/agent-runs", `{"prompt":"x","metadata":[1]}`, nil, 400, "metadata must be an object"},
		{"images not strings", "POST", "/agent-runs", `{"prompt":"x","images":[1]}`, nil, 400, "images must be an array of strings"},
		{"image not a data URI", "POST", "/agent-runs", `{"prompt":"x","images":["http://x/y.png"]}`, nil, 400, "images[0] must be a data URI"},
		{"repo_id a string", "POST", "/agent-runs", `{"prompt":"x","repo_id":"4"}`, nil, 400, "repo_id must be an integer"},
		{"repo_id fractional", "POST", "/agent-runs", `{"prompt":"x","repo_id":4.5}`, nil, 400, "repo_id must be an integer"},
		{"repo_id negative", "POST", "/agent-runs", `{"prompt":"x","repo_id":-4}`, nil, 400, "repo_id must be a positive integer"},
		{"agent_type unknown", "POST", "/agent-runs", `{"prompt":"x","agent_type":"gpt"}`, nil, 400, "agent_type must be codegen or claude_code"},
		{"model empty", "POST", "/agent-runs", `{"prompt":"x","model":""}`, nil, 400, "model must not be empty"},
		{"form body", "POST", "/agent-runs", `prompt=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "must be JSON"},
		{"resume without prompt", "POST", "/agent-runs/5/resume", `{}`, nil, 400, "prompt is required"},
		{"resume bad id", "POST", "/agent-runs/x/resume", `{"prompt":"x"}`, nil, 400, "id must be a positive integer"},
		{"id not numeric", "GET", "/agent-runs/abc", "", nil, 400, "id must be a positive integer"},
		{"id negative", "GET", "/agent-runs/-3", "", nil, 400, "id must be a positive integer"},
		{"id zero", "GET", "/agent-runs/0/logs", "", nil, 400, "id must be a positive integer"},
		{"id overflow", "GET", "/agent-runs/99999999999999999999", "", nil, 400, "id must be a positive integer"},
		{"limit zero", "GET", "/agent-runs?limit=0", "", nil, 400, "limit must be an integer from 1 to 100"},
		{"limit too big", "GET", "/agent-runs?limit=101", "", nil, 400, "limit must be an integer from 1 to 100"},
		{"limit not a number", "GET", "/organizations?limit=ten", "", nil, 400, "limit must be an integer"},
		{"limit twice", "GET", "/agent-runs?limit=1&limit=2", "", nil, 400, "limit: give it once"},
		{"page zero", "GET", "/agent-runs?page=0", "", nil, 400, "page must be an integer from 1"},
		{"skip negative", "GET", "/agent-runs/1/logs?skip=-1", "", nil, 400, "skip must be an integer from 0"},
		{"page and skip", "GET", "/agent-runs?page=2&skip=10", "", nil, 400, "page or skip, not both"},
		{"user_id bad", "GET", "/agent-runs?user_id=me", "", nil, 400, "user_id must be a positive integer"},
		{"source_type unknown", "GET", "/agent-runs?source_type=EMAIL", "", nil, 400, "source_type must be one of"},
		{"status bad", "GET", "/agent-runs?status=COMPLETE!", "", nil, 400, "status must be a comma-separated list"},
		{"message_type bad", "GET", "/agent-runs/1/logs?message_type=a%20b", "", nil, 400, "message_type must be"},
		{"reverse bad", "GET", "/agent-runs/1/logs?reverse=maybe", "", nil, 400, "reverse must be true or false"},
		{"org header bad", "GET", "/agent-runs/1", "", []string{"X-Codegen-Org-Id", "acme"}, 400, "X-Codegen-Org-Id must be a positive integer"},
		{"org query bad", "GET", "/agent-runs/1?org_id=-1", "", nil, 400, "org_id must be a positive integer"},
		{"org conflict", "GET", "/agent-runs/1?org_id=2", "", []string{"X-Codegen-Org-Id", "3"}, 400, "name different organizations"},
		{"unknown route", "GET", "/agent-runz", "", nil, 404, "no such route"},
		{"wrong method", "DELETE", "/agent-runs/1", "", nil, 405, "DELETE is not allowed"},
	}
	u := newUpstream(t, jsonAnswer(200, `{"items":[],"total":0,"page":1,"size":1,"pages":0}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, tt.method, proxy+tt.path, tt.body, tt.headers...)
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

func TestOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.MaxBodyBytes = 4096 }})
	big := `{"prompt":"x","images":["data:image/png;base64,` + strings.Repeat("A", 5000) + `"]}`
	for _, path := range []string{"/agent-runs", "/agent-runs/1/resume"} {
		resp, body := call(t, "POST", proxy+path, big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || decodeEnvelope(t, body).Code != "body_too_large" {
			t.Errorf("%s: got %d %s, want 413 body_too_large", path, resp.StatusCode, body)
		}
	}
	if resp, _ := call(t, "POST", proxy+"/agent-runs", `{"prompt":"just fits"}`); resp.StatusCode != 200 {
		t.Errorf("small body: status %d, want 200", resp.StatusCode)
	}
}

func TestRequestIDIsKeptWhenSaneAndMadeOtherwise(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(404, `{"message":"Agent run not found.","status_code":404}`))
	proxy := newProxy(t, u, proxyOpts{})
	tests := []struct{ name, in string }{
		{"sane", "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"absent", ""},
		{"too long", strings.Repeat("a", 129)},
		{"injection", `abc"}{"level":"ERROR`},
		{"spaces", "a b"},
	}
	for _, tt := range tests {
		resp, body := call(t, "GET", proxy+"/agent-runs/1", "", "X-Request-ID", tt.in)
		got := resp.Header.Get("X-Request-ID")
		if e := decodeEnvelope(t, body); e.RequestID != got {
			t.Errorf("%s: body request_id %q, header %q", tt.name, e.RequestID, got)
		}
		up := u.requests()
		if sent := up[len(up)-1].RequestID; sent != got {
			t.Errorf("%s: upstream got request id %q, caller got %q", tt.name, sent, got)
		}
		if tt.name == "sane" && got != tt.in {
			t.Errorf("sane id replaced: got %q", got)
		}
		if tt.name != "sane" && (got == tt.in || len(got) != 36) {
			t.Errorf("%s: id %q kept or not a UUID", tt.name, got)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	anyOrigin := newProxy(t, u, proxyOpts{})
	listed := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.CORSOrigins = []string{"https://ui.example"} }})
	preflight := []string{"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,x-request-id"}

	tests := []struct {
		name, proxy, origin   string
		wantOrigin, wantCreds string
	}{
		{"any origin, no credentials", anyOrigin, "https://random.example", "*", ""},
		{"listed origin with credentials", listed, "https://ui.example", "https://ui.example", "true"},
		{"unlisted origin refused", listed, "https://evil.example", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := call(t, "OPTIONS", tt.proxy+"/agent-runs", "", append([]string{"Origin", tt.origin}, preflight...)...)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("preflight Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != tt.wantCreds {
				t.Errorf("preflight Allow-Credentials = %q, want %q", got, tt.wantCreds)
			}
			if tt.wantOrigin != "" && !strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "authorization") {
				t.Errorf("preflight does not allow Authorization: %v", resp.Header)
			}
			// The PR edit is a PATCH: browsers must be allowed to send it.
			resp, _ = call(t, "OPTIONS", tt.proxy+"/pull-requests/1", "", "Origin", tt.origin, "Access-Control-Request-Method", "PATCH",
				"Access-Control-Request-Headers", "authorization,content-type")
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("PATCH preflight Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if tt.wantOrigin != "" && !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PATCH") {
				t.Errorf("PATCH preflight Allow-Methods = %q, want PATCH", resp.Header.Get("Access-Control-Allow-Methods"))
			}
			resp, _ = call(t, "GET", tt.proxy+"/agent-runs/1", "", "Origin", tt.origin)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("GET Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if tt.wantOrigin != "" {
				exposed := resp.Header.Get("Access-Control-Expose-Headers")
				if !strings.Contains(exposed, "X-Request-Id") || !strings.Contains(exposed, "Retry-After") {
					t.Errorf("Expose-Headers = %q, want X-Request-ID and Retry-After", exposed)
				}
			}
		})
	}
}
