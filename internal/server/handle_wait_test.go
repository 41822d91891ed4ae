package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// wait calls the wait of run id with query and returns the answer, its
// body and the run it decodes to.
func (e *streamEnv) wait(t *testing.T, id int64, query string) (*http.Response, string, codegen.AgentRun) {
	t.Helper()
	resp, body := call(t, "GET", fmt.Sprintf("%s/agent-runs/%d/wait%s", e.proxy, id, query), "")
	var run codegen.AgentRun
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(body), &run); err != nil {
			t.Fatalf("wait answered %s: %v", body, err)
		}
	}
	return resp, body, run
}

func statusOf(r codegen.AgentRun) string {
	if r.Status == nil {
		return "<nil>"
	}
	return *r.Status
}

func TestWaitAnswersWhenTheRunSettles(t *testing.T) {
	t.Parallel()
	for _, outcome := range []string{"COMPLETE", "FAILED", "PAUSED"} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			e := newStreamEnv(t, streamOpts{})
			e.tick.Store(int64(sandboxStep)) // one step per poll
			id := e.create(t, "Fix the bug sandbox:"+outcome)
			resp, body, run := e.wait(t, id, "?timeout=60")
			if resp.StatusCode != 200 || statusOf(run) != outcome || run.ID != id {
				t.Fatalf("wait: %d %s; want run %d %s", resp.StatusCode, body, id, outcome)
			}
			if h := resp.Header.Get("X-Wait-Timed-Out"); h != "" {
				t.Errorf("X-Wait-Timed-Out: %q on a settled run", h)
			}
			// The answer is the run as GET /agent-runs/{id} gives it.
			_, got := call(t, "GET", fmt.Sprintf("%s/agent-runs/%d", e.proxy, id), "")
			if got != body {
				t.Errorf("wait answered\n%s\nGET answers\n%s", body, got)
			}
		})
	}
}

func TestWaitTimesOutWithTheCurrentRun(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{}) // the clock stands still: the run stays PENDING
	id := e.create(t, "Fix the bug")
	start := time.Now()
	resp, body, run := e.wait(t, id, "?timeout=1")
	if resp.StatusCode != 200 || statusOf(run) != "PENDING" || resp.Header.Get("X-Wait-Timed-Out") != "true" {
		t.Fatalf("wait: %d %s, X-Wait-Timed-Out %q; want the PENDING run and true", resp.StatusCode, body, resp.Header.Get("X-Wait-Timed-Out"))
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the wait answered after %s, before its timeout of 1s", d)
	}
}

func TestWaitOfAFinishedRunAnswersAtOnceAndOfAMissingOne404(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	if resp, body, run := e.wait(t, 12345, ""); resp.StatusCode != 200 || !codegen.IsTerminal(statusOf(run)) {
		t.Errorf("wait of a finished run: %d %s", resp.StatusCode, body)
	}
	if resp, body, _ := e.wait(t, 999999, ""); resp.StatusCode != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("wait of a missing run: %d %s; want 404 not_found", resp.StatusCode, body)
	}
}

func TestWaitRefusesABadTimeout(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	for _, q := range []string{"0", "301", "-1", "01", "+5", "1.5", "1e2", "abc", "", "5&timeout=6"} {
		resp, body := call(t, "GET", e.proxy+"/agent-runs/12345/wait?timeout="+q, "")
		if resp.StatusCode != 400 || !strings.Contains(body, "timeout") {
			t.Errorf("timeout=%s: %d %s; want 400 naming timeout", q, resp.StatusCode, body)
		}
	}
	if got := e.calls.Load(); got != 0 {
		t.Errorf("bad timeouts made %d upstream calls, want 0", got)
	}
}

func TestAWaiterThatLeavesReleasesItsPlace(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{hub: func(h *stream.Hub) { h.MaxPerToken = 1 }})
	id := e.create(t, "Fix the bug")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/agent-runs/%d/wait?timeout=300", e.proxy, id), nil)
		req.Header.Set("Authorization", "Bearer "+secretToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitUntil(t, "the waiter to subscribe", func() bool { return e.hub.Subscribers() == 1 })
	if resp, body, _ := e.wait(t, id, "?timeout=1"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second waiter past STREAM_MAX_PER_TOKEN=1: %d %s; want 429 with Retry-After", resp.StatusCode, body)
	}
	cancel()
	<-done
	waitUntil(t, "the waiter's place to be given back", func() bool { return e.hub.Subscribers() == 0 })
	waitUntil(t, "its poller to stop", func() bool { return e.hub.Pollers() == 0 })
}

