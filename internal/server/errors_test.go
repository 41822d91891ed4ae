package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestUpstreamFailuresMapToHonestStatuses replays every upstream error the
// proxy must pass on or translate.
func TestUpstreamFailuresMapToHonestStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		wantStatus int
		wantCode   string
		wantMsg    string
		retryAfter string
	}{
		{"400", jsonAnswer(400, `{"message":"Bad prompt","status_code":400}`), 400, "invalid_request", "Bad prompt", ""},
		{"401", jsonAnswer(401, `{"message":"Invalid API token","status_code":401}`), 401, "unauthorized", "Invalid API token", ""},
		{"402", jsonAnswer(402, `{"message":"Alloted agent runs for the current billing plan have been reached.","status_code":402}`),
			402, "payment_required", "Alloted agent runs", ""},
		{"403", jsonAnswer(403, `{"message":"You do not have access to this organization.","status_code":403}`),
			403, "forbidden", "You do not have access", ""},
		{"404", jsonAnswer(404, `{"message":"Agent run not found.","status_code":404}`), 404, "not_found", "Agent run not found.", ""},
		{"409", jsonAnswer(409, `{"message":"Run is busy","status_code":409}`), 409, "conflict", "Run is busy", ""},
		{"422", jsonAnswer(422, `{"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]}`),
			422, "unprocessable", "body.prompt: Field required", ""},
		{"429 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "12")
			jsonAnswer(429, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`)(w, r)
		}, 429, "rate_limited", "Rate limit exceeded", "12"},
		{"429 without Retry-After", jsonAnswer(429, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`),
			429, "rate_limited", "Rate limit exceeded", ""},
		{"500", jsonAnswer(500, `{"detail":"Internal Server Error: db at 10.0.0.3 down"}`), 502, "upstream_error", "the Codegen API failed (500)", ""},
		{"503", jsonAnswer(503, `upstream connect error`), 502, "upstream_error", "the Codegen API failed (503)", ""},
		{"405 means a broken upstream", jsonAnswer(405, `{"detail":"Method Not Allowed"}`), 502, "upstream_error", "(405)", ""},
		{"malformed JSON", jsonAnswer(200, `{"id": 1,`), 502, "upstream_error", "unusable answer", ""},
		{"HTML page", jsonAnswer(200, `<html>maintenance</html>`), 502, "upstream_error", "unusable answer", ""},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://login.example.invalid/", http.StatusFound)
		}, 502, "upstream_error", "unusable answer", ""},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 504, "upstream_timeout", "did not answer in time", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, tt.answer)
			proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.UpstreamTimeout = 200 * time.Millisecond }})
			resp, body := call(t, "GET", proxy+"/agent-runs/1", "", "X-Request-ID", "rid-42")
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			e := decodeEnvelope(t, body)
			if e.StatusCode != tt.wantStatus || e.Code != tt.wantCode || !contains(e.Error, tt.wantMsg) || e.RequestID != "rid-42" {
				t.Errorf("envelope %+v, want status %d code %q message containing %q and request id rid-42",
					e, tt.wantStatus, tt.wantCode, tt.wantMsg)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if contains(body, "10.0.0.3") {
				t.Errorf("an upstream 5xx detail leaked to the caller: %s", body)
			}
		})
	}
}

func TestUnreachableUpstreamIs502(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	u.Close()
	resp, body := call(t, "GET", proxy+"/users/me", "")
	if resp.StatusCode != 502 || decodeEnvelope(t, body).Code != "upstream_error" {
		t.Errorf("got %d %s, want 502 upstream_error", resp.StatusCode, body)
	}
}

// TestCallerGoneWritesNothing cancels a request while the upstream is slow
// and checks the proxy logs it as 499 and does not log a failure.
func TestCallerGoneWritesNothing(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	logs := &syncBuffer{}
	cfg, _ := config.Load(nil, func(string) string { return "" }, io.Discard)
	cfg.OrgID = 1
	client := &codegen.Client{BaseURL: u.URL}
	h := newHandler(t, Deps{Logger: newTestLogger(logs), Config: cfg, Client: client})
	proxy := httptest.NewServer(h)
	defer proxy.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", proxy.URL+"/agent-runs/1", nil)
	req.Header.Set("Authorization", "Bearer x")
	go func() {
		<-arrived
		cancel()
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request was answered %d; want it cancelled", resp.StatusCode)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !contains(logs.String(), `"status":499`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !contains(logs.String(), `"status":499`) || contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("want a 499 access line and no error, got logs:\n%s", logs.String())
	}
}

func TestPanicsBecome500Envelopes(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	logger := newTestLogger(logs)
	h := requestID(observe(accessLog(logger))(recoverer(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}))))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, body := call(t, "GET", srv.URL+"/x", "")
	if resp.StatusCode != 500 || decodeEnvelope(t, body).Code != "internal" || contains(body, "boom") {
		t.Errorf("got %d %s, want a 500 envelope that does not show the panic", resp.StatusCode, body)
	}
	if !contains(logs.String(), "boom") || !contains(logs.String(), "stack") {
		t.Errorf("panic not logged with its stack:\n%s", logs.String())
	}
}
