package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Subscription is one client's place under the Hub's limits and, once
// joined, in a shared poller. It is used by one goroutine; Close may be
// called more than once.
type Subscription struct {
	hub     *Hub
	token   string
	th      [32]byte    // the token's hash
	startBy time.Time   // reserved at, plus the Hub's StartWait
	p       *poller     // nil until Join
	f       *feedPoller // nil until JoinFeed
	late    bool        // joined f before its first answer: no event id it sent can be its
	since   int         // the reads p had started when s joined it
	once    sync.Once
}

// life is the life of the poller s joined, or nil. The Hub's mutex is held.
func (s *Subscription) life() *life {
	switch {
	case s.p != nil:
		return &s.p.life
	case s.f != nil:
		return &s.f.life
	}
	return nil
}

// Join attaches a reserved subscription to the poller of (org, run),
// starting one if none runs. Call it once. It refuses with ErrShuttingDown.
func (s *Subscription) Join(org, run int64) error { return s.hub.join(s, org, run) }

// StartBy is when the stream should start whatever the upstream has
// answered: the Hub's StartWait after Reserve. Ready returns by then.
func (s *Subscription) StartBy() time.Time { return s.startBy }

// Close gives back the place and leaves the poller; the last subscriber to
// leave idles it and stops it after the Hub's Linger.
func (s *Subscription) Close() { s.once.Do(func() { s.hub.release(s) }) }

