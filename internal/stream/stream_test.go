package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWriterEncodesEventsOnOneDataLine(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	w, err := NewWriter(rec, 2500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	w.Event("status", []byte(`{"status":"ACTIVE"}`))
	w.Log(7, []byte("{\n  \"message_type\": \"ACTION\",\r\n  \"thought\": \"a\\nb\"\n}"))
	w.Ping()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "retry: 2500\n\n" +
		"event: status\ndata: {\"status\":\"ACTIVE\"}\n\n" +
		"id: 7\nevent: log\ndata: {\"message_type\":\"ACTION\",\"thought\":\"a\\nb\"}\n\n" +
		": ping\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("stream\n%q\nwant\n%q", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" || !rec.Flushed {
		t.Errorf("Content-Type %q, flushed %v", ct, rec.Flushed)
	}
}

// A poller refused by the token's upstream budget waits for the slot the
// budget names, not an ever longer backoff; an upstream 429 pauses the
// poller's reads for its Retry-After.
func TestRetryWaitFollowsTheBudgetAndTheAPI(t *testing.T) {
	t.Parallel()
	base := 2 * time.Second
	over := fmt.Errorf("get_run_logs: %w", &codegen.BudgetError{Class: codegen.ClassLogs, RetryAfter: 1500 * time.Millisecond})
	if got := retryWait(newBudget(6000), over, 5, base); got != 1500*time.Millisecond {
		t.Errorf("over budget after 5 failures: wait %v, want the budget's 1.5s", got)
	}
	b := newBudget(6000)
	limited := &codegen.Error{StatusCode: http.StatusTooManyRequests, RetryAfter: "12"}
	if got := retryWait(b, limited, 1, base); got != 12*time.Second {
		t.Errorf("upstream 429 with Retry-After 12: wait %v, want 12s", got)
	}
	if got := retryWait(newBudget(6000), errors.New("connection reset"), 3, base); got != 16*time.Second {
		t.Errorf("a transient failure, the 3rd: wait %v, want 16s", got)
	}
}

func TestBudgetPauseHoldsEveryReadBack(t *testing.T) {
	t.Parallel()
	b := newBudget(6000)
	b.pauseFor(80 * time.Millisecond)
	start := time.Now()
	if err := b.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 70*time.Millisecond {
		t.Errorf("read allowed after %v of an 80 ms pause", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.pauseFor(time.Hour)
	if err := b.wait(ctx); err == nil {
		t.Error("wait ignored a cancelled context")
	}
}

func TestBudgetBurstIsSmall(t *testing.T) {
	t.Parallel()
	for perMinute, want := range map[int]int{1: 1, 10: 1, 50: 5, 600: 5} {
		if got := newBudget(perMinute).lim.Burst(); got != want {
			t.Errorf("budget %d/min: burst %d, want %d", perMinute, got, want)
		}
	}
}

// TestCloseStopsEveryPoller leaves subscriptions open on a run that never
// ends and checks Close still stops every poller (goleak checks the rest).
func TestCloseStopsEveryPoller(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":1,"organization_id":1,"status":"RUNNING","logs":[],"total_logs":0}`)
	}))
	defer upstream.Close()
	h := &Hub{Client: &codegen.Client{BaseURL: upstream.URL}, Interval: 5 * time.Millisecond, Budget: 6000}
	for run := int64(1); run <= 3; run++ {
		sub, err := h.Subscribe("tok", 1, run)
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.Pollers(); n != 3 {
		t.Fatalf("pollers = %d, want 3", n)
	}
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if n := h.Pollers(); n != 0 {
		t.Errorf("pollers after Close = %d", n)
	}
	if _, err := h.Subscribe("tok", 1, 1); err != ErrShuttingDown {
		t.Errorf("Subscribe after Close: %v, want ErrShuttingDown", err)
	}
}
