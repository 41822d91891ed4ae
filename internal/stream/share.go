package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// metaEvery is how often a leader writes a scope's meta even when it has
// not changed, so that a Redis that restarted empty gets it back.
const metaEvery = 5 * time.Second

// leaderState is what a poller keeps while it leads; only the leading
// goroutine touches it.
type leaderState struct {
	pushed   int       // the next position to append to the shared history; -1: start at the local history's base
	metaSent []byte    // the meta last written
	metaAt   time.Time // when
	finished bool      // Finish done
}

// shareLoop follows the run with the other replicas: it contends for the
// run's lease while the poller has a subscriber, and the leader polls
// upstream and writes the shared history; meanwhile, and whenever it does
// not lead, it reads the shared history into the poller's own, after each
// notification or interval. While the shared store cannot be reached, and
// nobody here leads, it polls upstream alone. The Hub's shutdown gives the
// lease up at once.
func (p *poller) shareLoop(ctx context.Context) {
	sh := p.hub.Shared
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(p.hub.stopping, cancel)()
	changed, stopWatch := sh.Watch(p.scope())
	defer stopWatch()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.contend(ctx) }()
	tick := time.NewTicker(p.hub.interval())
	defer tick.Stop()
	for ctx.Err() == nil && (p.leading.Load() || !p.over()) {
		if p.hub.waitWanted(ctx, &p.life) != nil {
			break
		}
		switch {
		case p.leading.Load():
		case !sh.Healthy():
			p.pollLoop(ctx, func() bool { return !sh.Healthy() && !p.leading.Load() })
			continue
		default:
			p.follow(ctx) //nolint:errcheck // a failure marks the store unhealthy; the next turn polls alone
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	cancel()
	wg.Wait()
}

func (p *poller) scope() Scope { return Scope{Token: p.key.token, Org: p.org, Run: p.run} }

// contend holds the run's lease while the poller has a subscriber, until
// the run is over or ctx ends.
func (p *poller) contend(ctx context.Context) {
	h := p.hub
	for ctx.Err() == nil && !p.over() {
		if h.waitWanted(ctx, &p.life) != nil {
			return
		}
		wanted, cancel := context.WithCancel(ctx)
		h.mu.Lock()
		if p.life.subs > 0 {
			p.life.onIdle = cancel // the last subscriber's leaving gives the lease up
		} else {
			cancel()
		}
		h.mu.Unlock()
		err := h.Shared.Hold(wanted, p.scope(), p.lead)
		h.mu.Lock()
		p.life.onIdle = nil
		h.mu.Unlock()
		cancel()
		if err == nil && !p.over() && !codegen.Sleep(ctx, h.interval()) { // lead gave up: not at once again
			return
		}
	}
}

// lead polls upstream while p holds the lease, after catching up with the
// shared history, and writes every change to it.
func (p *poller) lead(ctx context.Context, w Leader) {
	p.leading.Store(true)
	defer p.leading.Store(false)
	if p.follow(ctx) != nil {
		return
	}
	p.lead1 = leaderState{pushed: -1}
	if p.over() {
		return
	}
	// Writes outlive ctx (each is bounded by the store's timeout, and
	// refused once the lease is lost), so that what was read is written
	// even when the last local subscriber, which had it, left at once.
	wctx := context.WithoutCancel(ctx)
	p.pollLoop(ctx, func() bool { return p.publish(wctx, w) })
	p.publish(wctx, w)
}

// publish writes the new log entries and the run's state to the shared
// history. It reports false when the lease is lost, so that polling stops.
// Other failures leave polling on: the lease's renewals decide.
func (p *poller) publish(ctx context.Context, w Leader) bool {
	if err := p.pushLogs(ctx, w); err != nil {
		return !errors.Is(err, ErrNotLeader)
	}
	ls := &p.lead1
	m := p.meta()
	if !bytes.Equal(m, ls.metaSent) || time.Since(ls.metaAt) >= metaEvery {
		if err := w.SetMeta(ctx, m); err != nil {
			return !errors.Is(err, ErrNotLeader)
		}
		ls.metaSent, ls.metaAt = m, time.Now()
	}
	if p.isDone() && !ls.finished {
		if err := w.Finish(ctx); errors.Is(err, ErrNotLeader) {
			return false
		}
		ls.finished = true
	}
	return true
}

// pushLogs appends the local history's entries past the shared history's
// end, a page at a time. Positions the shared history refuses tell where
// it stands: behind (Redis restarted, or entries were trimmed here) or
// ahead (another leader wrote meanwhile).
func (p *poller) pushLogs(ctx context.Context, w Leader) error {
	ls := &p.lead1
	for range 64 { // each turn appends or moves; the bound is a safety net
		p.mu.Lock()
		base, logs := p.base, p.logs
		p.mu.Unlock()
		end := base + len(logs)
		ls.pushed = max(ls.pushed, base)
		if ls.pushed >= end {
			return nil
		}
		chunk := logs[ls.pushed-base : min(end, ls.pushed+pageSize)-base]
		entries := make([][]byte, len(chunk))
		for i, l := range chunk {
			entries[i] = l
		}
		next, err := w.Append(ctx, ls.pushed, entries)
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
			if err := p.follow(ctx); err != nil {
				return err
			}
			ls.pushed = pe.Next
		default:
			ls.pushed = pe.Next
		}
	}
	return nil
}

// follow reads the shared history past the local one, a page at a time,
// and then the run's state.
func (p *poller) follow(ctx context.Context) error {
	sh, s := p.hub.Shared, p.scope()
	for {
		p.mu.Lock()
		end := p.base + len(p.logs)
		p.mu.Unlock()
		first, entries, err := sh.Read(ctx, s, end, pageSize)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			logs := make([]json.RawMessage, len(entries))
			for i, e := range entries {
				logs[i] = e
			}
			p.update(func() { p.keepAt(first, logs, nil) })
		}
		if len(entries) < pageSize {
			break
		}
	}
	b, err := sh.Meta(ctx, s)
	if err != nil || b == nil {
		return err
	}
	p.applyMeta(b)
	return nil
}

func (p *poller) over() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done || p.fatal != nil
}
