package stream

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestResumeAnywhereInALongRunHasNoGapAndNoDuplicate streams a finished run
// of 2350 entries from many positions through a poller that keeps 300: the
// older entries are read again from upstream, and every stream gets each
// position from its start exactly once, then done.
func TestResumeAnywhereInALongRunHasNoGapAndNoDuplicate(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 2350, "COMPLETE")
	h := newHub(t, f, func(h *Hub) { h.HistoryEntries = 300 })
	for _, from := range []int{0, 1, 99, 100, 1234, 2049, 2050, 2051, 2349} {
		got, w := runTo(t, h, "tok", from)
		if want := fmt.Sprintf("%d..2349", from); got.logs() != want || got.last() != "done" || got[0] != "status" {
			t.Errorf("from %d: logs %s ending %q, want status, logs %s, done", from, got.logs(), got.last(), want)
		}
		if c := cap(w.buf); c > idleCap {
			t.Errorf("from %d: the subscriber kept a %d-byte buffer, want at most %d", from, c, idleCap)
		}
	}
	if got, _ := runTo(t, h, "tok", 2350); got.logs() != "" || got.last() != "done" {
		t.Errorf("past the end: %v, want no logs and done", got)
	}
	if base, n, _ := pollerOf(h, "tok").history(); n > 300 || base+n != 2350 {
		t.Errorf("the poller holds positions %d..%d, want at most the last 300", base, base+n-1)
	}
	if h.Polls() != f.logReads.Load() {
		t.Errorf("upstream answered %d log reads, the hub counted %d", f.logReads.Load(), h.Polls())
	}
}

// TestHistoryBytesBoundTheHistory keeps entries of about 1 KiB in a history
// of 8 KiB, and still streams every one.
func TestHistoryBytesBoundTheHistory(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 250, "COMPLETE")
	f.size = 1000
	h := newHub(t, f, func(h *Hub) { h.HistoryBytes = 8 << 10 })
	got, _ := runTo(t, h, "tok", 0)
	if got.logs() != "0..249" || got.last() != "done" {
		t.Errorf("logs %s ending %q, want 0..249 and done", got.logs(), got.last())
	}
	if base, n, size := pollerOf(h, "tok").history(); size > 8<<10 || n == 0 || base+n != 250 {
		t.Errorf("the poller holds positions %d..%d, %d bytes; want the latest within 8 KiB", base, base+n-1, size)
	}
}

// TestRefetchesSpendTheTokensBudget streams 1000 entries from the start
// through a history of 100 on a budget of 300 reads a minute (5 a second,
// burst 5). The poller's reads and the refetched pages take at least 11
// reads, so the stream cannot end in less than 1.2 s unless a refetch
// skipped the budget.
func TestRefetchesSpendTheTokensBudget(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 1000, "COMPLETE")
	h := newHub(t, f, func(h *Hub) { h.HistoryEntries, h.Budget = 100, 300 })
	start := time.Now()
	got, _ := runTo(t, h, "tok", 0)
	took := time.Since(start)
	if got.logs() != "0..999" || got.last() != "done" {
		t.Fatalf("logs %s ending %q, want 0..999 and done", got.logs(), got.last())
	}
	if reads := f.logReads.Load(); reads < 11 || took < 1100*time.Millisecond {
		t.Errorf("%d log reads in %v: faster than a budget of 5 a second allows", reads, took)
	}
}

// TestAnIdlePollerMakesNoCallsAndWakesForTheNextSubscriber leaves a running
// run's only stream: the poller stops reading (while it lingers) once its
// last read is in, and the next subscriber gets the same poller, reading
// again from where it stopped.
func TestAnIdlePollerMakesNoCallsAndWakesForTheNextSubscriber(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, nil)
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := pollerOf(h, "tok")
	sub.Close()
	left := f.logReads.Load()
	waitFor(t, "the poller to idle", func() bool { return h.idled.Load() > 0 })
	if reads := f.logReads.Load(); reads > left+1 { // one read may have been on its way
		t.Errorf("%d log reads after the last subscriber left, want at most the one on its way", reads-left)
	}
	if h.Pollers() != 1 {
		t.Fatalf("pollers = %d while lingering, want 1", h.Pollers())
	}
	idle := f.logReads.Load()
	f.set(7, "COMPLETE")
	sub, err = h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.p != p {
		t.Error("a subscriber within the linger got a new poller")
	}
	waitFor(t, "the poller to read again", func() bool { return f.logReads.Load() > idle })
	got, _ := runTo(t, h, "tok", 0)
	if got.logs() != "0..6" || got.last() != "done" {
		t.Errorf("after waking: logs %s ending %q, want 0..6 and done", got.logs(), got.last())
	}
}

// TestPollerStopsAfterLinger checks a poller ends Linger after its last
// subscriber, and that its token's budget goes with it.
func TestPollerStopsAfterLinger(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, func(h *Hub) { h.Linger = 20 * time.Millisecond })
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	sub.Close()
	sub.Close() // twice is harmless
	waitFor(t, "the poller to stop", func() bool { return h.Pollers() == 0 })
	h.mu.Lock()
	budgets := len(h.budgets)
	h.mu.Unlock()
	if budgets != 0 || h.Subscribers() != 0 {
		t.Errorf("%d budgets, %d subscribers after the poller stopped; want 0", budgets, h.Subscribers())
	}
}

