// Package stream serves agent-run logs as Server-Sent Events with one shared
// upstream poller per (token, organization, run), waits on those pollers
// for a run to settle, and serves an organization's runs feed with one
// shared poller per (token, organization).
//
// Every subscriber to a run with the same token shares one poller, which
// pages through the Codegen logs endpoint into a bounded in-memory history
// (the latest entries); each subscriber sends from its own position, and one
// whose position is older than the history reads those entries from upstream
// itself, a page at a time, within the token's budget. Different tokens
// never share a poller, a history or a budget. Pollers start with their
// first subscriber, make no upstream call while nobody is subscribed, stop
// shortly after their last subscriber leaves, and never outlive Close. A
// waiter (Subscription.Wait) is a subscriber of a run's poller like a
// stream, so a thousand waiters on one run cost the upstream what one
// stream does. Log and feed pollers of one token share its budget, and
// every subscription of either kind counts against the same limits.
//
// With a Shared store (Redis, for replicas behind a balancer), the pollers
// of one (token, organization, run) or runs feed on every replica share
// too: the one replica holding the scope's lease polls upstream and writes
// the shared history, the others serve their subscribers from it, and a
// replica that cannot reach the store polls alone until it can (share.go).
package stream

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Errors returned by Subscribe.
var (
	// ErrShuttingDown: Shutdown has begun.
	ErrShuttingDown = errors.New("stream: the server is shutting down")
	// ErrTooManyStreams: the token already has MaxPerToken streams open.
	ErrTooManyStreams = errors.New("stream: too many open streams for this token")
	// ErrStreamsFull: MaxStreams streams are open in all.
	ErrStreamsFull = errors.New("stream: the server has too many open streams")
)

// Hub owns the pollers. Client is required; every other field has a useful
// zero value. Fields must not change after the first Subscribe. A Hub is safe
// for concurrent use.
type Hub struct {
	// Client reads the logs and runs upstream.
	Client *codegen.Client
	// Interval is the base time between polls of one run: after new
	// activity a poller polls twice as often, and when idle it slows down
	// to 2.5 times as long. If zero, 2 seconds.
	Interval time.Duration
	// Budget is how many upstream log reads per minute one token's pollers
	// may make together; the API allows 60. If zero, 50.
	Budget int
	// Linger is how long a poller outlives its last subscriber, so a
	// reconnecting client finds it warm. If zero, 1 second.
	Linger time.Duration
	// MaxPerToken bounds the streams one token may have open at once;
	// Subscribe refuses more with ErrTooManyStreams. If zero, 100.
	MaxPerToken int
	// MaxStreams bounds the streams open at once in all; Subscribe refuses
	// more with ErrStreamsFull. If zero, 5000.
	MaxStreams int
	// HistoryEntries and HistoryBytes bound the log entries one poller
	// keeps (the latest ones); older positions are read from upstream by
	// the subscriber that needs them. If zero, 1000 entries and 256 KiB.
	HistoryEntries int
	HistoryBytes   int
	// StartWait bounds the wait, from Reserve, before a stream starts
	// (see Subscription.StartBy): Ready waits that long at most for a new
	// poller's first answer before letting the stream start without it,
	// so that a stream whose poller waits for budget, or whose caller
	// waited for something else first, still gets its headers promptly.
	// If zero, 500 ms.
	StartWait time.Duration
	// FeedRuns is how many of the newest runs a runs feed poller reads per
	// poll (one upstream call). If zero, 20.
	FeedRuns int
	// FeedHistoryEntries and FeedHistoryBytes bound the run events one
	// feed poller keeps for resumes (the latest ones); a resume from an
	// older event gets a reset and a snapshot. If zero, 500 events and
	// 1 MiB.
	FeedHistoryEntries int
	FeedHistoryBytes   int
	// Logger receives poller errors. If nil, they are not logged.
	Logger *slog.Logger
	// Shared, if set, is the store replicas share (REDIS_URL): each run's
	// and feed's poller runs on one replica at a time, among those with a
	// subscriber, and the others serve their subscribers from the shared
	// history. If nil, every poller works alone, in memory.
	Shared Shared

	mu         sync.Mutex
	pollers    map[key]*poller
	feeds      map[feedKey]*feedPoller
	budgets    map[[32]byte]*budget
	subsBy     map[[32]byte]int // open subscriptions per token hash
	subs       int              // open subscriptions in all
	stopping   context.Context  // cancelled by Shutdown
	stop       context.CancelFunc
	closing    <-chan struct{} // stopping.Done()
	wg         sync.WaitGroup
	initOnce   sync.Once
	polls      atomic.Int64 // upstream log reads made
	feedPolls  atomic.Int64 // upstream run list reads made by feed pollers
	pollsSaved atomic.Int64 // reads avoided by sharing: subscribers served beyond the first, per read
	idled      atomic.Int64 // times a poller stopped to wait for a subscriber
}

// key names a poller. The token is kept as a hash so that it is never a map
// key, a label or a log field.
type key struct {
	token    [32]byte
	org, run int64
}

