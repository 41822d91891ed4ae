package stream

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// metaEvery is how often a leader writes a scope's meta even when it has
// not changed, so that a Redis that restarted empty gets it back.
const metaEvery = 5 * time.Second

// sharer is a poller of either kind (a run's logs, a runs feed) as the
// shared mode drives it.
type sharer interface {
	scope() Scope
	lifeOf() *life
	leadingFlag() *atomic.Bool
	// over reports that the poller has nothing more to read: a fatal error.
	over() bool
	// pokes is where subscribers ask for a fresh read (nil: never), and
	// readAsked makes one when this replica does not lead.
	pokes() chan struct{}
	readAsked(ctx context.Context)
	// pollAlone polls upstream as if there were no shared store, while
	// more returns true.
	pollAlone(ctx context.Context, more func() bool)
	// follow reads the shared history and meta into the poller's state.
	follow(ctx context.Context) error
	// lead polls upstream and writes the shared history, while ctx lasts.
	lead(ctx context.Context, w Leader)
}

// share follows s with the other replicas: it contends for s's lease
// while s has a subscriber, and the leader polls upstream and writes the
// shared history; meanwhile, and whenever it does not lead, it reads the
// shared history into s's own, after each notification or interval. While
// the shared store cannot be reached, and nobody here leads, it polls
// upstream alone. The Hub's shutdown gives the lease up at once.
func (h *Hub) share(ctx context.Context, s sharer) {
	sh, leading := h.Shared, s.leadingFlag()
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(h.stopping, cancel)()
	changed, stopWatch := sh.Watch(s.scope())
	defer stopWatch()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.contend(ctx, s) }()
	tick := time.NewTicker(h.interval())
	defer tick.Stop()
	for ctx.Err() == nil && (leading.Load() || !s.over()) {
		if h.waitWanted(ctx, s.lifeOf()) != nil {
			break
		}
		switch {
		case leading.Load():
		case !sh.Healthy():
			s.pollAlone(ctx, func() bool { return !sh.Healthy() && !leading.Load() })
			continue
		default:
			s.follow(ctx) //nolint:errcheck // a failure marks the store unhealthy; the next turn polls alone
		}
		var poke chan struct{}
		if !leading.Load() {
			poke = s.pokes()
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-poke:
			if leading.Load() { // it became the leader meanwhile: the ask is its
				select {
				case poke <- struct{}{}:
				default:
				}
			} else {
				s.readAsked(ctx)
			}
		case <-ctx.Done():
		}
	}
	cancel()
	wg.Wait()
}

// contend holds s's lease while s has a subscriber, until s is over or
// ctx ends.
func (h *Hub) contend(ctx context.Context, s sharer) {
	l := s.lifeOf()
	for ctx.Err() == nil && !s.over() {
		if h.waitWanted(ctx, l) != nil {
			return
		}
		wanted, cancel := context.WithCancel(ctx)
		h.mu.Lock()
		if l.subs > 0 {
			l.onIdle = cancel // the last subscriber's leaving gives the lease up
		} else {
			cancel()
		}
		h.mu.Unlock()
		err := h.Shared.Hold(wanted, s.scope(), s.lead)
		h.mu.Lock()
		l.onIdle = nil
		h.mu.Unlock()
		cancel()
		if err == nil && !s.over() && !codegen.Sleep(ctx, h.interval()) { // lead gave up: not at once again
			return
		}
	}
}

// leaderState is what a poller keeps while it leads; only the leading
// goroutine touches it.
type leaderState struct {
	pushed   int       // the next position to append to the shared history; -1: start at the local history's base
	metaSent []byte    // the meta last written
	metaAt   time.Time // when
	finished bool      // Finish done
}

// publishMeta writes meta unless the same was written within metaEvery.
func (ls *leaderState) publishMeta(ctx context.Context, w Leader, meta []byte) error {
	if string(meta) == string(ls.metaSent) && time.Since(ls.metaAt) < metaEvery {
		return nil
	}
	if err := w.SetMeta(ctx, meta); err != nil {
		return err
	}
	ls.metaSent, ls.metaAt = meta, time.Now()
	return nil
}

// push appends the local history's entries past the shared history's end,
// a page at a time; held returns the local history (its first position and
// entries), catchUp reads the shared one. Positions the shared history
// refuses tell where it stands: behind (Redis restarted, or the local
// history jumped ahead) or ahead (another leader wrote meanwhile).
func (ls *leaderState) push(ctx context.Context, w Leader, held func() (int, [][]byte), catchUp func(context.Context) error) error {
	for range 64 { // each turn appends or moves; the bound is a safety net
		base, entries := held()
		end := base + len(entries)
		ls.pushed = max(ls.pushed, base)
		if ls.pushed >= end {
			return nil
		}
		next, err := w.Append(ctx, ls.pushed, entries[ls.pushed-base:min(end, ls.pushed+pageSize)-base])
		var pe *PositionError
		switch {
		case err == nil:
			ls.pushed = next
		case !errors.As(err, &pe):
			return err
		case pe.Next < base: // it ends before what is held here: start it again
			if err := w.Clear(ctx); err != nil {
				return err
			}
		case pe.Next > end: // it is ahead: catch up
			if err := catchUp(ctx); err != nil {
				return err
			}
			ls.pushed = pe.Next
		default:
			ls.pushed = pe.Next
		}
	}
	return nil
}

// keepGoing tells a leader's poll loop whether to go on after a write
// failed: not once the lease is lost; otherwise yes, and the lease's
// renewals decide.
func keepGoing(err error) bool { return !errors.Is(err, ErrNotLeader) }