// TestManyWaitersShareOnePoller holds the run's first log read until
// hundreds of waiters have joined, then lets the run finish: they all get it
// for two log reads and two reads of the run. The first waiter takes the
// first read's answer; the others came while that read was on its way, so
// its answer may predate a resume they follow, and they take the next.
func TestManyWaitersShareOnePoller(t *testing.T) {
	t.Parallel()
	const waiters = 300
	hold := make(chan struct{})
	e := newStreamEnv(t, streamOpts{hold: hold, hub: func(h *stream.Hub) { h.MaxPerToken = waiters }})
	id := e.create(t, "Fix the bug")
	before := e.calls.Load()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: waiters}}
	t.Cleanup(client.CloseIdleConnections)
	var wg sync.WaitGroup
	errs := make(chan string, waiters)
	for i := range waiters {
		if i == 1 {
			waitUntil(t, "the first log read to be held", func() bool { return e.calls.Load() > before })
		}
		wg.Go(func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/agent-runs/%d/wait?timeout=60", e.proxy, id), nil)
			req.Header.Set("Authorization", "Bearer "+secretToken)
			resp, err := client.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var run codegen.AgentRun
			if json.Unmarshal(body, &run) != nil || resp.StatusCode != 200 || statusOf(run) != "COMPLETE" {
				errs <- fmt.Sprintf("%d %s", resp.StatusCode, body)
			}
		})
	}
	waitUntil(t, "every waiter to subscribe", func() bool { return e.hub.Subscribers() == waiters })
	if n := e.hub.Pollers(); n != 1 {
		t.Errorf("%d waiters on one run run %d pollers, want 1", waiters, n)
	}
	e.clock.Advance(time.Hour) // the run is finished by the time its read goes on
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a waiter got %s; want the COMPLETE run", err)
	}
	// The log read held until now and the read of the run it described,
	// then one more of each for those who came during the first.
	if got := e.calls.Load() - before; got != 4 {
		t.Errorf("%d waiters made %d upstream calls, want 4 (two log reads, two run reads)", waiters, got)
	}
}

// TestWaitOutlivesTheServersTimeouts runs the proxy under an http.Server
// whose read and write timeouts are shorter than the wait, as the 2-minute
// ones of cmd/codegen-proxy are shorter than WAIT_MAX_TIMEOUT.
func TestWaitOutlivesTheServersTimeouts(t *testing.T) {
	t.Parallel()
	clock := sandbox.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) // stands still: the wait times out
	sb := httptest.NewServer(sandbox.New(sandbox.Options{Now: clock.Now, Step: sandboxStep}))
	t.Cleanup(sb.Close)
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": sb.URL + "/v1", "CODEGEN_ORG_ID": "323"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	client := &codegen.Client{BaseURL: cfg.BaseURL, Retries: -1}
	hub := &stream.Hub{Client: client, Interval: 10 * time.Millisecond, Linger: time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: newHandler(t, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: client, Streams: hub}),
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	go srv.Serve(ln)
	t.Cleanup(func() {
		hub.Shutdown()
		srv.Close()
		hub.Close()
	})
	resp, body := call(t, "GET", fmt.Sprintf("http://%s/agent-runs/12345/wait?timeout=2", ln.Addr()), "")
	if resp.StatusCode != 200 || resp.Header.Get("X-Wait-Timed-Out") != "" {
		t.Fatalf("a finished run's wait: %d %s", resp.StatusCode, body)
	}
	created, body := call(t, "POST", fmt.Sprintf("http://%s/agent-runs", ln.Addr()), `{"prompt":"Fix the bug"}`)
	var run codegen.AgentRun
	if created.StatusCode != 200 || json.Unmarshal([]byte(body), &run) != nil {
		t.Fatalf("create: %d %s", created.StatusCode, body)
	}
	resp, body = call(t, "GET", fmt.Sprintf("http://%s/agent-runs/%d/wait?timeout=2", ln.Addr(), run.ID), "")
	if resp.StatusCode != 200 || resp.Header.Get("X-Wait-Timed-Out") != "true" || !strings.Contains(body, `"PENDING"`) {
		t.Errorf("a 2 s wait under 300 ms server timeouts: %d %s (X-Wait-Timed-Out %q); want the PENDING run, timed out",
			resp.StatusCode, body, resp.Header.Get("X-Wait-Timed-Out"))
	}
}
