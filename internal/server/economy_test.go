package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/budget"
	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
)

// fakeClock is a clock that moves only when a test advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// econ is a proxy with the read cache and the budget, both on a fake clock,
// in front of a counting upstream.
type econ struct {
	url    string
	clock  *fakeClock
	cache  *cache.Cache
	client *codegen.Client
	calls  atomic.Int64
}

// newEcon starts it; answer answers the upstream's requests, after they are
// counted. store, if set, bounds the cache.
func newEcon(t *testing.T, answer http.HandlerFunc, store *cache.Memory) *econ {
	t.Helper()
	e := &econ{clock: &fakeClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		answer(w, r)
	}))
	t.Cleanup(up.Close)
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": up.URL + "/v1", "CODEGEN_ORG_ID": "323"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := &budget.Budget{Now: e.clock.Now, MaxWait: -1}
	e.client = &codegen.Client{BaseURL: cfg.BaseURL, Timeout: 10 * time.Second, Retries: -1, Budget: b}
	if store == nil {
		store = &cache.Memory{}
	}
	e.cache = &cache.Cache{Store: store, Now: e.clock.Now}
	h := newHandler(t, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: e.client, Cache: e.cache,
		Metrics: metrics.New("test", "upstream"), Version: "test", Started: time.Now()})
	proxy := httptest.NewServer(h)
	t.Cleanup(proxy.Close)
	e.url = proxy.URL
	return e
}