func (h *Hub) init() {
	h.initOnce.Do(func() {
		h.pollers = map[key]*poller{}
		h.feeds = map[feedKey]*feedPoller{}
		h.budgets = map[[32]byte]*budget{}
		h.subsBy = map[[32]byte]int{}
		h.stopping, h.stop = context.WithCancel(context.Background())
		h.closing = h.stopping.Done()
	})
}

// Subscribe joins the poller of (tok, org, run), starting one if none runs:
// Reserve, then Join. It refuses with ErrShuttingDown, ErrTooManyStreams or
// ErrStreamsFull. The caller must Close the returned Subscription.
func (h *Hub) Subscribe(tok string, org, run int64) (*Subscription, error) {
	s, err := h.Reserve(tok)
	if err != nil {
		return nil, err
	}
	if err := s.Join(org, run); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Reserve takes a stream's place under the limits for tok, before its
// organization and run are joined, so that a stream over the limits is
// refused before any upstream call. It refuses with ErrShuttingDown,
// ErrTooManyStreams or ErrStreamsFull. The caller must Join the returned
// Subscription before Ready and Run, and Close it.
func (h *Hub) Reserve(tok string) (*Subscription, error) {
	h.init()
	th := sha256.Sum256([]byte(tok))
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closing:
		return nil, ErrShuttingDown
	default:
	}
	switch {
	case h.subsBy[th] >= positiveOr(h.MaxPerToken, 100):
		return nil, ErrTooManyStreams
	case h.subs >= positiveOr(h.MaxStreams, 5000):
		return nil, ErrStreamsFull
	}
	h.subsBy[th]++
	h.subs++
	return &Subscription{hub: h, token: tok, th: th, startBy: time.Now().Add(h.startWait())}, nil
}

// join adds s to the poller of (org, run), starting one if none runs.
func (h *Hub) join(s *Subscription, org, run int64) error {
	k := key{s.th, org, run}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closing:
		return ErrShuttingDown
	default:
	}
	p := h.pollers[k]
	if p != nil && p.subs == 0 && p.isDone() {
		// The run may have been resumed since it finished, and a finished
		// poller reads again only when asked: a new one follows the run.
		old := p
		p = h.startPoller(k, s.token, org, run)
		h.stopNow(&old.life) // after the start, so that the token's budget carries over
	} else if p == nil {
		p = h.startPoller(k, s.token, org, run)
	}
	h.attach(&p.life)
	s.p = p
	s.since = p.started()
	return nil
}

// startPoller creates and starts the poller for k. h.mu is held.
func (h *Hub) startPoller(k key, tok string, org, run int64) *poller {
	p := &poller{hub: h, key: k, token: tok, org: org, run: run, changed: make(chan struct{}), poke: make(chan struct{}, 1),
		maxEntries: positiveOr(h.HistoryEntries, 1000), maxBytes: positiveOr(h.HistoryBytes, 256<<10)}
	h.pollers[k] = p
	ctx := h.begin(&p.life, k.token, func() {
		if h.pollers[k] == p { // not its successor (see join)
			delete(h.pollers, k)
		}
	})
	go p.loop(ctx)
	return p
}

// Shutdown tells every subscriber to end its stream with a final event, and
// refuses new subscriptions. Call Close after the server has drained.
func (h *Hub) Shutdown() {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stop()
}

// Close shuts down, stops every poller and waits for them to return.
func (h *Hub) Close() {
	h.Shutdown()
	h.mu.Lock()
	for _, p := range h.pollers {
		h.stopNow(&p.life)
	}
	for _, f := range h.feeds {
		h.stopNow(&f.life)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// Closing is closed when Shutdown begins.
func (h *Hub) Closing() <-chan struct{} {
	h.init()
	return h.closing
}

// Pollers is the number of log pollers, running or lingering.
func (h *Hub) Pollers() int {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pollers)
}

// FeedPollers is the number of runs feed pollers, running or lingering.
func (h *Hub) FeedPollers() int {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.feeds)
}

// Subscribers is the number of open subscriptions.
func (h *Hub) Subscribers() int64 {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.subs)
}

// Polls is the number of upstream log reads the pollers have made.
func (h *Hub) Polls() int64 { return h.polls.Load() }

// FeedPolls is the number of upstream run list reads the feed pollers have
// made.
func (h *Hub) FeedPolls() int64 { return h.feedPolls.Load() }

// PollsSaved is the number of upstream log reads sharing avoided: for each
// read, the subscribers it served beyond the first.
func (h *Hub) PollsSaved() int64 { return h.pollsSaved.Load() }

func (h *Hub) interval() time.Duration  { return positiveOr(h.Interval, 2*time.Second) }
func (h *Hub) budget() int              { return positiveOr(h.Budget, 50) }
func (h *Hub) linger() time.Duration    { return positiveOr(h.Linger, time.Second) }
func (h *Hub) startWait() time.Duration { return positiveOr(h.StartWait, 500*time.Millisecond) }

// positiveOr returns v, or def when v is not positive.
func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