// TestAbandonedStreamsCostAtMostOneReadEach subscribes with many tokens and
// leaves while each poller's first log read is on its way: that read may
// answer, but no run read and no other log read follow.
func TestAbandonedStreamsCostAtMostOneReadEach(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	f.gate = make(chan struct{})
	h := newHub(t, f, func(h *Hub) { h.Linger = 50 * time.Millisecond })
	const n = 40
	var subs []*Subscription
	for i := range n {
		sub, err := h.Subscribe(fmt.Sprint("tok-", i), 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	waitFor(t, "every first read to reach upstream", func() bool { return f.held.Load() == n })
	for _, sub := range subs {
		sub.Close()
	}
	close(f.gate)
	waitFor(t, "the pollers to stop", func() bool { return h.Pollers() == 0 })
	h.Close()     // and their goroutines to return
	f.srv.Close() // and every call they made to be answered
	if logs, runs := f.logReads.Load(), f.runReads.Load(); logs > n || runs != 0 {
		t.Errorf("%d abandoned streams cost %d log reads and %d run reads; want at most %d and 0", n, logs, runs, n)
	}
}

// TestBudgetIsPerToken checks that pollers of one token share a budget and
// that another token's pollers have their own.
func TestBudgetIsPerToken(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, nil)
	var subs []*Subscription
	for _, s := range []struct {
		tok string
		run int64
	}{{"a", 1}, {"a", 2}, {"b", 1}} {
		sub, err := h.Subscribe(s.tok, 1, s.run)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	if subs[0].p.budget != subs[1].p.budget || subs[0].p.budget == subs[2].p.budget {
		t.Error("budgets are not shared by one token's pollers alone")
	}
	h.mu.Lock()
	_, keyed := h.budgets[sha256.Sum256([]byte("a"))]
	h.mu.Unlock()
	if !keyed {
		t.Error("budgets are not keyed by the token's hash")
	}
	for _, s := range subs {
		s.Close()
	}
}

// TestRateLimitedPollsPauseTheTokenForRetryAfter makes one log read answer
// 429 with Retry-After: 1 and checks the next read waits that long.
func TestRateLimitedPollsPauseTheTokenForRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	f.fail, f.failN = 429, 1
	h := newHub(t, f, nil)
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitFor(t, "a read after the 429", func() bool { return f.logReads.Load() >= 2 })
	if gap := time.Duration(f.readAt.Load() - f.lastFail.Load()); gap < 950*time.Millisecond {
		t.Errorf("the next read came %v after a 429 with Retry-After: 1", gap)
	}
}

// TestStreamLimits checks MaxPerToken and MaxStreams, and that a closed
// stream frees its place.
func TestStreamLimits(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, func(h *Hub) { h.MaxPerToken, h.MaxStreams = 2, 3 })
	subscribe := func(tok string, want error) *Subscription {
		t.Helper()
		sub, err := h.Subscribe(tok, 1, 1)
		if !errors.Is(err, want) {
			t.Fatalf("subscribe %s: %v, want %v", tok, err, want)
		}
		return sub
	}
	a1, a2 := subscribe("a", nil), subscribe("a", nil)
	subscribe("a", ErrTooManyStreams)
	b1 := subscribe("b", nil)
	subscribe("b", ErrStreamsFull)
	a1.Close()
	subscribe("b", nil).Close()
	a2.Close()
	b1.Close()
	if n := h.Subscribers(); n != 0 {
		t.Errorf("subscribers = %d after every Close, want 0", n)
	}
}

// TestStreamStartsWhileThePollerWaitsForBudget spends a token's budget (one
// read a minute) on one run and streams another: Ready gives up after
// StartWait, and the stream opens with a comment.
func TestStreamStartsWhileThePollerWaitsForBudget(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, func(h *Hub) { h.Budget, h.StartWait = 1, 20*time.Millisecond })
	first, err := h.Subscribe("tok", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	waitFor(t, "the first read", func() bool { return f.logReads.Load() == 1 })
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Ready(context.Background()); err != nil {
		t.Fatalf("Ready: %v, want nil once StartWait is over", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run sends what it has, then returns
	rec := httptest.NewRecorder()
	w, _ := NewWriter(rec, time.Second)
	sub.Run(ctx, w, 0, time.Hour, nil)
	// The decoder drops comments, as EventSource does: compare the bytes.
	if got, want := rec.Body.String(), "retry: 1000\n\n: waiting for the upstream\n\n"; got != want {
		t.Errorf("stream %q, want only the retry hint and the waiting comment %q", got, want)
	}
}

// TestShutdownEndsEveryStreamWithAnEvent runs a stream of a run that never
// ends, shuts the Hub down, and checks the stream's last event and that new
// subscriptions are refused.
func TestShutdownEndsEveryStreamWithAnEvent(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, nil)
	done := make(chan sent)
	go func() {
		got, _ := runTo(t, h, "tok", 0)
		done <- got
	}()
	waitFor(t, "the stream to start", func() bool { return h.Subscribers() == 1 })
	h.Shutdown()
	got := <-done
	if !strings.HasPrefix(got.last(), "error "+ErrShuttingDown.Error()) {
		t.Errorf("stream %v, want the shutting-down error last", got)
	}
	if _, err := h.Subscribe("tok", 1, 1); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Subscribe after Shutdown: %v, want ErrShuttingDown", err)
	}
}

// TestFatalErrorsEndTheStream checks that Ready returns a 404 and that a
// stream of a run that became unreadable ends with an error event.
func TestFatalErrorsEndTheStream(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	f.fail, f.failN = 404, 1
	h := newHub(t, f, nil)
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Ready(context.Background()); !isFatal(err) {
		t.Errorf("Ready: %v, want the 404", err)
	}
}