// runAnswer answers every request with a run whose id is the path's last
// number, or a page or logs shape: enough JSON for the proxy.
func runAnswer(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"id":1,"status":"RUNNING","path":"`+r.URL.Path+`","q":"`+r.URL.RawQuery+`","auth":"`+r.Header.Get("Authorization")[len("Bearer sk-"):]+`"}`)
}

func TestConcurrentReadsShareOneCall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) { <-release; runAnswer(w, r) }, nil)
	const n = 10
	var wg sync.WaitGroup
	statuses := make([]string, n)
	bodies := make([]string, n)
	for i := range n {
		wg.Go(func() {
			resp, body := call(t, http.MethodGet, e.url+"/agent-runs/5", "")
			statuses[i], bodies[i] = resp.Header.Get("Cache-Status"), body
		})
	}
	waitUntil(t, "10 reads waiting on one call", func() bool { return e.cache.Waiting() == n })
	close(release)
	wg.Wait()
	if got := e.calls.Load(); got != 1 {
		t.Errorf("upstream calls: got %d, want 1", got)
	}
	for i := range n {
		if bodies[i] != bodies[0] || !strings.Contains(statuses[i], "collapsed") {
			t.Errorf("read %d: Cache-Status %q, body %s; want a collapsed copy of %s", i, statuses[i], bodies[i], bodies[0])
		}
	}
}

func TestALeavingClientDoesNotCancelTheSharedCall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var cancelled atomic.Bool
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		cancelled.Store(r.Context().Err() != nil)
		runAnswer(w, r)
	}, nil)
	ctx, leave := context.WithCancel(context.Background())
	defer leave()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/agent-runs/5", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	left := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		left <- err
	}()
	waitUntil(t, "the first read", func() bool { return e.cache.Waiting() == 1 })
	stayed := make(chan *http.Response, 1)
	go func() {
		resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/5", "")
		stayed <- resp
	}()
	waitUntil(t, "the second read", func() bool { return e.cache.Waiting() == 2 })
	leave()
	<-left
	waitUntil(t, "the first client to leave", func() bool { return e.cache.Waiting() == 1 })
	close(release)
	if resp := <-stayed; resp.StatusCode != http.StatusOK {
		t.Errorf("the client that stayed: got %d, want 200", resp.StatusCode)
	}
	if cancelled.Load() || e.calls.Load() != 1 {
		t.Errorf("upstream call cancelled: %v, calls %d; want one call, not cancelled", cancelled.Load(), e.calls.Load())
	}
}

func TestTokensNeverShareAnswers(t *testing.T) {
	t.Parallel()
	e := newEcon(t, runAnswer, nil)
	_, a := call(t, http.MethodGet, e.url+"/agent-runs/5", "")
	_, b := call(t, http.MethodGet, e.url+"/agent-runs/5", "", "Authorization", "Bearer sk-other-token")
	if e.calls.Load() != 2 || a == b || !strings.Contains(b, "other-token") {
		t.Errorf("calls %d; answers %s and %s; want two calls, each token its own answer", e.calls.Load(), a, b)
	}
}

func TestFreshnessThenRefetch(t *testing.T) {
	t.Parallel()
	e := newEcon(t, runAnswer, nil)
	resp, _ := call(t, http.MethodGet, e.url+"/agent-runs?limit=5", "")
	if got := resp.Header.Get("Cache-Status"); got != "codegen-proxy; fwd=miss; fwd-status=200; stored" {
		t.Errorf("first read: Cache-Status %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "private, max-age=2" {
		t.Errorf("Cache-Control: got %q, want private, max-age=2", got)
	}
	e.clock.Advance(1500 * time.Millisecond)
	resp, _ = call(t, http.MethodGet, e.url+"/agent-runs?limit=5", "")
	if got := resp.Header.Get("Cache-Status"); got != "codegen-proxy; hit; ttl=0" || e.calls.Load() != 1 {
		t.Errorf("read within freshness: Cache-Status %q, calls %d; want a hit and 1 call", got, e.calls.Load())
	}
	e.clock.Advance(500 * time.Millisecond)
	resp, _ = call(t, http.MethodGet, e.url+"/agent-runs?limit=5", "")
	if got := resp.Header.Get("Cache-Status"); !strings.HasPrefix(got, "codegen-proxy; fwd=stale") || e.calls.Load() != 2 {
		t.Errorf("read after freshness: Cache-Status %q, calls %d; want fwd=stale and 2 calls", got, e.calls.Load())
	}
}

func TestWritesInvalidateWhatTheyChange(t *testing.T) {
	t.Parallel()
	reads := []string{"/agent-runs?limit=5", "/agent-runs/5", "/agent-runs/5/logs?limit=5", "/agent-runs/6", "/integrations"}
	cases := []struct {
		name, method, path, body string
		refetched                []string
	}{
		{"create", http.MethodPost, "/agent-runs", `{"prompt":"p"}`, []string{"/agent-runs?limit=5"}},
		{"resume", http.MethodPost, "/agent-runs/5/resume", `{"prompt":"p"}`, []string{"/agent-runs?limit=5", "/agent-runs/5", "/agent-runs/5/logs?limit=5"}},
		{"stop", http.MethodPost, "/agent-runs/5/stop", "", []string{"/agent-runs?limit=5", "/agent-runs/5", "/agent-runs/5/logs?limit=5"}},
		{"ban", http.MethodPost, "/agent-runs/5/ban-checks", "", []string{"/agent-runs?limit=5", "/agent-runs/5", "/agent-runs/5/logs?limit=5"}},
		{"unban", http.MethodPost, "/agent-runs/5/unban-checks", "", []string{"/agent-runs?limit=5", "/agent-runs/5", "/agent-runs/5/logs?limit=5"}},
		{"remove-from-pr", http.MethodPost, "/agent-runs/5/remove-from-pr", "", []string{"/agent-runs?limit=5", "/agent-runs/5", "/agent-runs/5/logs?limit=5"}},
		{"pr edit", http.MethodPatch, "/pull-requests/9", `{"state":"closed"}`, []string{"/agent-runs?limit=5", "/agent-runs/5", "/agent-runs/5/logs?limit=5", "/agent-runs/6"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEcon(t, runAnswer, nil)
			for _, p := range reads {
				call(t, http.MethodGet, e.url+p, "")
			}
			if resp, body := call(t, tc.method, e.url+tc.path, tc.body); resp.StatusCode != http.StatusOK {
				t.Fatalf("write: %d %s", resp.StatusCode, body)
			}
			for _, p := range reads {
				resp, _ := call(t, http.MethodGet, e.url+p, "")
				hit := strings.Contains(resp.Header.Get("Cache-Status"), "; hit")
				want := !slices.Contains(tc.refetched, p)
				if hit != want {
					t.Errorf("%s after %s: Cache-Status %q, want hit=%v", p, tc.name, resp.Header.Get("Cache-Status"), want)
				}
			}
		})
	}
}

func TestCacheBounds(t *testing.T) {
	t.Parallel()
	t.Run("count", func(t *testing.T) {
		t.Parallel()
		e := newEcon(t, runAnswer, &cache.Memory{MaxEntries: 2})
		// 3 again is a hit, so no cache would make 5 calls; 1 again was
		// evicted, so an unbounded cache would make 3.
		for _, id := range []string{"1", "2", "3", "3", "1"} {
			call(t, http.MethodGet, e.url+"/agent-runs/"+id, "")
		}
		if e.calls.Load() != 4 {
			t.Errorf("calls: got %d, want 4 (run 1 was evicted by run 3)", e.calls.Load())
		}
	})
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		e := newEcon(t, runAnswer, &cache.Memory{MaxBytes: 700})
		// 3 again is a hit, so no cache would make 5 calls; 1 again was
		// evicted, so an unbounded cache would make 3.
		for _, id := range []string{"1", "2", "3", "3", "1"} {
			call(t, http.MethodGet, e.url+"/agent-runs/"+id, "")
		}
		if e.calls.Load() != 4 {
			t.Errorf("calls: got %d, want 4 (run 1 was evicted to stay within the bytes)", e.calls.Load())
		}
	})
	t.Run("oversize served, not kept", func(t *testing.T) {
		t.Parallel()
		e := newEcon(t, runAnswer, &cache.Memory{MaxEntryBytes: 200})
		for range 2 {
			resp, body := call(t, http.MethodGet, e.url+"/agent-runs/5", "")
			if resp.StatusCode != http.StatusOK || !strings.HasSuffix(body, "}") || strings.Contains(resp.Header.Get("Cache-Status"), "stored") {
				t.Errorf("got %d %q (%s), want the whole answer, not stored", resp.StatusCode, resp.Header.Get("Cache-Status"), body)
			}
		}
		if e.calls.Load() != 2 {
			t.Errorf("calls: got %d, want 2", e.calls.Load())
		}
	})
}

func TestOnly404IsCachedBriefly(t *testing.T) {
	t.Parallel()
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/7") {
			jsonAnswer(http.StatusNotFound, `{"message":"Agent run not found."}`)(w, r)
			return
		}
		jsonAnswer(http.StatusInternalServerError, `{"message":"boom"}`)(w, r)
	}, nil)
	for range 2 {
		resp, body := call(t, http.MethodGet, e.url+"/agent-runs/7", "")
		if resp.StatusCode != http.StatusNotFound || decodeEnvelope(t, body).Error != "Agent run not found." {
			t.Errorf("got %d %s, want the 404 envelope", resp.StatusCode, body)
		}
	}
	if e.calls.Load() != 1 {
		t.Errorf("calls for a 404 read twice: got %d, want 1", e.calls.Load())
	}
	e.clock.Advance(2 * time.Second) // CACHE_NOT_FOUND's default
	call(t, http.MethodGet, e.url+"/agent-runs/7", "")
	if e.calls.Load() != 2 {
		t.Errorf("calls after the 404's 2 s: got %d, want 2", e.calls.Load())
	}
	for range 2 {
		if resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/8", ""); resp.StatusCode != http.StatusBadGateway {
			t.Errorf("got %d, want 502", resp.StatusCode)
		}
	}
	if e.calls.Load() != 4 {
		t.Errorf("calls: got %d, want 4 (a 500 is never cached)", e.calls.Load())
	}
}

func TestETagAndIfNoneMatch(t *testing.T) {
	t.Parallel()
	e := newEcon(t, runAnswer, nil)
	resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/5", "")
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag: got %q, want a strong entity tag", etag)
	}
	cases := []struct {
		name, header string
		want         int
	}{
		{"same", etag, http.StatusNotModified},
		{"weak form of the same", "W/" + etag, http.StatusNotModified},
		{"in a list", `"other", ` + etag, http.StatusNotModified},
		{"star", "*", http.StatusNotModified},
		{"another", `"other"`, http.StatusOK},
		{"unquoted garbage", "not-an-etag", http.StatusOK},
		{"garbage beside the tag", etag + ", garbage", http.StatusOK},
		{"unterminated", `"abc`, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, http.MethodGet, e.url+"/agent-runs/5", "", "If-None-Match", tc.header)
			if resp.StatusCode != tc.want {
				t.Errorf("If-None-Match %q: got %d, want %d", tc.header, resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusNotModified && (body != "" || resp.Header.Get("ETag") != etag) {
				t.Errorf("304 with body %q and ETag %q", body, resp.Header.Get("ETag"))
			}
		})
	}
}

