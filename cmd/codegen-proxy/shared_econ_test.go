package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

// econUpstream is a Codegen API look-alike that counts its calls: GET of a
// run answers the run, POST of a run action answers a stopped run. While
// gate is set, a GET waits for it to close; while tooMany is set, a GET is
// answered 429 with Retry-After: 30.
type econUpstream struct {
	calls   atomic.Int64
	gets    atomic.Int64
	tooMany atomic.Bool
	mu      sync.Mutex
	gate    chan struct{}
}

func (u *econUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	if r.Method == http.MethodPost {
		io.WriteString(w, `{"id":5,"organization_id":323,"status":"stopped"}`)
		return
	}
	u.gets.Add(1)
	u.mu.Lock()
	gate := u.gate
	u.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if u.tooMany.Load() {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"detail":"rate limited"}`)
		return
	}
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	fmt.Fprintf(w, `{"id":%s,"organization_id":323,"status":"running"}`, id)
}

// sharedReplicas starts one redis-server, one counting upstream and n
// proxies sharing them, with env added to each one's settings.
func sharedReplicas(t *testing.T, n int, env map[string]string) (*redistest.Server, *econUpstream, []string) {
	t.Helper()
	srv := redistest.Start(t)
	up := &econUpstream{}
	us := httptest.NewServer(up)
	t.Cleanup(us.Close)
	urls := make([]string, n)
	for i := range urls {
		e := map[string]string{"CODEGEN_BASE_URL": us.URL + "/v1", "CODEGEN_ORG_ID": "323",
			"REDIS_URL": srv.URL(), "REDIS_TIMEOUT": "1s"}
		for k, v := range env {
			e[k] = v
		}
		urls[i] = start(t, e).url
	}
	return srv, up, urls
}

// call makes one request with tok and returns its status and headers.
func call(t *testing.T, method, url, tok string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// noTokenIn fails if any key, or any string or set member, in the Redis
// names a token in clear.
func noTokenIn(t *testing.T, srv *redistest.Server, toks ...string) {
	t.Helper()
	rdb := srv.Client()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("nothing in Redis: the shared mode kept nothing")
	}
	for _, k := range keys {
		var vals []string
		switch rdb.Type(ctx, k).Val() {
		case "string":
			vals = []string{rdb.Get(ctx, k).Val()}
		case "zset":
			vals = rdb.ZRange(ctx, k, 0, -1).Val()
		}
		for _, tok := range toks {
			if strings.Contains(k, tok) || strings.Contains(strings.Join(vals, "\n"), tok) {
				t.Errorf("Redis key %q or its value holds a token in clear", k)
			}
		}
	}
}

func TestSharedBudgetKeepsReplicasWithinOneTokensLimits(t *testing.T) {
	// The general class allows a burst of 10, of which requests (not
	// streams) spend 8, and 49 more per 30 s. Three replicas alone would
	// allow 24 at once.
	srv, up, urls := sharedReplicas(t, 3, map[string]string{"BUDGET_MAX_WAIT": "0s"})
	const tok = "sk-share2-budget-secret"
	start := time.Now()
	var ok, refused int
	for i := range 30 {
		code, h := call(t, "GET", fmt.Sprintf("%s/agent-runs/%d", urls[i%3], i+1), tok)
		switch {
		case code == http.StatusOK:
			ok++
		case code == http.StatusTooManyRequests && h.Get("Retry-After") != "":
			refused++
		default:
			t.Fatalf("read %d: status %d (Retry-After %q), want 200 or 429 with Retry-After", i+1, code, h.Get("Retry-After"))
		}
	}
	refill := int(time.Since(start).Seconds()*49/30) + 1
	if got, bound := int(up.calls.Load()), 8+refill; got > bound || got != ok {
		t.Errorf("3 replicas made %d upstream calls (%d answered 200) in %v; want at most %d (8 at once, %d refilled)",
			got, ok, time.Since(start), bound, refill)
	}
	if refused == 0 {
		t.Error("no read was refused: the replicas did not share one budget")
	}
	noTokenIn(t, srv, tok)
}

func TestSharedCacheHitsAcrossReplicasAndWritesInvalidateEverywhere(t *testing.T) {
	srv, up, urls := sharedReplicas(t, 2, map[string]string{"CACHE_FRESH_RUN": "1m"})
	const tok = "sk-share2-cache-secret"
	a, b := urls[0], urls[1]
	if code, h := call(t, "GET", a+"/agent-runs/5", tok); code != 200 || !strings.Contains(h.Get("Cache-Status"), "stored") {
		t.Fatalf("first read on A: %d, Cache-Status %q; want 200 and stored", code, h.Get("Cache-Status"))
	}
	if code, h := call(t, "GET", b+"/agent-runs/5", tok); code != 200 || !strings.Contains(h.Get("Cache-Status"), "; hit") {
		t.Errorf("the same read on B: %d, Cache-Status %q; want 200 and a hit", code, h.Get("Cache-Status"))
	}
	if got := up.gets.Load(); got != 1 {
		t.Errorf("upstream reads %d, want 1", got)
	}
	if code, _ := call(t, "POST", b+"/agent-runs/5/stop", tok); code != 200 {
		t.Fatalf("stop on B: %d", code)
	}
	if code, h := call(t, "GET", a+"/agent-runs/5", tok); code != 200 || strings.Contains(h.Get("Cache-Status"), "; hit") {
		t.Errorf("the read on A after B's write: %d, Cache-Status %q; want 200 from upstream", code, h.Get("Cache-Status"))
	}
	if got := up.gets.Load(); got != 2 {
		t.Errorf("upstream reads %d after the write, want 2", got)
	}
	noTokenIn(t, srv, tok)
}

func TestSharedCacheMakesOneUpstreamCallForConcurrentReadsOnAllReplicas(t *testing.T) {
	_, up, urls := sharedReplicas(t, 3, map[string]string{"CACHE_FRESH_RUN": "1m"})
	gate := make(chan struct{})
	up.mu.Lock()
	up.gate = gate
	up.mu.Unlock()
	const n = 9
	var sent sync.WaitGroup
	sent.Add(n)
	codes := make(chan int, n)
	for i := range n {
		go func() {
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { sent.Done() }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
				"GET", urls[i%3]+"/agent-runs/9", nil)
			req.Header.Set("Authorization", "Bearer sk-share2-coalesce")
			resp, err := testClient().Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	sent.Wait() // every read is at a replica, and the first is upstream
	for deadline := time.Now().Add(10 * time.Second); up.gets.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no read reached the upstream")
		}
	}
	close(gate)
	for range n {
		if code := <-codes; code != 200 {
			t.Errorf("a read answered %d, want 200", code)
		}
	}
	if got := up.gets.Load(); got != 1 {
		t.Errorf("%d concurrent identical reads over 3 replicas made %d upstream calls, want 1", n, got)
	}
}

func TestUpstream429OnOneReplicaPausesTheOthers(t *testing.T) {
	srv, up, urls := sharedReplicas(t, 3, nil)
	const tok = "sk-share2-pause-secret"
	up.tooMany.Store(true)
	if code, h := call(t, "GET", urls[0]+"/agent-runs/7", tok); code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("the upstream's 429 on A: %d, Retry-After %q", code, h.Get("Retry-After"))
	}
	up.tooMany.Store(false)
	for _, u := range urls[1:] {
		code, h := call(t, "GET", u+"/agent-runs/8", tok)
		if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(h.Get("Cache-Status"), "over-budget") {
			t.Errorf("a read on another replica during the pause: %d, Retry-After %q, Cache-Status %q; want 429 over budget",
				code, h.Get("Retry-After"), h.Get("Cache-Status"))
		}
	}
	if got := up.calls.Load(); got != 1 {
		t.Errorf("upstream calls %d, want 1: the pause did not hold the other replicas", got)
	}
	if code, _ := call(t, "GET", urls[1]+"/agent-runs/8", "sk-share2-other"); code != 200 {
		t.Errorf("another token's read: %d, want 200: a pause is per token", code)
	}
	noTokenIn(t, srv, tok, "sk-share2-other")
}

func TestSharedEconomyWithoutRedisIsLocalAndRejoins(t *testing.T) {
	srv, _, urls := sharedReplicas(t, 2, map[string]string{"CACHE_FRESH_RUN": "1m"})
	a, b := urls[0], urls[1]
	srv.Stop()
	for i, u := range []string{a, a, b} {
		code, h := call(t, "GET", u+"/agent-runs/5", "sk-share2-down")
		if code >= 500 {
			t.Fatalf("read %d with Redis down: %d", i+1, code)
		}
		if i == 1 && !strings.Contains(h.Get("Cache-Status"), "; hit") {
			t.Errorf("the second read on A with Redis down: Cache-Status %q, want a hit in A's own cache", h.Get("Cache-Status"))
		}
	}
	srv.Restart()
	// Once both have rejoined, a read stored by A is a hit on B. Each try
	// uses its own token, with its own budget.
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		tok := fmt.Sprintf("sk-share2-rejoin-%d", i)
		codeA, _ := call(t, "GET", a+"/agent-runs/6", tok)
		codeB, h := call(t, "GET", b+"/agent-runs/6", tok)
		if codeA >= 500 || codeB >= 500 {
			t.Fatalf("while Redis came back: %d on A, %d on B", codeA, codeB)
		}
		if strings.Contains(h.Get("Cache-Status"), "; hit") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B never found A's read in the shared cache after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
