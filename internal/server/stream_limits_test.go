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
// tokens and drops each connection as soon as its request is sent: each may
// cost its poller's first log read, and no other log read. A run read (for
// the status event) happens only when that first read answers before the
// server has noticed the client left, so at most one per stream.
func TestAbandonedStreamsCostAtMostOneUpstreamReadEach(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{hub: func(h *stream.Hub) { h.Linger = 50 * time.Millisecond }})
	id := e.create(t, "Abandoned sandbox:PAUSED")
	before, logsBefore := e.calls.Load(), e.logReads.Load()
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
		return e.served.Load() == n && e.hub.Pollers() == 0 && e.hub.Subscribers() == 0
	})
	e.hub.Close() // waits for the pollers' goroutines
	calls, logs := e.calls.Load()-before, e.logReads.Load()-logsBefore
	if logs > n || calls-logs > n {
		t.Errorf("%d abandoned streams caused %d log reads and %d other calls, want at most %d of each", n, logs, calls-logs, n)
	}
	t.Logf("%d abandoned streams: %d log reads, %d run reads", n, logs, calls-logs)
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
