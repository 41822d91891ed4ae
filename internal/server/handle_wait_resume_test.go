package server

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// resume resumes run id through the proxy.
func (e *streamEnv) resume(t *testing.T, id int64) {
	t.Helper()
	if resp, body := call(t, "POST", fmt.Sprintf("%s/agent-runs/%d/resume", e.proxy, id), `{"prompt":"go on"}`); resp.StatusCode != 200 {
		t.Fatalf("resume: %d %s", resp.StatusCode, body)
	}
}

// A script's loop: wait until PAUSED, resume, wait again. The run's poller
// lingers (production's Linger) with the PAUSED status when the second wait
// comes; that wait must follow the resumed run, not answer the old pause.
func TestWaitAfterAResumeFollowsTheResumedRun(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{hub: func(h *stream.Hub) { h.Linger = time.Minute }})
	e.tick.Store(int64(sandboxStep))
	id := e.create(t, "Fix the bug sandbox:PAUSED")
	if resp, body, run := e.wait(t, id, "?timeout=60"); resp.StatusCode != 200 || statusOf(run) != "PAUSED" {
		t.Fatalf("first wait: %d %s; want the PAUSED run", resp.StatusCode, body)
	}
	e.tick.Store(0) // the clock stands still: the resumed run stays active
	e.resume(t, id)
	resp, body, run := e.wait(t, id, "?timeout=1")
	if statusOf(run) != "ACTIVE" || resp.Header.Get("X-Wait-Timed-Out") != "true" {
		t.Errorf("wait after the resume: %s, X-Wait-Timed-Out %q; want the ACTIVE run at the timeout", body, resp.Header.Get("X-Wait-Timed-Out"))
	}
}

// A finished run's poller reads no more, and lingers. Once the run is
// resumed, a new log stream and a new wait must follow the resumed run
// rather than be served the old end.
func TestAResumedFinishedRunIsFollowedAnew(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{hub: func(h *stream.Hub) { h.Linger = time.Minute }})
	e.tick.Store(int64(sandboxStep))
	id := e.create(t, "Fix the bug")
	if resp, body, run := e.wait(t, id, "?timeout=60"); resp.StatusCode != 200 || statusOf(run) != "COMPLETE" {
		t.Fatalf("first wait: %d %s; want the COMPLETE run", resp.StatusCode, body)
	}
	e.tick.Store(0)
	e.resume(t, id)
	s := e.open(t, id, "")
	evs := s.until(t, "status", 10*time.Second)
	var status struct{ Status string }
	if err := json.Unmarshal([]byte(evs[len(evs)-1].data), &status); err != nil || status.Status != "ACTIVE" {
		t.Errorf("the log stream opened after the resume starts with status %s (%v); want ACTIVE", evs[len(evs)-1].data, err)
	}
	resp, body, run := e.wait(t, id, "?timeout=1")
	if statusOf(run) != "ACTIVE" || resp.Header.Get("X-Wait-Timed-Out") != "true" {
		t.Errorf("wait after the resume: %s, X-Wait-Timed-Out %q; want the ACTIVE run at the timeout", body, resp.Header.Get("X-Wait-Timed-Out"))
	}
}
