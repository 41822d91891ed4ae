package stream

import (
	"context"
	"encoding/json"
	"sync/atomic"
)

func (p *poller) scope() Scope                                    { return Scope{Token: p.key.token, Org: p.org, Run: p.run} }
func (p *poller) lifeOf() *life                                   { return &p.life }
func (p *poller) leadingFlag() *atomic.Bool                       { return &p.leading }
func (p *poller) pollAlone(ctx context.Context, more func() bool) { p.pollLoop(ctx, more) }

// over reports a fatal error: a done run may be resumed, so its poller
// goes on (reading again only when a waiter or new stream asks).
func (p *poller) over() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fatal != nil
}

func (p *poller) pokes() chan struct{} { return p.poke }

// readAsked answers a subscriber's ask for a fresh read on a replica that
// does not lead: one read of its own, within the token's budget.
func (p *poller) readAsked(ctx context.Context) {
	if !p.rechecking() {
		return
	}
	if _, err := p.poll(ctx); err != nil && isFatal(err) {
		p.update(func() { p.fatal = err })
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
	// A done run is read again only when a subscriber asks, as alone.
	if p.isDone() && !p.sleep(ctx, 0, true) {
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
func (p *poller) publish(ctx context.Context, w Leader) bool {
	ls := &p.lead1
	if err := ls.push(ctx, w, p.held, p.follow); err != nil {
		return keepGoing(err)
	}
	if err := ls.publishMeta(ctx, w, p.meta()); err != nil {
		return keepGoing(err)
	}
	switch done := p.isDone(); {
	case done && !ls.finished:
		if err := w.Finish(ctx); err != nil {
			return keepGoing(err)
		}
		ls.finished = true
	case !done:
		ls.finished = false // resumed: its appends keep it again
	}
	return true
}

// held returns the local history: its first position and its entries.
func (p *poller) held() (int, [][]byte) {
	p.mu.Lock()
	base, logs := p.base, p.logs
	p.mu.Unlock()
	entries := make([][]byte, len(logs))
	for i, l := range logs {
		entries[i] = l
	}
	return base, entries
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
