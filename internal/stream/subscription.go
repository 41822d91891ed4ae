package stream

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Subscription is one client's place in a shared poller. It is used by one
// goroutine; Close may be called more than once.
type Subscription struct {
	hub  *Hub
	p    *poller
	once sync.Once
}

// Close leaves the poller; the last subscriber to leave stops it after the
// Hub's Linger.
func (s *Subscription) Close() { s.once.Do(func() { s.hub.release(s.p) }) }

// Ready waits for the poller's first answer and returns its fatal error,
// such as a 404 for an unknown run, so that the caller can answer with a
// plain HTTP error before starting the stream. A transient failure is not
// returned: the stream starts and reports it as an event.
func (s *Subscription) Ready(ctx context.Context) error {
	for {
		v := s.p.view(0)
		if v.fatal != nil {
			return v.fatal
		}
		if v.statusV > 0 || v.troubleV > 0 {
			return nil
		}
		select {
		case <-v.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Run streams to w from log position from: a status event first and on
// every change, every log as it arrives, an error event for upstream
// trouble, and heartbeats. It returns when the run is done (after the done
// event), on a fatal error (after an error event), when the Hub shuts down
// (after an error event telling the client to reconnect), or when ctx ends
// or the client stops reading. render turns an error into event data.
func (s *Subscription) Run(ctx context.Context, w *Writer, from int, heartbeat time.Duration, render func(error) []byte) {
	if heartbeat <= 0 {
		heartbeat = 15 * time.Second
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	cursor, statusV, troubleV := from, 0, 0
	for {
		v := s.p.view(cursor)
		if v.statusV != statusV {
			w.Event("status", v.event)
			statusV = v.statusV
		}
		for i, l := range v.logs {
			w.Log(cursor+i, l)
		}
		cursor += len(v.logs)
		if v.troubleV != troubleV {
			if v.trouble != nil {
				w.Event("error", render(v.trouble))
			}
			troubleV = v.troubleV
		}
		switch {
		case v.fatal != nil:
			w.Event("error", render(v.fatal))
			w.Flush() //nolint:errcheck // the stream ends either way
			return
		case v.done && cursor >= v.total:
			w.Event("done", v.final)
			w.Flush() //nolint:errcheck // the stream ends either way
			return
		}
		if w.Flush() != nil {
			return
		}
		select {
		case <-v.changed:
		case <-beat.C:
			w.Ping()
		case <-ctx.Done():
			return
		case <-s.hub.closing:
			w.Event("error", render(ErrShuttingDown))
			w.Flush() //nolint:errcheck // the stream ends either way
			return
		}
	}
}

// view is a consistent look at a poller's state from one position on.
type view struct {
	logs     []json.RawMessage // positions from, from+1, ...
	total    int
	statusV  int
	event    []byte
	troubleV int
	trouble  error
	fatal    error
	done     bool
	final    []byte
	changed  <-chan struct{}
}

// view returns the state, sharing log entries, which are never changed.
func (p *poller) view(from int) view {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := view{total: len(p.logs), statusV: p.statusV, event: p.event, troubleV: p.troubleV, trouble: p.trouble,
		fatal: p.fatal, done: p.done, final: p.final, changed: p.changed}
	if from < len(p.logs) {
		v.logs = p.logs[from:len(p.logs):len(p.logs)]
	}
	return v
}
