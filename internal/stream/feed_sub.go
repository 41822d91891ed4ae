package stream

import (
	"context"
	"time"
)

// JoinFeed attaches a reserved subscription to the runs feed poller of the
// organization org, starting one if none runs. Call it once, instead of
// Join. It refuses with ErrShuttingDown.
func (s *Subscription) JoinFeed(org int64) error { return s.hub.joinFeed(s, org) }

// feedView is a consistent look at a feed poller's state.
type feedView struct {
	events   []feedEvent // those numbered after the position asked for, if the history holds them all
	first    int64       // the oldest event's number the history holds (seq+1 when it holds none)
	seq      int64
	page     []feedRun
	polled   bool
	fatal    error
	trouble  error
	troubleV int
	epoch    int
	changed  <-chan struct{}
}

// view returns the state, sharing the events and the page, which are never
// changed.
func (f *feedPoller) view(after int64) feedView {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := feedView{first: f.seq + 1 - int64(len(f.events)), seq: f.seq, page: f.page, polled: f.polled, fatal: f.fatal,
		trouble: f.trouble, troubleV: f.troubleV, epoch: f.epoch, changed: f.changed}
	if after >= v.first-1 && after < f.seq {
		v.events = f.events[after-v.first+1 : len(f.events) : len(f.events)]
	}
	return v
}

func (f *feedPoller) answered() (answered bool, changed <-chan struct{}, fatal error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polled || f.troubleV > 0, f.changed, f.fatal
}

// feedCursor is where a feed subscriber stands: the number of the last event
// it sent (or the client had), whether it owes a snapshot, and the trouble
// version it has reported.
type feedCursor struct {
	pos      int64
	snapshot bool
	troubleV int
	epoch    int // the feed's numbering the client has
}

// resetData is the data of a reset event.
var resetData = []byte("{}")

// RunFeed streams the runs feed s joined to w. With after negative (no
// Last-Event-ID), it sends first a snapshot: a run event for each run of
// the newest page, in upstream order, only the last of them carrying an id
// (the feed's latest number, so that a resume from it misses nothing and
// repeats nothing); then a numbered run event per change. With after, it
// resumes with the events numbered after it, or, when the history no longer
// holds them (or they were not this poller's), sends a reset event and the
// snapshot. Upstream trouble is an error event; a fatal error ends the
// stream after one, as does the Hub's shutdown. It returns then, or when
// ctx ends or the client stops reading. render turns an error into event
// data.
func (s *Subscription) RunFeed(ctx context.Context, w *Writer, after int64, heartbeat time.Duration, render func(error) []byte) {
	c := feedCursor{pos: after, snapshot: after < 0 || s.late, epoch: s.f.view(after).epoch}
	if answered, _, _ := s.f.answered(); !answered {
		w.Waiting()
	}
	s.serve(ctx, w, heartbeat, render, func(context.Context) (<-chan struct{}, <-chan time.Time, bool) {
		v := s.f.view(c.pos)
		return v.changed, nil, s.feedStep(w, &c, v, render)
	})
}

// feedStep queues what v holds for c and moves c on; end reports that the
// stream is over.
func (s *Subscription) feedStep(w *Writer, c *feedCursor, v feedView, render func(error) []byte) (end bool) {
	if v.troubleV != c.troubleV {
		if v.trouble != nil {
			w.Event("error", render(v.trouble))
		}
		c.troubleV = v.troubleV
	}
	if v.epoch != c.epoch { // the numbering changed: a resume would skip or repeat
		c.epoch, c.snapshot = v.epoch, true
	}
	switch {
	case v.fatal != nil:
		w.Event("error", render(v.fatal))
		return true
	case !v.polled:
		return false
	case c.snapshot || c.pos > v.seq || c.pos < v.first-1:
		if c.pos >= 0 {
			w.Event("reset", resetData)
		}
		for i, r := range v.page {
			if i == len(v.page)-1 {
				w.EventID("run", v.seq, r.data)
			} else {
				w.Event("run", r.data)
			}
		}
		c.pos, c.snapshot = v.seq, false
		return false
	}
	for _, e := range v.events {
		w.EventID("run", e.seq, e.data)
		c.pos = e.seq
	}
	return false
}
