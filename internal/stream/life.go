package stream

import (
	"context"
	"time"
)

// life is what the Hub keeps of a poller of either kind (a run's logs, or an
// organization's runs feed) to start it, pause it while nobody is
// subscribed, and stop it. Every field is guarded by the Hub's mutex, but
// th, budget, cancel and forget, which begin sets before the poller starts
// and which never change.
type life struct {
	th      [32]byte           // the token's hash
	budget  *budget            // the token's, shared by all its pollers
	cancel  context.CancelFunc // stops the poller's loop
	forget  func()             // drops the poller from the Hub's map
	subs    int
	linger  *time.Timer
	wanted  chan struct{} // while nobody is subscribed: closed when someone is
	removed bool          // forgotten and stopped
	onIdle  func()        // if set, called once when the last subscriber leaves
}

// readAllowed waits until the poller whose life is l has a subscriber and
// the token's budget allows a read.
func (h *Hub) readAllowed(ctx context.Context, l *life) error {
	if err := h.waitWanted(ctx, l); err != nil {
		return err
	}
	if err := l.budget.wait(ctx); err != nil {
		return err
	}
	return h.waitWanted(ctx, l) // the last subscriber may have left meanwhile
}

// waitWanted blocks while l has no subscriber, until one comes or ctx ends.
func (h *Hub) waitWanted(ctx context.Context, l *life) error {
	h.mu.Lock()
	wanted := l.wanted
	h.mu.Unlock()
	if wanted == nil {
		return nil
	}
	h.idled.Add(1)
	select {
	case <-wanted:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// subscribers is l's number of subscribers.
func (h *Hub) subscribers(l *life) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return l.subs
}

// begin sets up l, the life of a poller about to start for the token whose
// hash is th, with the token's budget; forget drops the poller from its map.
// It returns the poller's context. h.mu is held.
func (h *Hub) begin(l *life, th [32]byte, forget func()) context.Context {
	b := h.budgets[th]
	if b == nil {
		b = newBudget(h.budget())
		h.budgets[th] = b
	}
	b.refs++
	ctx, cancel := context.WithCancel(context.Background())
	l.th, l.budget, l.cancel, l.forget = th, b, cancel, forget
	h.wg.Add(1)
	return ctx
}

// release gives back s's place and drops it from its poller, if it joined
// one; the last subscriber to leave idles the poller and schedules its end.
func (h *Hub) release(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs--
	if h.subsBy[s.th]--; h.subsBy[s.th] == 0 {
		delete(h.subsBy, s.th)
	}
	l := s.life()
	if l == nil {
		return
	}
	if l.subs--; l.subs > 0 {
		return
	}
	l.wanted = make(chan struct{})
	if l.onIdle != nil {
		l.onIdle()
		l.onIdle = nil
	}
	if l.linger != nil {
		l.linger.Stop()
	}
	l.linger = time.AfterFunc(h.linger(), func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if l.subs == 0 && !l.removed {
			h.remove(l)
		}
	})
}

// attach adds a subscriber to l, waking it if it lingers. h.mu is held.
func (h *Hub) attach(l *life) {
	if l.subs == 0 && l.wanted != nil {
		close(l.wanted) // a lingering poller goes back to work
		l.wanted = nil
	}
	l.subs++
}

// remove forgets the poller whose life is l and stops it. h.mu is held.
func (h *Hub) remove(l *life) {
	l.removed = true
	l.forget()
	l.cancel()
	if l.budget.refs--; l.budget.refs == 0 {
		delete(h.budgets, l.th)
	}
}

// stopNow removes the poller whose life is l without lingering. h.mu is held.
func (h *Hub) stopNow(l *life) {
	if l.linger != nil {
		l.linger.Stop()
	}
	h.remove(l)
}
