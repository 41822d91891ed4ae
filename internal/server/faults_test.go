package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// faultyUpstream answers like the Codegen API, or misbehaves as mode says.
type faultyUpstream struct {
	mode  atomic.Value // string: "ok", "malformed", "truncated", "oversized", "503", "429", "429-retry-after"
	calls atomic.Int64
}

// runBody is a 20 KB run, big enough for the body toxics to bite.
var runBody = fmt.Sprintf(`{"id":1,"organization_id":323,"status":"COMPLETE","result":%q}`, strings.Repeat("x", 20<<10))

func (f *faultyUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	mode, _ := f.mode.Load().(string)
	switch mode {
	case "malformed":
		io.WriteString(w, `{"id":1,"organization_id":`)
	case "truncated":
		w.Header().Set("Content-Length", fmt.Sprint(len(runBody)))
		io.WriteString(w, runBody[:len(runBody)/2])
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case "oversized":
		w.Header().Set("Content-Length", fmt.Sprint(33<<20))
		w.WriteHeader(200)
		io.WriteString(w, `{"x":"`)
	case "503":
		w.WriteHeader(http.StatusServiceUnavailable)
	case "429":
		jsonAnswer(429, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`)(w, r)
	case "429-retry-after":
		w.Header().Set("Retry-After", "30")
		jsonAnswer(429, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`)(w, r)
	default:
		io.WriteString(w, runBody)
	}
}

// TestUpstreamFaults puts a real fault proxy (toxiproxy, in-process)
// between codegen-proxy and its upstream and checks each fault's answer, how
// many attempts the client made and how many reached the upstream, and that
// the server is healthy afterwards. GETs are retried (twice) on connection
// failures and 502/503/504, POSTs not; a timeout ends the call.
func TestUpstreamFaults(t *testing.T) {
	zerolog.SetGlobalLevel(zerolog.Disabled) // toxiproxy's toxics log through the global logger
	upstream := &faultyUpstream{}
	u := newUpstream(t, upstream.ServeHTTP)

	tox := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	fault := toxiproxy.NewProxy(tox, "codegen", "127.0.0.1:0", strings.TrimPrefix(u.URL, "http://"))
	if err := fault.Start(); err != nil {
		t.Fatal(err)
	}
	proxyAddr := fault.Listen
	// A transport of its own, so that no kept-alive connection to toxiproxy
	// outlives the test (toxiproxy would keep a goroutine per connection).
	tr := codegen.NewTransport()
	defer fault.Stop()
	defer tr.CloseIdleConnections()

	var attempts atomic.Int64
	proxy := newProxy(t, u, proxyOpts{
		config: func(c *config.Config) { c.UpstreamTimeout = 600 * time.Millisecond },
		client: func(c *codegen.Client) {
			c.BaseURL, c.Retries, c.Transport = "http://"+proxyAddr+"/v1", 0, tr
			observe := c.Observe
			c.Observe = func(op string, status int, d time.Duration) {
				attempts.Add(1)
				observe(op, status, d)
			}
		},
	})

	tests := []struct {
		name       string
		toxic      string // toxiproxy toxic JSON, or ""
		mode       string
		stop       bool // stop the fault proxy: connections are refused
		post       bool
		wantStatus int
		wantCode   string
		wantCalls  int64 // requests the upstream received
		// wantAttempts counts the client's attempts, which reach the
		// upstream or not: GETs are retried twice, POSTs never here.
		wantAttempts int64
		retryAfter   string
	}{
		{name: "connection refused", stop: true, wantStatus: 502, wantCode: "upstream_error", wantCalls: 0, wantAttempts: 3},
		{name: "reset mid-body", toxic: `{"type":"limit_data","attributes":{"bytes":4000}}`, wantStatus: 502, wantCode: "upstream_error", wantCalls: 3, wantAttempts: 3},
		{name: "reset by peer", toxic: `{"type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}`, wantStatus: 502, wantCode: "upstream_error", wantCalls: 0, wantAttempts: 3},
		{name: "slow headers past the timeout", toxic: `{"type":"latency","attributes":{"latency":3000}}`, wantStatus: 504, wantCode: "upstream_timeout", wantCalls: 1, wantAttempts: 1},
		{name: "slow drip body", toxic: `{"type":"bandwidth","attributes":{"rate":4}}`, wantStatus: 504, wantCode: "upstream_timeout", wantCalls: 1, wantAttempts: 1},
		{name: "malformed JSON", mode: "malformed", wantStatus: 502, wantCode: "upstream_error", wantCalls: 1, wantAttempts: 1},
		{name: "truncated JSON", mode: "truncated", wantStatus: 502, wantCode: "upstream_error", wantCalls: 3, wantAttempts: 3},
		{name: "oversized body", mode: "oversized", wantStatus: 502, wantCode: "upstream_error", wantCalls: 1, wantAttempts: 1},
		{name: "5xx storm on GET", mode: "503", wantStatus: 502, wantCode: "upstream_error", wantCalls: 3, wantAttempts: 3},
		{name: "5xx storm on POST", mode: "503", post: true, wantStatus: 502, wantCode: "upstream_error", wantCalls: 1, wantAttempts: 1},
		{name: "429 without Retry-After", mode: "429", wantStatus: 429, wantCode: "rate_limited", wantCalls: 1, wantAttempts: 1},
		{name: "429 with Retry-After", mode: "429-retry-after", wantStatus: 429, wantCode: "rate_limited", wantCalls: 1, wantAttempts: 1, retryAfter: "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream.mode.Store(tt.mode)
			if tt.toxic != "" {
				tw, err := fault.Toxics.AddToxicJson(strings.NewReader(tt.toxic))
				if err != nil {
					t.Fatal(err)
				}
				defer fault.Toxics.RemoveToxic(context.Background(), tw.Name)
			}
			if tt.stop {
				fault.Stop()
				defer func() {
					if err := fault.Start(); err != nil {
						t.Fatal(err)
					}
				}()
			}
			before, tried := upstream.calls.Load(), attempts.Load()
			start := time.Now()
			method, path, body := "GET", "/agent-runs/1", ""
			if tt.post {
				method, path, body = "POST", "/agent-runs", `{"prompt":"x"}`
			}
			resp, got := call(t, method, proxy+path, body)
			if resp.StatusCode != tt.wantStatus || decodeEnvelope(t, got).Code != tt.wantCode {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, got, tt.wantStatus, tt.wantCode)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %v: the upstream timeout is 600 ms", d)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if n, a := upstream.calls.Load()-before, attempts.Load()-tried; n != tt.wantCalls || a != tt.wantAttempts {
				t.Errorf("upstream got %d calls of %d attempts, want %d of %d", n, a, tt.wantCalls, tt.wantAttempts)
			}
		})
		// Healthy afterwards: the fault is gone and a normal call works.
		upstream.mode.Store("ok")
		if resp, _ := call(t, "GET", proxy+"/health", "", "Authorization", ""); resp.StatusCode != 200 {
			t.Errorf("after %s: /health %d", tt.name, resp.StatusCode)
		}
		if resp, body := call(t, "GET", proxy+"/agent-runs/1", ""); resp.StatusCode != 200 || body != runBody {
			t.Errorf("after %s: GET run %d", tt.name, resp.StatusCode)
		}
	}
}
