package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

func TestStreamSendsEachLogOnceByPositionThenDone(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Stream me")
	s := e.open(t, id, "")
	if got := s.resp.Header; got.Get("Content-Type") != "text/event-stream" || got.Get("Cache-Control") != "no-cache" || got.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", got)
	}
	evs := s.until(t, "status", 5*time.Second)
	e.tick.Store(int64(sandboxStep)) // from now on, one run step per poll
	evs = append(evs, s.until(t, "done", 10*time.Second)...)
	if got, want := strings.Join(logIDs(t, evs), ","), strings.Join(seq(0, 10), ","); got != want {
		t.Errorf("log ids %s, want %s", got, want)
	}
	var statuses []string
	for _, ev := range evs {
		if ev.name == "status" {
			var st struct {
				ID                 int64           `json:"id"`
				Status             string          `json:"status"`
				Summary            *string         `json:"summary"`
				GithubPullRequests json.RawMessage `json:"github_pull_requests"`
			}
			if err := json.Unmarshal([]byte(ev.data), &st); err != nil || st.ID != id {
				t.Errorf("status data %s: %v", ev.data, err)
			}
			if !strings.Contains(ev.data, `"result":`) || !strings.Contains(ev.data, `"summary":`) || st.GithubPullRequests == nil {
				t.Errorf("status data lacks a documented field: %s", ev.data)
			}
			statuses = append(statuses, st.Status)
		}
	}
	if got := strings.Join(statuses, " "); got != "PENDING ACTIVE RUNNING COMPLETE" {
		t.Errorf("status events %s, want PENDING ACTIVE RUNNING COMPLETE", got)
	}
	var final struct {
		Status  string  `json:"status"`
		Summary *string `json:"summary"`
	}
	if err := json.Unmarshal([]byte(evs[len(evs)-1].data), &final); err != nil || final.Status != "COMPLETE" || final.Summary == nil {
		t.Errorf("done data %s: want the finished run", evs[len(evs)-1].data)
	}
	if !s.closed(2 * time.Second) {
		t.Errorf("stream stayed open after done")
	}
}

func TestStreamEndsWithDoneForEveryTerminalStatus(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	for _, outcome := range []string{"COMPLETE", "FAILED", "ERROR", "CANCELLED", "STOPPED", "TIMEOUT", "MAX_ITERATIONS_REACHED", "OUT_OF_TOKENS"} {
		t.Run(outcome, func(t *testing.T) {
			id := e.create(t, "Go sandbox:"+outcome)
			e.clock.Advance(time.Hour)
			evs := e.open(t, id, "").until(t, "done", 5*time.Second)
			if !strings.Contains(evs[len(evs)-1].data, `"status":"`+outcome+`"`) || len(logIDs(t, evs)) != 10 {
				t.Errorf("got %v ending %s, want 10 logs and done with %s", names(evs), evs[len(evs)-1].data, outcome)
			}
		})
	}
}

func TestPausedRunKeepsTheStreamOpenUntilResumed(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Ask me sandbox:PAUSED")
	e.clock.Advance(time.Hour)
	s := e.open(t, id, "")
	evs := s.until(t, "status", 5*time.Second)
	if !strings.Contains(evs[len(evs)-1].data, `"PAUSED"`) {
		t.Fatalf("first status %s, want PAUSED", evs[len(evs)-1].data)
	}
	if resp, body := call(t, "POST", fmt.Sprintf("%s/agent-runs/%d/resume", e.proxy, id), `{"prompt":"Yes, keep it compatible"}`); resp.StatusCode != 200 {
		t.Fatalf("resume: %d %s", resp.StatusCode, body)
	}
	e.clock.Advance(time.Hour)
	evs = s.until(t, "done", 5*time.Second)
	var sawUser bool
	for _, ev := range evs {
		sawUser = sawUser || (ev.name == "log" && strings.Contains(ev.data, "USER_MESSAGE"))
	}
	if !sawUser || !strings.Contains(evs[len(evs)-1].data, `"COMPLETE"`) {
		t.Errorf("after resume got %v, want the USER_MESSAGE log and done COMPLETE", names(evs))
	}
}

