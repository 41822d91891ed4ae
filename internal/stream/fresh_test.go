package stream

import (
	"context"
	"strings"
	"testing"
	"time"
)

// waitIn runs sub.Wait in the background until cancel is called.
func waitIn(sub *Subscription) (cancel func() (run []byte, settled bool, err error)) {
	ctx, stop := context.WithCancel(context.Background())
	type answer struct {
		run     []byte
		settled bool
		err     error
	}
	out := make(chan answer, 1)
	go func() {
		run, settled, err := sub.Wait(ctx)
		out <- answer{run, settled, err}
	}()
	return func() ([]byte, bool, error) {
		stop()
		a := <-out
		return a.run, a.settled, a.err
	}
}

// A run waited on until PAUSED, then resumed (by anyone), while its poller
// still has the PAUSED status: the next waiter must not get that status.
// The poller's interval is an hour, so only the waiter's own ask makes the
// poller read again.
func TestWaitAfterAResumeIsAnsweredByAReadSinceTheWaiterCame(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "PAUSED")
	h := newHub(t, f, func(h *Hub) { h.Interval = time.Hour })
	first, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close() // keeps the poller warm, as another client's stream would
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if run, settled, err := first.Wait(ctx); err != nil || !settled || !strings.Contains(string(run), `"PAUSED"`) {
		t.Fatalf("the first Wait: %s, settled %v, %v; want the PAUSED run", run, settled, err)
	}

	f.set(5, "RUNNING") // resumed
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	stop := waitIn(sub)
	waitFor(t, "the poller to read the resumed run", func() bool { return sub.p.runState().status == "RUNNING" })
	run, settled, err := stop()
	if err != nil || settled || !strings.Contains(string(run), `"RUNNING"`) {
		t.Errorf("Wait after the resume: %s, settled %v, %v; want the RUNNING run, unsettled", run, settled, err)
	}
}

// A run paused again between two reads keeps its status, but it is another
// pause: the waiter gets the run as read after it came, not the old one.
func TestWaitOnAPausedRunReadsTheRunAgain(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "PAUSED")
	h := newHub(t, f, func(h *Hub) { h.Interval = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := int64(1); i <= 2; i++ {
		sub, err := h.Subscribe("tok", 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		run, settled, err := sub.Wait(ctx)
		sub.Close()
		if err != nil || !settled || !strings.Contains(string(run), `"PAUSED"`) {
			t.Fatalf("Wait %d: %s, settled %v, %v; want the PAUSED run", i, run, settled, err)
		}
		if got := f.runReads.Load(); got != i {
			t.Errorf("after Wait %d: %d run reads, want %d", i, got, i)
		}
	}
	if n := h.Pollers(); n != 1 {
		t.Errorf("%d pollers, want the one shared", n)
	}
}

// A finished run's poller stops reading; if the run is resumed, a new
// subscriber must not be served the old end from it.
func TestANewSubscriberOfAFinishedRunGetsAFreshPoller(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "COMPLETE")
	h := newHub(t, f, nil)
	if got, _ := runTo(t, h, "tok", 0); got.last() != "done" {
		t.Fatalf("the first stream: %v, want done", got)
	}
	finished := pollerOf(h, "tok")

	f.set(7, "RUNNING") // resumed
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.p == finished {
		t.Fatal("the new subscriber joined the finished poller")
	}
	stop := waitIn(sub)
	waitFor(t, "the new poller to read the resumed run", func() bool { return sub.p.runState().status == "RUNNING" })
	if run, settled, err := stop(); err != nil || settled || !strings.Contains(string(run), `"RUNNING"`) {
		t.Errorf("Wait after the resume: %s, settled %v, %v; want the RUNNING run, unsettled", run, settled, err)
	}
	if n := h.Pollers(); n != 1 {
		t.Errorf("%d pollers, want the new one only", n)
	}
	h.mu.Lock()
	budgets := len(h.budgets)
	h.mu.Unlock()
	if budgets != 1 {
		t.Errorf("%d budgets for one token, want 1", budgets)
	}
}

// A finished poller that still has a subscriber is joined, not replaced;
// the new subscriber's wait makes it read again, and it follows the resumed
// run from then on.
func TestAFinishedPollerInUseReadsAgainForANewSubscriber(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "COMPLETE")
	h := newHub(t, f, func(h *Hub) { h.Interval = time.Hour })
	keep, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	if got, _ := runTo(t, h, "tok", 0); got.last() != "done" {
		t.Fatalf("the first stream: %v, want done", got)
	}
	reads := f.logReads.Load()

	f.set(7, "RUNNING") // resumed
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.p != keep.p {
		t.Fatal("a finished poller in use was replaced")
	}
	stop := waitIn(sub)
	waitFor(t, "the poller to read the resumed run", func() bool { return sub.p.runState().status == "RUNNING" })
	if run, settled, err := stop(); err != nil || settled || !strings.Contains(string(run), `"RUNNING"`) {
		t.Errorf("Wait after the resume: %s, settled %v, %v; want the RUNNING run, unsettled", run, settled, err)
	}
	if got := f.logReads.Load() - reads; got != 1 {
		t.Errorf("%d log reads for the new subscriber, want 1", got)
	}
	if base, n, _ := sub.p.history(); base+n != 7 {
		t.Errorf("the history ends at %d, want 7: the resumed run's logs", base+n)
	}
}
