package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// TestAbandonedStreamsCostAtMostOneUpstreamReadEach opens streams with many
// tokens and drops each connection as soon as its request is sent. The
// upstream holds every log read until the server has seen each client go:
// each stream may have cost its poller's first log read, and nothing else,
// not even the run read of a status event nobody is left to receive.
func TestAbandonedStreamsCostAtMostOneUpstreamReadEach(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	e := newStreamEnv(t, streamOpts{hold: hold, hub: func(h *stream.Hub) { h.Linger = 50 * time.Millisecond }})
	released := false
	t.Cleanup(func() {
		if !released {
			close(hold) // before the upstream closes
		}
	})
	id := e.create(t, "Abandoned sandbox:PAUSED")
	before := e.calls.Load()
	const n = 50
	for i := range n {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.proxy, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /agent-runs/%d/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abandoned-%d\r\n\r\n", id, i)
		conn.Close()
	}
	waitUntil(t, "every stream to be served and left", func() bool {
		return e.served.Load() == n && e.hub.Subscribers() == 0
	})
	close(hold)
	released = true
	waitUntil(t, "every poller to stop", func() bool { return e.hub.Pollers() == 0 })
	e.hub.Close() // waits for the pollers' goroutines, and so for their calls
	if calls := e.calls.Load() - before; calls > n {
		t.Errorf("%d abandoned streams caused %d upstream calls (%d log reads), want at most %d", n, calls, e.logReads.Load(), n)
	}
}

// TestStreamLimitsAnswerBeforeTheStream opens streams past the per-token and
// the global limit.
func TestStreamLimitsAnswerBeforeTheStream(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{hub: func(h *stream.Hub) { h.MaxPerToken, h.MaxStreams = 1, 2 }})
	id := e.create(t, "Limited sandbox:PAUSED")
	e.open(t, id, "").until(t, "status", 5*time.Second)
	for _, tt := range []struct {
		name   string
		token  string
		status int
	}{
		{"second of one token", secretToken, http.StatusTooManyRequests},
		{"first of another token", "other-token", http.StatusOK},
		{"past the global limit", "third-token", http.StatusServiceUnavailable},
	} {
		s := e.open(t, id, "", "Authorization", "Bearer "+tt.token)
		body := ""
		if s.resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(s.resp.Body)
			body = string(b)
		}
		if s.resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, s.resp.StatusCode, tt.status)
		}
		if tt.status != http.StatusOK && (s.resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"code":"too_many_streams"`) ||
			!strings.Contains(body, fmt.Sprintf(`"status_code":%d`, tt.status)) || !strings.Contains(s.resp.Header.Get("Content-Type"), "json")) {
			t.Errorf("%s: Retry-After %q, Content-Type %q, body %s; want the envelope with Retry-After", tt.name,
				s.resp.Header.Get("Retry-After"), s.resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestStreamStartsPromptlyWhileItsPollerWaitsForBudget spends a token's
// budget (one read a minute) on one run, then streams another: the stream
// gets its headers and a comment without waiting for the budget.
func TestStreamStartsPromptlyWhileItsPollerWaitsForBudget(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{hub: func(h *stream.Hub) { h.Budget, h.StartWait = 1, 100*time.Millisecond }})
	first := e.create(t, "First sandbox:PAUSED")
	second := e.create(t, "Second sandbox:PAUSED")
	e.open(t, first, "").until(t, "status", 5*time.Second)
	s := e.open(t, second, "")
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", s.resp.StatusCode)
	}
	// The decoder drops comments, as EventSource does: look at the wire,
	// where the comment must come before any event.
	const waiting = ": waiting for the upstream\n\n"
	raw := s.rawUntil(t, "the first block", func(raw []byte) bool { return bytes.Contains(raw, []byte("\n\n")) })
	if !bytes.HasPrefix(raw, []byte(waiting)) {
		t.Errorf("the stream goes on with %q, want %q first", raw, waiting)
	}
}