func TestStreamResumesAfterLastEventIDOrAfter(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Resume me")
	e.clock.Advance(time.Hour)
	tests := []struct {
		name, query string
		headers     []string
		want        []string
	}{
		{"from the start", "", nil, seq(0, 10)},
		{"Last-Event-ID", "", []string{"Last-Event-ID", "4"}, seq(5, 10)},
		{"after", "?after=6", nil, seq(7, 10)},
		{"header wins over after, as on a browser reconnect", "?after=1", []string{"Last-Event-ID", "8"}, seq(9, 10)},
		{"past the end", "?after=9", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := e.open(t, id, tt.query, tt.headers...).until(t, "done", 5*time.Second)
			if got := strings.Join(logIDs(t, evs), ","); got != strings.Join(tt.want, ",") {
				t.Errorf("log ids %s, want %s", got, strings.Join(tt.want, ","))
			}
		})
	}
	for _, bad := range []string{"?after=-1", "?after=x"} {
		if s := e.open(t, id, bad); s.resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", bad, s.resp.StatusCode)
		}
	}
	if s := e.open(t, id, "", "Last-Event-ID", "abc"); s.resp.StatusCode != 400 {
		t.Errorf("bad Last-Event-ID: status %d, want 400", s.resp.StatusCode)
	}
}

func TestNoGapWhenHundredsOfLogsArriveBetweenPolls(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Busy sandbox:logs=350")
	s := e.open(t, id, "")
	s.until(t, "status", 5*time.Second) // PENDING, no logs yet
	e.clock.Advance(time.Hour)          // all 350 logs appear at once
	evs := s.until(t, "done", 5*time.Second)
	if got, want := strings.Join(logIDs(t, evs), ","), strings.Join(seq(0, 350), ","); got != want {
		t.Errorf("log ids are not 0..349 in order: got %d ids", len(logIDs(t, evs)))
	}
}

func TestHeartbeatsKeepAQuietStreamAlive(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{heartbeat: 30 * time.Millisecond})
	id := e.create(t, "Quiet sandbox:PAUSED")
	e.clock.Advance(time.Hour)
	s := e.open(t, id, "")
	// The decoder drops comments, as EventSource does: look at the wire.
	s.rawUntil(t, "a \": ping\" heartbeat line", func(raw []byte) bool { return hasLine(raw, ": ping") })
}

func TestRateLimitedPollsBackOffAndTheStreamGoesOn(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Throttled")
	s := e.open(t, id, "")
	s.until(t, "status", 5*time.Second)
	e.fail.Store(1) // the next log read answers 429, Retry-After: 1
	evs := s.until(t, "error", 5*time.Second)
	errEv := evs[len(evs)-1]
	if !strings.Contains(errEv.data, `"status_code":429`) || !strings.Contains(errEv.data, `"code":"rate_limited"`) {
		t.Errorf("error event %s, want the 429 envelope", errEv.data)
	}
	e.clock.Advance(time.Hour)
	evs = s.until(t, "done", 5*time.Second)
	if len(logIDs(t, evs)) != 10 {
		t.Errorf("after the 429: %v, want all 10 logs and done", names(evs))
	}
	// Load can only make the gap longer, so this verdict cannot flake.
	if gap := time.Duration(e.readAfterFail.Load() - e.failedAt.Load()); gap < 950*time.Millisecond {
		t.Errorf("the next log read came %v after a 429 with Retry-After: 1", gap)
	}
}

func TestClientDisconnectStopsThePoller(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Leave sandbox:PAUSED")
	s := e.open(t, id, "")
	s.until(t, "status", 5*time.Second)
	if n := e.hub.Pollers(); n != 1 {
		t.Fatalf("pollers = %d, want 1", n)
	}
	s.resp.Body.Close()
	left := e.calls.Load()
	waitUntil(t, "the poller to stop", func() bool { return e.hub.Pollers() == 0 && e.hub.Subscribers() == 0 })
	e.hub.Close() // waits for the poller's goroutine: no call can start after this
	if n := e.calls.Load() - left; n > 1 {
		t.Errorf("%d upstream calls after the client left, want at most the one on its way", n)
	}
}

