package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/launchdarkly/eventsource"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// runsAPI is a fake Codegen API that lists each token's runs, newest first,
// as the test sets them, and records which tokens read them.
type runsAPI struct {
	mu      sync.Mutex
	runs    map[string][]string // per Authorization header: run JSON, newest first
	readsBy map[string]int
	reads   atomic.Int64
}

func (a *runsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if !strings.HasSuffix(r.URL.Path, "/organizations/323/agent/runs") {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"not found","status_code":404}`)
		return
	}
	a.reads.Add(1)
	a.readsBy[auth]++
	runs := a.runs[auth]
	fmt.Fprintf(w, `{"items":[%s],"total":%d,"page":1,"size":20,"pages":1}`, strings.Join(runs, ","), len(runs))
}

// set makes tok's runs those given, newest first.
func (a *runsAPI) set(tok string, runs ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.runs["Bearer "+tok] = runs
}

func runJSON(id int, status, summary string) string {
	return fmt.Sprintf(`{"id":%d,"organization_id":323,"status":%q,"summary":%q,"github_pull_requests":[],"result":null}`, id, status, summary)
}

// feedEnv is a proxy in front of a runsAPI.
type feedEnv struct {
	proxy string
	api   *runsAPI
	hub   *stream.Hub
}

func newFeedEnv(t *testing.T, adjust func(*stream.Hub)) *feedEnv {
	t.Helper()
	e := &feedEnv{api: &runsAPI{runs: map[string][]string{}, readsBy: map[string]int{}}}
	up := httptest.NewServer(e.api)
	t.Cleanup(up.Close)
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": up.URL + "/v1", "CODEGEN_ORG_ID": "323"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Heartbeat = time.Hour
	client := &codegen.Client{BaseURL: cfg.BaseURL, RequestID: RequestID, Retries: -1}
	e.hub = &stream.Hub{Client: client, Interval: 5 * time.Millisecond, Budget: 60000, Linger: time.Hour, StartWait: 10 * time.Second}
	if adjust != nil {
		adjust(e.hub)
	}
	srv := httptest.NewServer(newHandler(t, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: client, Streams: e.hub}))
	t.Cleanup(func() {
		e.hub.Shutdown()
		srv.Close()
		e.hub.Close()
	})
	e.proxy = srv.URL
	return e
}

// openFeed opens the runs feed with tok; headers are pairs. A 200 stream
// is decoded by launchdarkly/eventsource's Decoder, after the retry hint.
func (e *feedEnv) openFeed(t *testing.T, tok, query string, headers ...string) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", e.proxy+"/agent-runs/stream"+query, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &sse{resp: resp, events: make(chan event, 1024)}
	t.Cleanup(func() {
		resp.Body.Close()
		for range s.events { // until the decoder has stopped
		}
	})
	if resp.StatusCode != 200 {
		close(s.events)
		return s
	}
	go func() {
		defer close(s.events)
		dec := eventsource.NewDecoder(io.TeeReader(resp.Body, &s.raw))
		for {
			ev, err := dec.Decode()
			if err != nil {
				return
			}
			if ev.Event() != "" { // not the retry hint
				s.events <- event{id: ev.Id(), name: ev.Event(), data: ev.Data()}
			}
		}
	}()
	return s
}

// next returns the next n events, failing after 10 s.
func (s *sse) next(t *testing.T, n int) []event {
	t.Helper()
	var got []event
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended after %v; want %d events", got, n)
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("got %v within 10 s; want %d events", got, n)
		}
	}
	return got
}

// runEvent is a run event as a test states it: its id ("" for none) and
// the run's id and status.
func runEvent(id string, run int, status string) event {
	return event{id: id, name: "run", data: fmt.Sprintf("%d %s", run, status)}
}

// brief shortens run events' data to "id status" for comparison.
func brief(t *testing.T, evs []event) []event {
	t.Helper()
	out := make([]event, len(evs))
	for i, ev := range evs {
		out[i] = ev
		if ev.name == "run" {
			var r codegen.AgentRun
			if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
				t.Fatalf("run event data %q: %v", ev.data, err)
			}
			out[i].data = fmt.Sprintf("%d %s", r.ID, statusOf(r))
		}
	}
	return out
}

// origin is the number before the first a new feed poller gave, read from
// its first snapshot (in which every run was numbered).
func origin(t *testing.T, snapshot []event) int64 {
	t.Helper()
	last, err := strconv.ParseInt(snapshot[len(snapshot)-1].id, 10, 64)
	if err != nil {
		t.Fatalf("the snapshot's last event has id %q", snapshot[len(snapshot)-1].id)
	}
	return last - int64(len(snapshot))
}

// from rewrites events' ids as their distance from origin, so that the
// first a poller gave reads "1".
func from(t *testing.T, origin int64, evs []event) []event {
	t.Helper()
	out := make([]event, len(evs))
	for i, ev := range evs {
		out[i] = ev
		if ev.id != "" {
			n, err := strconv.ParseInt(ev.id, 10, 64)
			if err != nil {
				t.Fatalf("event id %q is not a number", ev.id)
			}
			out[i].id = strconv.FormatInt(n-origin, 10)
		}
	}
	return out
}

// after is the feed id n past origin, as a client sends it.
func after(origin, n int64) string { return strconv.FormatInt(origin+n, 10) }

func wantEvents(t *testing.T, what string, got, want []event) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestFeedSendsASnapshotThenAChangeOrANewRun(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, nil)
	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "PENDING", ""), runJSON(1, "COMPLETE", "done"))
	s := e.openFeed(t, secretToken, "")
	if ct := s.resp.Header.Get("Content-Type"); s.resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("feed: %d %s; want an event stream", s.resp.StatusCode, ct)
	}
	// The snapshot, newest first; only its last event has an id: the latest number.
	snapshot := brief(t, s.next(t, 3))
	o := origin(t, snapshot)
	wantEvents(t, "snapshot", from(t, o, snapshot),
		[]event{runEvent("", 3, "RUNNING"), runEvent("", 2, "PENDING"), runEvent("3", 1, "COMPLETE")})

	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", "done"))
	wantEvents(t, "a status change", from(t, o, brief(t, s.next(t, 1))), []event{runEvent("4", 2, "RUNNING")})

	e.api.set(secretToken, runJSON(4, "PENDING", ""), runJSON(3, "RUNNING", "half way"), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", "done"))
	wantEvents(t, "a new run and a summary change", from(t, o, brief(t, s.next(t, 2))),
		[]event{runEvent("5", 4, "PENDING"), runEvent("6", 3, "RUNNING")})

	prs := strings.Replace(runJSON(1, "COMPLETE", "done"), `[]`, `[{"id":7,"url":"https://github.com/o/r/pull/7"}]`, 1)
	e.api.set(secretToken, runJSON(4, "PENDING", ""), runJSON(3, "RUNNING", "half way"), runJSON(2, "RUNNING", ""), prs)
	got := s.next(t, 1)
	wantEvents(t, "a pull request", from(t, o, brief(t, got)), []event{runEvent("7", 1, "COMPLETE")})
	if !strings.Contains(got[0].data, "pull/7") {
		t.Errorf("the run event's data %s lacks the pull request", got[0].data)
	}
	if n := e.hub.FeedPollers(); n != 1 {
		t.Errorf("%d feed pollers, want 1", n)
	}
}

func TestFeedRouteIsNotARunID(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, nil)
	resp, body := call(t, "HEAD", e.proxy+"/agent-runs/stream", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || body != "" {
		t.Errorf("HEAD /agent-runs/stream: %d %q %q; want the stream's headers", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if n := e.api.reads.Load(); n != 0 {
		t.Errorf("HEAD made %d upstream calls, want 0", n)
	}
	e.api.set(secretToken, runJSON(1, "COMPLETE", ""))
	s := e.openFeed(t, "", "?access_token="+secretToken) // as EventSource sends it
	snapshot := brief(t, s.next(t, 1))
	wantEvents(t, "with the token in the query", from(t, origin(t, snapshot), snapshot), []event{runEvent("1", 1, "COMPLETE")})
	for _, q := range []string{"?after=-1", "?after=01", "?after=x", "?after=1&after=2"} {
		if resp, body := call(t, "GET", e.proxy+"/agent-runs/stream"+q, ""); resp.StatusCode != 400 || !strings.Contains(body, "after") {
			t.Errorf("%s: %d %s; want 400 naming after", q, resp.StatusCode, body)
		}
	}
	if resp, body := call(t, "GET", e.proxy+"/agent-runs/stream", "", "Last-Event-ID", "soon"); resp.StatusCode != 400 || !strings.Contains(body, "Last-Event-ID") {
		t.Errorf("Last-Event-ID: soon: %d %s; want 400 naming it", resp.StatusCode, body)
	}
	if resp, _ := call(t, "GET", e.proxy+"/agent-runs/stream", "", "Authorization", ""); resp.StatusCode != 401 {
		t.Errorf("without a token: %d, want 401", resp.StatusCode)
	}
}

// A feed asked for a timeout ends by itself, quietly, after the snapshot:
// what scripts and Swagger UI's Try it out (which shows an answer only once
// it ends) need. A timeout out of range is a 400 naming it.
func TestFeedWithATimeoutEndsByItself(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, nil)
	e.api.set(secretToken, runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", "done"))
	s := e.openFeed(t, secretToken, "?timeout=1")
	snapshot := brief(t, s.next(t, 2))
	wantEvents(t, "snapshot", from(t, origin(t, snapshot), snapshot), []event{runEvent("", 2, "RUNNING"), runEvent("2", 1, "COMPLETE")})
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Errorf("after the snapshot: %+v, want the stream to end", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a feed with timeout=1 was still open after 10 s")
	}
	if strings.Contains(string(s.raw.bytes()), "event: error") {
		t.Errorf("the timed-out feed sent an error: %s", s.raw.bytes())
	}
	for _, q := range []string{"?timeout=0", "?timeout=301", "?timeout=1s", "?timeout=1&timeout=2"} {
		if resp, body := call(t, "GET", e.proxy+"/agent-runs/stream"+q, ""); resp.StatusCode != 400 || !strings.Contains(body, "timeout") {
			t.Errorf("%s: %d %s; want 400 naming timeout", q, resp.StatusCode, body)
		}
	}
}
