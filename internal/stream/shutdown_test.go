package stream

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestShutdownEndsAStreamThatWaitsToRefetch streams a finished run from
// before the poller's history, so that the stream reads the older entries
// itself, and shuts the Hub down while that read waits: for the token's
// budget, or for the upstream's answer. The stream still ends at once with
// the shutting-down event.
func TestShutdownEndsAStreamThatWaitsToRefetch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hold func(f *fakeAPI, p *poller) (waits func() bool) // makes the next refetch wait
	}{
		{"waiting for budget", func(f *fakeAPI, p *poller) func() bool {
			p.budget.lim.SetLimit(rate.Every(time.Hour))
			for p.budget.lim.Allow() {
			}
			left := p.budget.lim.Tokens()                                  // less than one
			return func() bool { return p.budget.lim.Tokens() < left-0.5 } // a read has reserved the next token
		}},
		{"waiting for the upstream", func(f *fakeAPI, p *poller) func() bool {
			f.mu.Lock()
			f.gate = make(chan struct{})
			f.mu.Unlock()
			return func() bool { return f.held.Load() == 1 }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t, 2350, "COMPLETE")
			h := newHub(t, f, func(h *Hub) { h.HistoryEntries = 300 })
			// Joined before the run is done: a finished poller takes no new subscriber.
			sub, err := h.Subscribe("tok", 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			if got, _ := runTo(t, h, "tok", 2340); got.last() != "done" { // the poller reads to the end
				t.Fatalf("the first stream: %v, want done", got)
			}
			p := pollerOf(h, "tok")
			waits := tt.hold(f, p)
			f.mu.Lock()
			gate := f.gate
			f.mu.Unlock()
			if gate != nil {
				t.Cleanup(func() { close(gate) }) // before the fake API closes
			}
			ctx, cancel := context.WithCancel(context.Background())
			rec := httptest.NewRecorder()
			w, _ := NewWriter(rec, time.Second)
			done := make(chan struct{})
			go func() {
				defer close(done)
				sub.Run(ctx, w, 0, time.Hour, func(err error) []byte { return []byte(err.Error()) })
			}()
			t.Cleanup(func() { cancel(); <-done })
			waitFor(t, "the refetch to wait", waits)
			h.Shutdown()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the stream did not end at shutdown")
			}
			got := parseSent(t, rec.Body.String())
			if !strings.HasPrefix(got.last(), "error "+ErrShuttingDown.Error()) || got.logs() != "" {
				t.Errorf("stream %v, want no logs and the shutting-down error last", got)
			}
		})
	}
}