// readsUntilDone streams one run to n subscribers at once and returns the
// upstream log reads it took once they had all joined. Each of those reads
// moves the run one step, so the count depends only on how the proxy polls.
func readsUntilDone(t *testing.T, n int) int64 {
	e := newStreamEnv(t, streamOpts{hub: func(h *stream.Hub) { h.Interval = 50 * time.Millisecond }})
	id := e.create(t, "Shared sandbox:logs=250")
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := e.open(t, id, "").until(t, "done", 10*time.Second)
			results[i] = strings.Join(logIDs(t, evs), ",")
		}()
	}
	waitUntil(t, "every subscriber to join", func() bool { return e.hub.Subscribers() == int64(n) })
	e.tick.Store(int64(sandboxStep))
	wg.Wait()
	for i, r := range results {
		if r != strings.Join(seq(0, 250), ",") {
			t.Errorf("subscriber %d got other log ids than 0..249", i)
		}
	}
	if got := e.hub.Polls(); got != e.logReads.Load() {
		t.Errorf("upstream saw %d log reads, the hub made %d: someone else read", e.logReads.Load(), got)
	}
	return e.tickedReads.Load() // idle reads while the subscribers joined vary with the machine's speed

}

func TestSubscribersOfOneRunShareOnePoller(t *testing.T) {
	t.Parallel()
	one, many := readsUntilDone(t, 1), readsUntilDone(t, 25)
	if many != one {
		t.Errorf("25 subscribers cost %d upstream log reads, one subscriber %d; want equal", many, one)
	}
}

func TestDifferentTokensNeverShareAPoller(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Two readers sandbox:PAUSED")
	e.clock.Advance(time.Hour)
	a := e.open(t, id, "", "Authorization", "Bearer token-a")
	b := e.open(t, id, "?access_token=token-b")
	a.until(t, "status", 5*time.Second)
	b.until(t, "status", 5*time.Second)
	if n := e.hub.Pollers(); n != 2 {
		t.Errorf("pollers = %d, want 2", n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.readsBy["Bearer token-a"] == 0 || e.readsBy["Bearer token-b"] == 0 {
		t.Errorf("upstream reads by token %v, want each token to read with its own", e.readsBy)
	}
}

func TestStreamErrorsBeforeTheStreamAreHTTPErrors(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	if s := e.open(t, 777777, ""); s.resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown run: %d, want 404", s.resp.StatusCode)
	}
	if s := e.open(t, 12345, "", "Authorization", ""); s.resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", s.resp.StatusCode)
	}
	if s := e.open(t, 12345, "", "X-Codegen-Org-Id", "999"); s.resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign org: %d, want 403", s.resp.StatusCode)
	}
	// The query token works on the stream route only.
	if resp, _ := call(t, "GET", e.proxy+"/agent-runs/12345?access_token=x", "", "Authorization", ""); resp.StatusCode != 401 {
		t.Errorf("access_token on another route: %d, want 401", resp.StatusCode)
	}
}

func TestShutdownEndsStreamsWithAnEvent(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "Long sandbox:PAUSED")
	s := e.open(t, id, "")
	s.until(t, "status", 5*time.Second)
	e.hub.Shutdown()
	evs := s.until(t, "error", 5*time.Second)
	if last := evs[len(evs)-1]; !strings.Contains(last.data, `"code":"shutting_down"`) {
		t.Errorf("final event %s, want shutting_down", last.data)
	}
	if !s.closed(2 * time.Second) {
		t.Error("stream stayed open after shutdown")
	}
	if s := e.open(t, id, ""); s.resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("new stream during shutdown: %d, want 503", s.resp.StatusCode)
	}
}
