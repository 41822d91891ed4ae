package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/launchdarkly/eventsource"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// streamEnv is a proxy with a stream hub in front of a sandbox on a fake
// clock. Each upstream log read advances the clock by tick (when set), so a
// run moves one step per poll whatever the real timing.
type streamEnv struct {
	proxy string
	hub   *stream.Hub
	clock *sandbox.Clock
	tick  atomic.Int64 // nanoseconds the clock moves per log read

	logReads    atomic.Int64 // upstream log reads, all tokens
	tickedReads atomic.Int64 // log reads that moved the clock
	calls       atomic.Int64 // upstream calls of any kind
	served      atomic.Int64 // stream requests the proxy has finished

	failedAt, readAfterFail atomic.Int64 // unix nanoseconds: the last 429, and the first log read after it
	mu                      sync.Mutex
	readsBy                 map[string]int // upstream log reads per Authorization header
	fail                    atomic.Int32   // the next n log reads answer 429
}

const sandboxStep = time.Second

// streamOpts adjust a streamEnv.
type streamOpts struct {
	hub       func(*stream.Hub)
	heartbeat time.Duration // zero: an hour
	hold      chan struct{} // if set, upstream log reads wait until it is closed
}

func newStreamEnv(t *testing.T, o streamOpts) *streamEnv {
	t.Helper()
	e := &streamEnv{clock: sandbox.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)), readsBy: map[string]int{}}
	sb := sandbox.New(sandbox.Options{Now: e.clock.Now, Step: sandboxStep})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		if strings.HasSuffix(r.URL.Path, "/logs") {
			if o.hold != nil {
				<-o.hold
			}
			e.logReads.Add(1)
			e.mu.Lock()
			e.readsBy[r.Header.Get("Authorization")]++
			e.mu.Unlock()
			if e.failedAt.Load() != 0 {
				e.readAfterFail.CompareAndSwap(0, time.Now().UnixNano())
			}
			if e.fail.Add(-1) >= 0 {
				e.failedAt.Store(time.Now().UnixNano())
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`)
				return
			}
			if d := e.tick.Load(); d > 0 {
				e.tickedReads.Add(1)
				e.clock.Advance(time.Duration(d))
			}
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(upstream.Close)

	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": upstream.URL + "/v1", "CODEGEN_ORG_ID": "323"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Heartbeat = time.Hour
	if o.heartbeat > 0 {
		cfg.Heartbeat = o.heartbeat
	}
	client := &codegen.Client{BaseURL: cfg.BaseURL, RequestID: RequestID, Retries: -1}
	// StartWait is long so that a 404 is always a plain HTTP error here,
	// however loaded the machine.
	e.hub = &stream.Hub{Client: client, Interval: 10 * time.Millisecond, Budget: 6000, Linger: 20 * time.Millisecond, StartWait: 10 * time.Second}
	if o.hub != nil {
		o.hub(e.hub)
	}
	proxy := newHandler(t, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: client, Streams: e.hub})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxy.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/logs/stream") {
			e.served.Add(1)
		}
	}))
	t.Cleanup(func() {
		e.hub.Shutdown()
		srv.Close()
		e.hub.Close()
	})
	e.proxy = srv.URL
	return e
}

// create makes a sandbox run through the proxy and returns its id.
func (e *streamEnv) create(t *testing.T, prompt string) int64 {
	t.Helper()
	resp, body := call(t, "POST", e.proxy+"/agent-runs", fmt.Sprintf(`{"prompt":%q}`, prompt))
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var run codegen.AgentRun
	json.Unmarshal([]byte(body), &run)
	return run.ID
}

// event is one SSE event as the decoder reports it: id is the event's own
// id field, empty when the event has none (not the last id seen).
type event struct {
	id, name, data string
}

// sse is an open event stream. Its events are parsed by
// launchdarkly/eventsource's Decoder; raw keeps the bytes after the retry
// hint as they came, for the wire checks the decoder cannot make (comments).
type sse struct {
	resp   *http.Response
	events chan event
	raw    rawCapture
}

// rawCapture is the body as read so far. It is safe for concurrent use.
type rawCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *rawCapture) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *rawCapture) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// open starts a stream of run id; extra gives header pairs, and a path
// suffix such as "?after=3" may be given in query. A 200 stream must open
// with the retry hint.
func (e *streamEnv) open(t *testing.T, id int64, query string, headers ...string) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/agent-runs/%d/logs/stream%s", e.proxy, id, query), nil)
	if !strings.Contains(query, "access_token") {
		req.Header.Set("Authorization", "Bearer "+secretToken)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &sse{resp: resp, events: make(chan event, 1024)}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		return s
	}
	hint := fmt.Sprintf("retry: %d\n\n", retryHint.Milliseconds())
	got := make([]byte, len(hint))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != hint {
		t.Errorf("the stream opens with %q (%v), want %q", got, err, hint)
	}
	go func() {
		defer close(s.events)
		dec := eventsource.NewDecoder(io.TeeReader(resp.Body, &s.raw))
		for {
			ev, err := dec.Decode()
			if err != nil {
				return
			}
			s.events <- event{id: ev.Id(), name: ev.Event(), data: ev.Data()}
		}
	}()
	return s
}

// until collects events until one named name arrives (included), the
// stream ends, or the wait runs out.
func (s *sse) until(t *testing.T, name string, wait time.Duration) []event {
	t.Helper()
	var got []event
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev)
			if ev.name == name {
				return got
			}
		case <-timeout:
			t.Fatalf("no %q event within %s; got %d events: %v", name, wait, len(got), names(got))
		}
	}
}

// rawUntil waits until the bytes read so far satisfy cond, and returns them.
func (s *sse) rawUntil(t *testing.T, what string, cond func(raw []byte) bool) []byte {
	t.Helper()
	var raw []byte
	waitUntil(t, what, func() bool { raw = s.raw.bytes(); return cond(raw) })
	return raw
}

// hasLine reports whether raw, which starts at a line's start, holds line
// as a whole line.
func hasLine(raw []byte, line string) bool {
	return bytes.HasPrefix(raw, []byte(line+"\n")) || bytes.Contains(raw, []byte("\n"+line+"\n"))
}

// closed reports whether the server ended the stream within wait.
func (s *sse) closed(wait time.Duration) bool {
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func names(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.name)
	}
	return out
}

// logIDs returns the ids of the log events, checking each has one.
func logIDs(t *testing.T, evs []event) []string {
	t.Helper()
	var ids []string
	for _, e := range evs {
		switch {
		case e.name == "log" && e.id == "":
			t.Errorf("log event without id: %+v", e)
		case e.name != "log" && e.id != "":
			t.Errorf("%s event carries id %q; only logs may", e.name, e.id)
		case e.name == "log":
			ids = append(ids, e.id)
		}
	}
	return ids
}

// seq returns "from" .. "to-1" as strings.
func seq(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

// waitUntil waits until cond holds, failing the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