func TestUpstream429PausesTheClass(t *testing.T) {
	t.Parallel()
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/run/5") {
			w.Header().Set("Retry-After", "7")
			jsonAnswer(http.StatusTooManyRequests, `{"message":"slow down"}`)(w, r)
			return
		}
		runAnswer(w, r)
	}, nil)
	if resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/5", ""); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("upstream 429: got %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e.clock.Advance(2 * time.Second)
	resp, body := call(t, http.MethodGet, e.url+"/agent-runs?limit=3", "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "5" || decodeEnvelope(t, body).Code != "rate_limited" {
		t.Errorf("local 429: got %d Retry-After %q %s, want 429 with Retry-After 5", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if e.calls.Load() != 1 {
		t.Errorf("calls: got %d, want 1 (the paused class made none)", e.calls.Load())
	}
	if resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/6/logs", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("logs class: got %d, want 200 (only the general class is paused)", resp.StatusCode)
	}
	e.clock.Advance(5 * time.Second)
	if resp, _ := call(t, http.MethodGet, e.url+"/agent-runs?limit=3", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("after the pause: got %d, want 200", resp.StatusCode)
	}
}

func TestStaleServedWhenOverBudget(t *testing.T) {
	t.Parallel()
	e := newEcon(t, runAnswer, nil)
	_, fresh := call(t, http.MethodGet, e.url+"/agent-runs?limit=3", "")
	e.clock.Advance(2500 * time.Millisecond) // the list expires
	// Spend the general class down to the reserve kept for streams.
	refused := false
	for i := 0; i < 20 && !refused; i++ {
		resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/"+strconv.Itoa(100+i), "")
		refused = resp.StatusCode == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("uncached reads were never refused")
	}
	resp, body := call(t, http.MethodGet, e.url+"/agent-runs?limit=3", "")
	if resp.StatusCode != http.StatusOK || body != fresh || resp.Header.Get("Cache-Status") != "codegen-proxy; hit; ttl=-1; detail=over-budget" {
		t.Errorf("got %d %q, want the kept answer marked stale", resp.StatusCode, resp.Header.Get("Cache-Status"))
	}
	// Streams go first: the reserve is theirs.
	ctx := codegen.WithPriority(context.Background(), codegen.PriorityStream)
	if _, err := e.client.GetRun(ctx, secretToken, 323, 999); err != nil {
		t.Errorf("a stream poller's read over the REST budget: %v, want it served from the reserve", err)
	}
}

