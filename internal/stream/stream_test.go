package stream

import (
	"context"
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

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	if got := parseRetryAfter("12"); got != 12*time.Second {
		t.Errorf("seconds: %v", got)
	}
	if got := parseRetryAfter(time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)); got < 18*time.Second || got > 20*time.Second {
		t.Errorf("HTTP date: %v", got)
	}
	for _, bad := range []string{"", "soon", "-3"} {
		if got := parseRetryAfter(bad); got != 0 {
			t.Errorf("%q: %v, want 0", bad, got)
		}
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
