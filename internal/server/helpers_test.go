package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// secretToken is used by every test so that the log check in newProxy can
// prove it never reaches the logs.
const secretToken = "sk-test-9d1f5a63-secret"

// seen is what the fake upstream received in one request.
type seen struct {
	Method, Path, Query, Auth, RequestID, Body string
}

// upstream is a fake Codegen API: it records every request and answers with
// answer, which tests replace to script behaviours.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []seen
	answer http.HandlerFunc
}

func newUpstream(t *testing.T, answer http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{answer: answer}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		u.mu.Lock()
		u.seen = append(u.seen, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"),
			r.Header.Get("X-Request-ID"), string(body)})
		answer := u.answer
		u.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// requests returns what the upstream has received so far.
func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.seen...)
}

// jsonAnswer answers every request with status and body.
func jsonAnswer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// proxyOpts adjusts a test proxy.
type proxyOpts struct {
	config func(*config.Config)
	client func(*codegen.Client)
}

// newProxy starts the proxy in front of u and returns its URL. At cleanup it
// checks that the secret token never reached the logs.
func newProxy(t *testing.T, u *upstream, o proxyOpts) string {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": u.URL + "/v1", "CODEGEN_ORG_ID": "323"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.config != nil {
		o.config(&cfg)
	}
	m := metrics.New("test", "upstream")
	client := &codegen.Client{BaseURL: cfg.BaseURL, Timeout: cfg.UpstreamTimeout, RequestID: RequestID, Retries: -1, Observe: m.ObserveUpstream}
	if o.client != nil {
		o.client(client)
	}
	logs := &syncBuffer{}
	logger := newTestLogger(logs)
	hub := &stream.Hub{Client: client, Interval: cfg.StreamPoll, Budget: cfg.LogsBudget, Linger: 20 * time.Millisecond}
	m.WatchStreams(hub)
	proxy := httptest.NewServer(newHandler(t, Deps{Logger: logger, Config: cfg, Client: client, Streams: hub, Metrics: m, Version: "test", Started: time.Now()}))
	t.Cleanup(func() {
		hub.Shutdown()
		proxy.Close()
		hub.Close()
		if strings.Contains(logs.String(), secretToken) {
			t.Errorf("the token appears in the logs:\n%s", logs.String())
		}
	})
	return proxy.URL
}

// newHandler returns NewServer(d), failing t if it refuses d. A Deps without
// Streams gets a hub on d.Client, closed at cleanup.
func newHandler(t testing.TB, d Deps) http.Handler {
	t.Helper()
	if d.Streams == nil {
		d.Streams = &stream.Hub{Client: d.Client}
		t.Cleanup(d.Streams.Close)
	}
	h, err := NewServer(d)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// call makes a request with the secret token (unless headers override
// Authorization) and returns the response and its body.
func call(t *testing.T, method, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secretToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// decodeEnvelope decodes an error body, failing the test if it is not one.
func decodeEnvelope(t *testing.T, body string) envelope {
	t.Helper()
	var e envelope
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == "" || e.StatusCode == 0 || e.RequestID == "" || e.Code == "" {
		t.Fatalf("body is not a complete error envelope (%v): %s", err, body)
	}
	return e
}

// newTestLogger logs everything as JSON to w.
func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
