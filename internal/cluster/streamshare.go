package cluster

import (
	"context"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// StreamShare is the shared store of a stream.Hub (stream.Shared) on
// Redis: a lease per run or runs feed, the run's logs or the feed's events
// in a History each, and the small state beside them. Client is required;
// Logs and Feed bound the two kinds of history (a nil one is a History on
// Client with its defaults). It is safe for concurrent use.
type StreamShare struct {
	Client *Client
	Logs   *History
	Feed   *History
	// LeaseTTL is how long a lease lasts without renewal: a crashed
	// leader's successor takes over after about 1.2 times as long. If zero,
	// 3 seconds.
	LeaseTTL time.Duration
}

var _ stream.Shared = (*StreamShare)(nil)

// Healthy reports whether Redis answered the last call or check.
func (s *StreamShare) Healthy() bool { return s.Client.Healthy() }

// Hold contends for sc's lease; see Lease.Hold.
func (s *StreamShare) Hold(ctx context.Context, sc stream.Scope, lead func(context.Context, stream.Leader)) error {
	ttl := s.LeaseTTL
	if ttl <= 0 {
		ttl = 3 * time.Second
	}
	l := s.Client.Lease(scopeOf(sc), ttl)
	h := s.history(sc)
	return l.Hold(ctx, func(ctx context.Context) { lead(ctx, leader{h, l}) })
}

// Read reads sc's history from position from on.
func (s *StreamShare) Read(ctx context.Context, sc stream.Scope, from, count int) (int, [][]byte, error) {
	p, err := s.history(sc).Read(ctx, scopeOf(sc), from, count)
	return p.From, p.Entries, err
}

// Meta reads sc's state.
func (s *StreamShare) Meta(ctx context.Context, sc stream.Scope) ([]byte, error) {
	return s.history(sc).Meta(ctx, scopeOf(sc))
}

// Watch watches sc's history.
func (s *StreamShare) Watch(sc stream.Scope) (<-chan struct{}, func()) {
	w := s.Client.Watch(scopeOf(sc))
	return w.C, w.Close
}

func (s *StreamShare) history(sc stream.Scope) *History {
	h := s.Logs
	if sc.Feed {
		h = s.Feed
	}
	if h == nil {
		h = &History{Client: s.Client}
	}
	return h
}

func scopeOf(sc stream.Scope) Scope {
	if sc.Feed {
		return FeedScope(sc.Token, sc.Org)
	}
	return RunScope(sc.Token, sc.Org, sc.Run)
}

// leader writes one scope's history under one lease.
type leader struct {
	h *History
	l *Lease
}

func (w leader) Append(ctx context.Context, pos int, entries [][]byte) (int, error) {
	return w.h.Append(ctx, w.l, pos, entries)
}

func (w leader) Clear(ctx context.Context) error { return w.h.Clear(ctx, w.l) }

func (w leader) SetMeta(ctx context.Context, data []byte) error {
	return w.h.SetMeta(ctx, w.l, data)
}

func (w leader) Finish(ctx context.Context) error { return w.h.Finish(ctx, w.l) }
