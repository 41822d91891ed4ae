package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
)

// TestObserveReportsEveryAnswer serves each kind of answer over a real
// socket behind observe and checks the outcome its reports are given.
func TestObserveReportsEveryAnswer(t *testing.T) {
	t.Parallel()
	logger := newTestLogger(io.Discard)
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		leave     bool // the caller leaves once the handler has started
		status    int
		cause     string // a substring of the cause; "" for none
		wantBytes bool
	}{
		{name: "wrote nothing", handler: func(http.ResponseWriter, *http.Request) {}, status: 200},
		{name: "wrote a body", handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }, status: 200, wantBytes: true},
		{name: "error answer", handler: func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, &Error{Status: 404, Code: "not_found", Message: "no such run", Cause: errors.New("upstream said 404")})
		}, status: 404, cause: "upstream said 404", wantBytes: true},
		{name: "panic", handler: func(http.ResponseWriter, *http.Request) { panic("boom") }, status: 500, cause: "panic: boom", wantBytes: true},
		{name: "flushed through ResponseController", handler: func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				w.WriteHeader(http.StatusTeapot)
			}
		}, status: 200},
		{name: "caller left", handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, leave: true, status: statusClientClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan outcome, 2)
			started := make(chan struct{})
			report := func(_ *http.Request, o outcome) { got <- o }
			h := observe(report, report)(recoverer(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				tt.handler(w, r)
			})))
			srv := httptest.NewServer(requestID(h))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.leave {
				go func() { <-started; cancel() }()
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			for i := range 2 { // each report gets the same outcome
				var o outcome
				select {
				case o = <-got:
				case <-time.After(5 * time.Second):
					t.Fatalf("report %d never ran", i)
				}
				cause := ""
				if o.cause != nil {
					cause = o.cause.Error()
				}
				if o.status != tt.status || (tt.cause == "") != (cause == "") || !strings.Contains(cause, tt.cause) ||
					(o.bytes > 0) != tt.wantBytes || o.end.Before(o.start) {
					t.Errorf("report %d: got status %d, cause %q, %d bytes; want %d, %q, bytes %v",
						i, o.status, cause, o.bytes, tt.status, tt.cause, tt.wantBytes)
				}
			}
		})
	}
}

// TestPanicsCountAs500 checks that the request metrics see the status the
// recoverer answered a panic with.
func TestPanicsCountAs500(t *testing.T) {
	t.Parallel()
	m := metrics.New("test", "upstream")
	h := observe(requestMetrics(m))(recoverer(newTestLogger(io.Discard))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	prefix := `codegen_proxy_http_request_duration_seconds_count{method="GET",route="unmatched",status="500"}`
	if got := metricLine(w.Body.String(), prefix); got != "1" {
		t.Errorf("%s = %q, want 1", prefix, got)
	}
}

// TestTwoAuthorizationHeadersAre400 sends two tokens, on a route that takes
// the header only and on the one that also takes ?access_token=.
func TestTwoAuthorizationHeadersAre400(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, path := range []string{"/agent-runs/1", "/agent-runs/1/logs/stream?access_token=" + secretToken} {
		req, _ := http.NewRequest("GET", proxy+path, nil)
		req.Header["Authorization"] = []string{"Bearer " + secretToken, "Bearer other-" + secretToken}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e := decodeEnvelope(t, string(body))
		if resp.StatusCode != 400 || e.Code != "invalid_request" || !strings.Contains(e.Error, "2 Authorization headers") ||
			strings.Contains(string(body), secretToken) {
			t.Errorf("%s: got %d %s, want 400 invalid_request naming the two Authorization headers, without the tokens", path, resp.StatusCode, body)
		}
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("two tokens reached upstream: %+v", got)
	}
}

// TestStreamTokenGivenTwiceIs400 checks the stream route's other ways to
// send two tokens: access_token twice, or beside the header.
func TestStreamTokenGivenTwiceIs400(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tt := range []struct{ query, header string }{
		{"?access_token=" + secretToken + "&access_token=other", ""},
		{"?access_token=" + secretToken, "Bearer " + secretToken},
	} {
		req, _ := http.NewRequest("GET", proxy+"/agent-runs/1/logs/stream"+tt.query, nil)
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if e := decodeEnvelope(t, string(body)); resp.StatusCode != 400 || !strings.Contains(e.Error, "send one token") || strings.Contains(string(body), secretToken) {
			t.Errorf("%s with header %v: got %d %s, want 400 asking for one token, without it", tt.query[:14], tt.header != "", resp.StatusCode, body)
		}
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("a doubled token reached upstream: %+v", got)
	}
}

// TestTokenAndRequestIDAreTheirOwnContextValues checks what each middleware
// leaves in the context, and that neither needs the other.
func TestTokenAndRequestIDAreTheirOwnContextValues(t *testing.T) {
	t.Parallel()
	var tok, id string
	h := requireToken(false)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, id = token(r.Context()), RequestID(r.Context())
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer abc")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if tok != "abc" || id != "" {
		t.Errorf("token alone: got token %q, id %q; want abc and none", tok, id)
	}
	req.Header.Set("X-Request-Id", "req-1")
	requestID(h).ServeHTTP(httptest.NewRecorder(), req)
	if tok != "abc" || id != "req-1" {
		t.Errorf("both: got token %q, id %q; want abc and req-1", tok, id)
	}
	if got := token(req.Context()); got != "" {
		t.Errorf("the caller's request was changed: token %q", got)
	}
}
