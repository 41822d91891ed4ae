package stream

import (
	"errors"
	"testing"
)

// TestReserveHoldsAPlaceBeforeJoin checks that a reservation counts under
// the limits before it joins a run and makes no upstream call, that Close
// gives its place back, and that Join refuses after Shutdown.
func TestReserveHoldsAPlaceBeforeJoin(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, func(h *Hub) { h.MaxPerToken, h.MaxStreams = 1, 2 })
	a, err := h.Reserve("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Reserve("a"); !errors.Is(err, ErrTooManyStreams) {
		t.Errorf("a second reservation of the token: %v, want ErrTooManyStreams", err)
	}
	b, err := h.Reserve("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe("c", 1, 1); !errors.Is(err, ErrStreamsFull) {
		t.Errorf("a subscription past two reservations: %v, want ErrStreamsFull", err)
	}
	if h.Pollers() != 0 || f.logReads.Load()+f.runReads.Load() != 0 {
		t.Errorf("reservations started %d pollers and %d upstream calls, want none", h.Pollers(), f.logReads.Load()+f.runReads.Load())
	}
	a.Close()
	a.Close() // twice is harmless
	if n := h.Subscribers(); n != 1 {
		t.Errorf("subscribers = %d after closing one of two reservations, want 1", n)
	}
	h.Shutdown()
	if err := b.Join(1, 1); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Join after Shutdown: %v, want ErrShuttingDown", err)
	}
	b.Close()
	if n := h.Subscribers(); n != 0 || h.Pollers() != 0 {
		t.Errorf("%d subscribers and %d pollers after every Close, want 0", n, h.Pollers())
	}
}
