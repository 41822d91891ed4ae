package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/codegen-proxy/codegen-proxy/internal/server"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// upstream is a Codegen API with one run, whose n log entries and status
// the test sets. It counts the log reads it answers.
type upstream struct {
	url      string
	mu       sync.Mutex
	n        int
	status   string
	runs     []string // the runs feed's runs' statuses, run i+1 at i
	logReads atomic.Int64
}

// setRuns sets the statuses of runs 1, 2, ... on the runs feed.
func (u *upstream) setRuns(statuses ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.runs = statuses
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{status: "ACTIVE"}
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	u.url = srv.URL + "/v1"
	return u
}

func (u *upstream) set(n int, status string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.n, u.status = n, status
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	n, status, runs := u.n, u.status, u.runs
	u.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/agent/runs") {
		var items []string
		for i := len(runs) - 1; i >= 0; i-- { // newest first
			items = append(items, fmt.Sprintf(`{"id":%d,"status":%q,"summary":"s","github_pull_requests":[]}`, i+1, runs[i]))
		}
		fmt.Fprintf(w, `{"items":[%s],"total":%d,"page":1,"size":20,"pages":1}`, strings.Join(items, ","), len(runs))
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/logs") {
		fmt.Fprintf(w, `{"id":1,"status":%q,"result":null,"summary":"s","github_pull_requests":[]}`, status)
		return
	}
	u.logReads.Add(1)
	skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	var logs []string
	for i := skip; i < n && i < skip+limit; i++ {
		logs = append(logs, fmt.Sprintf(`{"pos":%d,"thought":"t%d"}`, i, i))
	}
	fmt.Fprintf(w, `{"id":1,"status":%q,"logs":[%s],"total_logs":%d}`, status, strings.Join(logs, ","), n)
}

// replica is one proxy process's parts: its Redis client, its Hub sharing
// through it, and its HTTP server.
type replica struct {
	cc   *Client
	hub  *stream.Hub
	srv  *httptest.Server
	once sync.Once
}

// startReplica starts a replica on redisURL and up, stopped gracefully when
// the test ends; adjust, if any, changes its Hub and store first.
func startReplica(t *testing.T, redisURL string, up *upstream, leaseTTL time.Duration, adjust ...func(*stream.Hub, *StreamShare)) *replica {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testLog, nil))
	cc := newClient(t, redisURL, Options{Timeout: 2 * time.Second, CheckInterval: 100 * time.Millisecond, Logger: log})
	hub := &stream.Hub{Client: &codegen.Client{BaseURL: up.url, Retries: -1}, Interval: 20 * time.Millisecond,
		Budget: 60000, Linger: 200 * time.Millisecond, StartWait: 10 * time.Second, Logger: log,
		Shared: &StreamShare{Client: cc, LeaseTTL: leaseTTL}}
	for _, a := range adjust {
		a(hub, hub.Shared.(*StreamShare))
	}
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": up.url, "STREAM_HEARTBEAT": "1s"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.NewServer(server.Deps{Logger: log, Config: cfg, Client: hub.Client, Streams: hub})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{cc: cc, hub: hub, srv: httptest.NewServer(h)}
	t.Cleanup(r.stop)
	return r
}

// stop stops the replica as SIGTERM does: its streams end, its leases are
// given up.
func (r *replica) stop() {
	r.once.Do(func() {
		r.hub.Close()
		r.srv.Close()
	})
}

// crash stops the replica as SIGKILL does, for the others: its Redis
// connections drop first, so its leases are left to expire.
func (r *replica) crash() {
	r.once.Do(func() {
		r.cc.Close()
		r.hub.Close()
		r.srv.Close()
	})
}

// pollingReplica returns the index of the only replica that read logs upstream.
func pollingReplica(t *testing.T, rs []*replica) int {
	t.Helper()
	at := -1
	for i, r := range rs {
		if r.hub.Polls() > 0 {
			if at >= 0 {
				t.Fatalf("replicas %d and %d both polled upstream (%d and %d reads)", at, i, rs[at].hub.Polls(), r.hub.Polls())
			}
			at = i
		}
	}
	if at < 0 {
		t.Fatal("no replica polled upstream")
	}
	return at
}

// sub is one SSE client of run 1's log stream.
type sub struct {
	status int
	mu     sync.Mutex
	logs   []int
	done   bool
	ended  bool
	stop   context.CancelFunc
}

// subscribe opens run 1's log stream on r, resuming after lastID unless it
// is empty, and reads it in the background until the stream or test ends.
func subscribe(t *testing.T, r *replica, lastID string) *sub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/agent-runs/1/logs/stream", nil)
	req.Header.Set("Authorization", "Bearer sk-shared-test")
	req.Header.Set("X-Codegen-Org-Id", "1")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("subscribing: %v", err)
	}
	s := &sub{status: resp.StatusCode, stop: cancel}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer resp.Body.Close()
		s.read(t, resp.Body)
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	if resp.StatusCode != http.StatusOK {
		t.Errorf("stream answered %d, want 200", resp.StatusCode)
	}
	return s
}

func (s *sub) read(t *testing.T, body io.Reader) {
	defer func() { s.mu.Lock(); s.ended = true; s.mu.Unlock() }()
	dec := eventsource.NewDecoder(bufio.NewReader(body))
	for {
		ev, err := dec.Decode()
		if err != nil {
			return
		}
		s.mu.Lock()
		switch ev.Event() {
		case "log":
			n, err := strconv.Atoi(ev.Id())
			if err != nil {
				t.Errorf("log event id %q", ev.Id())
			}
			s.logs = append(s.logs, n)
		case "done":
			s.done = true
		}
		s.mu.Unlock()
	}
}

// has reports whether s got n logs (or more), or the done event if done.
func (s *sub) has(n int, done bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logs) >= n && (!done || s.done)
}

// check fails unless s got positions from..to-1 each once, in order, and
// the done event.
func (s *sub) check(t *testing.T, name string, from, to int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	bad := len(s.logs) != to-from || !s.done
	for i, p := range s.logs {
		bad = bad || p != from+i
	}
	if bad {
		t.Errorf("%s got %d logs %s, done %v; want %d..%d once each, then done", name, len(s.logs), ranges(s.logs), s.done, from, to-1)
	}
}

// ranges writes positions as runs: "0..39,39..99" shows a duplicate.
func ranges(ps []int) string {
	var b strings.Builder
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		fmt.Fprintf(&b, "%d..%d,", ps[i], ps[j])
		i = j + 1
	}
	return strings.TrimSuffix(b.String(), ",")
}

// allHave waits until every sub has n logs (and done, if done).
func allHave(t *testing.T, subs []*sub, n int, done bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("every subscriber to have %d logs (done %v)", n, done), func() bool {
		for _, s := range subs {
			if !s.has(n, done) {
				return false
			}
		}
		return true
	})
}

// testLog receives the replicas' logs.
var testLog io.Writer = io.Discard