func TestTheCallStopsWhenEveryCallerHasLeft(t *testing.T) {
	t.Parallel()
	stopped := make(chan struct{})
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(stopped)
	}, nil)
	ctx, leave := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/agent-runs/5", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitUntil(t, "the read upstream", func() bool { return e.calls.Load() == 1 })
	leave()
	<-done
	waitUntil(t, "the read to leave", func() bool { return e.cache.Waiting() == 0 })
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream call went on after every caller left")
	}
}

// The pass-through pays the same budget: an upstream 429 to a /v1 call
// pauses the token's class for REST reads too, and a /v1 call over budget is
// refused locally, in the envelope, without an upstream call.
func TestPassThroughSharesTheBudget(t *testing.T) {
	t.Parallel()
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/run/5") {
			w.Header().Set("Retry-After", "7")
			jsonAnswer(http.StatusTooManyRequests, `{"message":"slow down"}`)(w, r)
			return
		}
		runAnswer(w, r)
	}, nil)
	resp, body := call(t, http.MethodGet, e.url+"/v1/organizations/323/agent/run/5", "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" || !strings.Contains(body, "slow down") {
		t.Fatalf("upstream 429 through /v1: got %d Retry-After %q %s, want the API's own answer", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	e.clock.Advance(2 * time.Second)
	for _, target := range []string{"/agent-runs/6", "/v1/organizations/323/agent/run/6"} {
		resp, body := call(t, http.MethodGet, e.url+target, "")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "5" || decodeEnvelope(t, body).Code != "rate_limited" {
			t.Errorf("%s during the pause: got %d Retry-After %q %s, want a local 429 with Retry-After 5", target, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	if e.calls.Load() != 1 {
		t.Errorf("calls: got %d, want 1 (the paused class made none)", e.calls.Load())
	}
	e.clock.Advance(5 * time.Second)
	if resp, _ := call(t, http.MethodGet, e.url+"/v1/organizations/323/agent/run/6", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("after the pause: got %d, want 200", resp.StatusCode)
	}
}

// Streams stay first: once REST reads have spent a token's logs budget down
// to its reserve, and a REST read is refused locally, a log stream of the
// same token still gets its upstream reads, from the reserve kept for
// stream pollers.
func TestStreamsSpendTheReserveRESTCannot(t *testing.T) {
	t.Parallel()
	var run5Logs atomic.Int64
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/run/5/logs") {
			run5Logs.Add(1)
		}
		jsonAnswer(http.StatusOK, `{"id":5,"status":"RUNNING","logs":[],"total_logs":0}`)(w, r)
	}, nil)
	refused := false
	for i := 0; i < 20 && !refused; i++ { // distinct runs: nothing comes from the cache
		resp, body := call(t, http.MethodGet, e.url+"/agent-runs/"+strconv.Itoa(100+i)+"/logs", "")
		if refused = resp.StatusCode == http.StatusTooManyRequests; refused && decodeEnvelope(t, body).Code != "rate_limited" {
			t.Fatalf("REST log read over budget: %s, want rate_limited", body)
		}
	}
	if !refused {
		t.Fatal("REST log reads were never refused: the test spent no budget")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/agent-runs/5/logs/stream", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	waitUntil(t, "the stream's poller to read run 5's logs from the reserve", func() bool { return run5Logs.Load() > 0 })
	cancel()
	<-done
}