// Ready waits for the poller's first answer, until StartBy at the latest
// (so one StartWait bounds everything before the stream starts), and returns its fatal error, such as a 404 for an unknown run,
// so that the caller can answer with a plain HTTP error before starting the
// stream. A transient failure, or no answer yet, is not an error: the
// stream starts and reports it. It returns ctx's error if ctx ends first.
func (s *Subscription) Ready(ctx context.Context) error {
	t := time.NewTimer(time.Until(s.startBy))
	defer t.Stop()
	for {
		answered, changed, fatal := s.answered()
		if fatal != nil {
			return fatal
		}
		if answered {
			return nil
		}
		select {
		case <-changed:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// answered reports whether the poller s joined has answered (or failed)
// yet, when that may change, and its fatal error.
func (s *Subscription) answered() (answered bool, changed <-chan struct{}, fatal error) {
	if s.f != nil {
		return s.f.answered()
	}
	v := s.p.view(0)
	return v.statusV > 0 || v.troubleV > 0, v.changed, v.fatal
}

// errHistoryGone means upstream no longer has log positions it once had.
var errHistoryGone = errors.New("the run's earlier logs are no longer available")

// now is a closed channel: a select on it goes on at once.
var now = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// cursor is where a subscriber stands: the next log position to send, the
// status and trouble versions it has sent, and its failed refetches in a row.
type cursor struct {
	pos, statusV, troubleV, failures int
}

// Run streams to w from log position from: a comment at once if the poller
// has not answered yet, a status event first and on every change, every log
// (those older than the poller's history read from upstream a page at a
// time), an error event for upstream trouble, and heartbeats. It returns
// when the run is done (after the done event), on a fatal error (after an
// error event), when the Hub shuts down (after an error event telling the
// client to reconnect), or when ctx ends or the client stops reading. render
// turns an error into event data.
func (s *Subscription) Run(ctx context.Context, w *Writer, from int, heartbeat time.Duration, render func(error) []byte) {
	c := cursor{pos: from}
	if v := s.p.view(from); v.statusV == 0 && v.troubleV == 0 && v.fatal == nil {
		w.Waiting()
	}
	s.serve(ctx, w, heartbeat, render, func(ctx context.Context) (<-chan struct{}, <-chan time.Time, bool) {
		return s.step(ctx, w, &c, s.p.view(c.pos), render)
	})
}

// serve is the loop of both kinds of stream: it calls step, which queues
// what there is to send and returns what to wait for next (a change, or a
// retry time), or end when the stream is over, flushes w, and waits, with
// a ping every heartbeat. It returns when step ends the stream, when the
// client stops reading, or when ctx ends or the Hub shuts down (after the
// event ending queues).
func (s *Subscription) serve(ctx context.Context, w *Writer, heartbeat time.Duration, render func(error) []byte,
	step func(ctx context.Context) (wake <-chan struct{}, retry <-chan time.Time, end bool)) {
	if heartbeat <= 0 {
		heartbeat = 15 * time.Second
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	// Shutdown ends every wait, a refetch's or its budget's included, so
	// that each stream gets its last event.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.hub.stopping, cancel)()
	for {
		wake, retry, end := step(ctx)
		if end {
			w.Flush() //nolint:errcheck // the stream ends either way
			return
		}
		if w.Flush() != nil {
			return
		}
		select {
		case <-wake:
		case <-retry:
		case <-beat.C:
			w.Ping()
		case <-ctx.Done(): // the client left, or the Hub shuts down
			s.ending(w, render)
			w.Flush() //nolint:errcheck // the stream ends either way
			return
		}
	}
}

// ending queues, when the Hub is shutting down, the error event that tells
// the client to reconnect; when the client left, there is nothing to say.
func (s *Subscription) ending(w *Writer, render func(error) []byte) {
	select {
	case <-s.hub.closing:
		w.Event("error", render(ErrShuttingDown))
	default:
	}
}

// step queues what v holds for c and moves c on. It returns what to wait
// for next (a change, or a refetch's retry time), or end when the stream is
// over.
func (s *Subscription) step(ctx context.Context, w *Writer, c *cursor, v view, render func(error) []byte) (wake <-chan struct{}, retry <-chan time.Time, end bool) {
	if v.statusV != c.statusV {
		w.Event("status", v.event)
		c.statusV = v.statusV
	}
	if v.troubleV != c.troubleV {
		if v.trouble != nil {
			w.Event("error", render(v.trouble))
		}
		c.troubleV = v.troubleV
	}
	switch {
	case v.fatal != nil:
		w.Event("error", render(v.fatal))
		return nil, nil, true
	case c.pos < v.base:
		err := s.refetch(ctx, w, &c.pos, v.base)
		switch {
		case err == nil:
			c.failures = 0
			return now, nil, false
		case ctx.Err() != nil:
			s.ending(w, render)
			return nil, nil, true
		case isFatal(err), errors.Is(err, errHistoryGone):
			w.Event("error", render(err))
			return nil, nil, true
		}
		c.failures++
		w.Event("error", render(err))
		return nil, time.After(retryWait(s.p.budget, err, c.failures, s.hub.interval())), false
	}
	for i, l := range v.logs {
		w.Log(c.pos+i, l)
	}
	c.pos += len(v.logs)
	if v.done && c.pos >= v.total && s.fresh() { // else the poller reads again: the run may have been resumed
		w.Event("done", v.final)
		return nil, nil, true
	}
	return v.changed, nil, false
}

// refetch reads from upstream the page at *pos, which the poller's history
// no longer holds (it starts at base), within the token's budget, sends it,
// and moves *pos past it. Only one page is held at a time.
func (s *Subscription) refetch(ctx context.Context, w *Writer, pos *int, base int) error {
	p := s.p
	if err := p.budget.wait(ctx); err != nil {
		return err
	}
	body, err := p.hub.Client.RunLogs(codegen.WithPriority(ctx, codegen.PriorityStream), p.token, p.org, p.run,
		codegen.LogsParams{PageParams: codegen.PageParams{Skip: *pos, Limit: min(pageSize, base-*pos)}})
	p.hub.polls.Add(1)
	if err != nil {
		return err
	}
	var page codegen.RawRunLogs
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("%w: decoding logs: %w", codegen.ErrBadResponse, err)
	}
	if len(page.Logs) == 0 {
		return fmt.Errorf("%w: %w: none at position %d", codegen.ErrBadResponse, errHistoryGone, *pos)
	}
	for _, l := range page.Logs {
		w.Log(*pos, l)
		*pos++
	}
	return nil
}
