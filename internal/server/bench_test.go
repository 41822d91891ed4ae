package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// The hot path's benchmarks. Compare runs with benchstat:
//   go test -run '^$' -bench . -benchmem -count 8 ./internal/server > new.txt

// benchRun is an upstream answer the size of a real run (about 600 bytes).
var benchRun = []byte(`{"id":12345,"organization_id":323,"status":"COMPLETE","created_at":"2026-11-25T12:00:00.000000",` +
	`"web_url":"https://sandbox.codegen.invalid/agent/trace/12345","result":"I made the requested changes and opened a pull request with them.",` +
	`"summary":"Implemented the change, added tests, opened a PR.","source_type":"API","github_pull_requests":[{"id":123450,` +
	`"title":"Sandbox changes","url":"https://sandbox.codegen.invalid/pull/1","created_at":"2026-11-25T12:00:00.000000",` +
	`"head_branch_name":"codegen-bot/bench"}],"metadata":{"source":"api"}}`)

// benchHandler returns the whole proxy handler, as run() builds it, with
// logs discarded after formatting and the given upstream transport.
func benchHandler(b *testing.B, baseURL string, rt http.RoundTripper) http.Handler {
	b.Helper()
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": baseURL, "CODEGEN_ORG_ID": "323", "LOG_FORMAT": "json"}[k]
	}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	m := metrics.New("bench", "upstream")
	client := &codegen.Client{BaseURL: cfg.BaseURL, RequestID: RequestID, Observe: m.ObserveUpstream}
	if rt != nil {
		client.Transport = rt
	}
	hub := &stream.Hub{Client: client}
	b.Cleanup(hub.Close)
	return newHandler(b, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: client, Streams: hub, Metrics: m})
}

// cannedTransport answers every request with benchRun, in memory.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(benchRun)), ContentLength: int64(len(benchRun)), Request: r}, nil
}

// BenchmarkHandlerGetRun measures the proxy's own work for GET
// /agent-runs/{id}: middleware, handler, the client's request building and
// checks, with the upstream answering in memory. Its allocations are the
// proxy's per request, less the transport's.
func BenchmarkHandlerGetRun(b *testing.B) {
	h := benchHandler(b, "http://upstream.invalid/v1", cannedTransport{})
	req := httptest.NewRequest("GET", "/agent-runs/12345", nil)
	req.Header.Set("Authorization", "Bearer sk-bench")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkProxyGetRun measures a proxied GET end to end over loopback:
// client, proxy and upstream share the process, so ns/op and allocs/op
// include all three; compare it run to run, not with the handler alone.
func BenchmarkProxyGetRun(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(benchRun))}
		w.Write(benchRun)
	}))
	defer upstream.Close()
	proxy := httptest.NewServer(benchHandler(b, upstream.URL+"/v1", codegen.NewTransport()))
	defer proxy.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	req, _ := http.NewRequest("GET", proxy.URL+"/agent-runs/12345", nil)
	req.Header.Set("Authorization", "Bearer sk-bench")
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkWriteError measures the error writer: mapping an upstream 404 to
// its envelope and writing it.
func BenchmarkWriteError(b *testing.B) {
	req := httptest.NewRequest("GET", "/agent-runs/1", nil)
	req = req.WithContext(withRequestID(req.Context(), "0f8fad5b-d9cb-469f-a165-70867728950e"))
	err := error(&codegen.Error{Op: "get_run", StatusCode: 404, Message: "Agent run not found."})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		writeError(w, req, err)
		if w.Code != 404 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkSSELogEvent measures encoding and flushing one log event.
func BenchmarkSSELogEvent(b *testing.B) {
	w, err := stream.NewWriter(discardFlusher{}, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	entry := []byte(`{"agent_run_id":12345,"created_at":"2026-11-25T12:00:00.000000","tool_name":"ripgrep_search","message_type":"ACTION",` +
		`"thought":"Find where the code to change lives.","observation":{"status":"success"},"tool_input":{"query":"def fibonacci"},"tool_output":{"matches":2}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(entry)))
	i := 0
	for b.Loop() {
		w.Log(i, entry)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// discardFlusher is a ResponseWriter that drops what it is given.
type discardFlusher struct{}

func (discardFlusher) Header() http.Header         { return http.Header{} }
func (discardFlusher) Write(p []byte) (int, error) { return len(p), nil }
func (discardFlusher) WriteHeader(int)             {}
func (discardFlusher) Flush()                      {}
