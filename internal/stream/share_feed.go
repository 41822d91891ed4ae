package stream

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// feedMeta is a runs feed's state beside its shared history: the newest
// page as the leader last read it, and the number of the last event
// numbered from it. Its size is one page of runs, which FeedRuns bounds.
type feedMeta struct {
	Seq   int64             `json:"seq"`
	Page  []json.RawMessage `json:"page"`
	Fatal *codegen.Error    `json:"fatal,omitempty"`
}

func (f *feedPoller) scope() Scope              { return Scope{Token: f.key.token, Org: f.org, Feed: true} }
func (f *feedPoller) lifeOf() *life             { return &f.life }
func (f *feedPoller) leadingFlag() *atomic.Bool { return &f.leading }

func (f *feedPoller) over() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fatal != nil
}

func (f *feedPoller) pokes() chan struct{}          { return nil }
func (f *feedPoller) readAsked(ctx context.Context) {}

// pollAlone polls as if there were no shared store. The events it numbers
// are this replica's alone: when it follows the shared history again, it
// takes the shared numbering and its subscribers get a reset.
func (f *feedPoller) pollAlone(ctx context.Context, more func() bool) {
	f.mu.Lock()
	f.alone = true
	f.mu.Unlock()
	f.pollLoop(ctx, more)
}

// lead polls upstream while f holds the lease, after catching up with the
// shared history, and writes every event and page to it.
func (f *feedPoller) lead(ctx context.Context, w Leader) {
	f.leading.Store(true)
	defer f.leading.Store(false)
	if f.follow(ctx) != nil {
		return
	}
	f.mu.Lock()
	f.alone = false // what nobody shared is the shared history from now on
	shared := int(f.seq)
	f.mu.Unlock()
	f.lead1 = leaderState{pushed: -1}
	wctx := context.WithoutCancel(ctx) // as in poller.lead
	f.pollLoop(ctx, func() bool { return f.publish(wctx, w) })
	f.publish(wctx, w)
	f.mu.Lock()
	if int(f.seq) > max(shared, f.lead1.pushed) { // numbered here, not shared (Redis or the lease lost): this replica's own
		f.alone = true
	}
	f.mu.Unlock()
}

// publish writes the new events and the page. It reports false when the
// lease is lost.
func (f *feedPoller) publish(ctx context.Context, w Leader) bool {
	if err := f.lead1.push(ctx, w, f.held, f.follow); err != nil {
		return keepGoing(err)
	}
	return keepGoing(f.lead1.publishMeta(ctx, w, f.meta()))
}

// held returns the events held, an event numbered n being at position n-1.
func (f *feedPoller) held() (int, [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	entries := make([][]byte, len(f.events))
	for i, e := range f.events {
		entries[i] = e.data
	}
	return int(f.seq) - len(f.events), entries
}

func (f *feedPoller) meta() []byte {
	f.mu.Lock()
	m := feedMeta{Seq: f.seq, Page: make([]json.RawMessage, len(f.page))}
	for i, r := range f.page {
		m.Page[i] = r.data
	}
	var apiErr *codegen.Error
	if errors.As(f.fatal, &apiErr) {
		m.Fatal = apiErr
	}
	f.mu.Unlock()
	b, _ := json.Marshal(m)
	return b
}

// follow reads the shared events past the local ones, then the page; a
// replica that numbered events alone takes the shared numbering instead.
func (f *feedPoller) follow(ctx context.Context) error {
	f.mu.Lock()
	alone := f.alone
	f.mu.Unlock()
	if alone {
		if err := f.adopt(ctx); err != nil {
			return err
		}
	}
	sh, s := f.hub.Shared, f.scope()
	for {
		f.mu.Lock()
		seq := f.seq
		f.mu.Unlock()
		first, entries, err := sh.Read(ctx, s, int(seq), pageSize)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			f.update(func() { f.take(int64(first), entries) })
		}
		if len(entries) < pageSize {
			break
		}
	}
	m, err := f.readMeta(ctx)
	if err != nil || m == nil {
		return err
	}
	runs := feedRuns(m.Page, len(m.Page))
	f.mu.Lock()
	page := m.Seq == f.seq && (!f.polled || !samePage(runs, f.page))
	fatal := m.Fatal != nil && f.fatal == nil
	f.mu.Unlock()
	if page || fatal {
		f.update(func() {
			if page {
				f.page, f.polled = runs, true
			}
			if fatal {
				f.fatal = m.Fatal
			}
		})
	}
	return nil
}

// take adds events read from the shared history, the first at position
// first (numbered first+1), skipping those held; when first is past the
// local history, the local history starts again there. f.mu is held.
func (f *feedPoller) take(first int64, entries [][]byte) {
	if first > f.seq {
		f.events, f.size, f.seq = nil, 0, first
	}
	for i, e := range entries {
		n := first + int64(i) + 1
		if n <= f.seq {
			continue
		}
		f.events = append(f.events, feedEvent{n, e}) // past every view's end: views are capped
		f.size += len(e)
		f.seq = n
	}
	f.trim()
}

// adopt replaces the local numbering with the shared one, if there is
// one yet: it reads the shared events from the oldest on, and follow reads
// on and takes the page once it has the events up to it. Subscribers that
// were sent the local numbering start again from a snapshot, after a reset.
// A new poller adopts so, before it has numbered anything of its own.
func (f *feedPoller) adopt(ctx context.Context) error {
	m, err := f.readMeta(ctx)
	if err != nil || m == nil {
		return err
	}
	first, entries, err := f.hub.Shared.Read(ctx, f.scope(), 0, pageSize)
	if err != nil {
		return err
	}
	f.update(func() {
		if f.polled {
			f.epoch++
		}
		f.events, f.size, f.seq = nil, 0, m.Seq
		if len(entries) > 0 {
			f.seq = int64(first)
			f.take(int64(first), entries)
		}
		f.page, f.polled, f.alone = nil, false, false
	})
	return nil
}

func (f *feedPoller) readMeta(ctx context.Context) (*feedMeta, error) {
	b, err := f.hub.Shared.Meta(ctx, f.scope())
	if err != nil || b == nil {
		return nil, err
	}
	var m feedMeta
	if json.Unmarshal(b, &m) != nil {
		return nil, nil
	}
	return &m, nil
}

// samePage reports whether two pages hold the same runs alike.
func samePage(a, b []feedRun) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].id != b[i].id || a[i].mark != b[i].mark {
			return false
		}
	}
	return true
}
