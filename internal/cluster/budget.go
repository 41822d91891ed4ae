package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/time/rate"
)

// Limit is a budget class's rate: Rate calls per Period, of which Burst may
// come at once. A caller with lower priority may pass a smaller Burst on the
// same class: on the same GCRA state it is refused once only
// (full Burst - its Burst) calls or fewer are left, which keeps that many in
// reserve for the others. The zero Limit allows every call.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
	// Reserve is how many calls of Burst this caller leaves to callers
	// that leave none: it is refused once Reserve or fewer are left. It
	// does the same as a smaller Burst on the shared state, and also on a
	// degraded replica's local limiter, which is shared by the callers of
	// one class whatever their Reserve (a smaller Burst would start it
	// afresh). It is capped at Burst less one.
	Reserve int
}

// reserve is l.Reserve within [0, Burst-1].
func (l Limit) reserve() int { return max(min(l.Reserve, l.Burst-1), 0) }

// Budget paces each token's upstream calls per class on the Redis server's
// clock (GCRA, github.com/go-redis/redis_rate), so that all replicas
// together keep within one budget. While Redis is unreachable each replica
// paces on a local limiter at the rate divided by the last known number of
// replicas, and the burst divided by it, rounded down: right after Redis is
// lost the replicas together allow at most Burst calls at once. When Burst
// is smaller than the number of replicas, each allows one call per its
// share of the rate, so after a quiet spell they may together allow one
// call each at once. Client is required; MaxLocal has a useful zero value. It is safe
// for concurrent use.
type Budget struct {
	Client *Client
	// MaxLocal bounds the local limiters kept for the fallback (one per
	// token and class), and apart from them the local record of pauses;
	// past it the limiters are all dropped and start afresh, and the pauses
	// that ran out are dropped (or all, if none has). If zero, 10000.
	MaxLocal int

	once    sync.Once
	limiter *redis_rate.Limiter
	mu      sync.Mutex
	local   map[localKey]*localLimiter
	pauses  map[localKey]time.Time // until when
}

type localKey struct {
	tok   TokenHash
	class string
}

type localLimiter struct {
	lim      *rate.Limiter
	replicas int
	limit    Limit // Reserve left out
}

// Allow counts one call of class by tok if the budget has room, and
// reports whether it did; if not, retryAfter is how long until it will.
// It never fails because of Redis: it falls back to the local limiter.
func (b *Budget) Allow(ctx context.Context, tok TokenHash, class string, l Limit) (ok bool, retryAfter time.Duration) {
	b.once.Do(func() { b.limiter = redis_rate.NewLimiter(b.Client.rdb) })
	if d := b.pausedFor(localKey{tok, class}); d > 0 {
		return false, d
	}
	c := b.Client
	if c.Healthy() {
		if ok, retryAfter, err := b.allowShared(ctx, tok, class, l); err == nil {
			return ok, retryAfter
		}
	}
	return b.allowLocal(tok, class, l)
}

func (b *Budget) allowShared(ctx context.Context, tok TokenHash, class string, l Limit) (bool, time.Duration, error) {
	c := b.Client
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	// A Pause (an upstream 429) holds the class back for everyone.
	paused, err := c.rdb.PTTL(ctx, b.pauseKey(tok, class)).Result()
	if c.note(err) != nil {
		return false, 0, err
	}
	if paused > 0 {
		return false, paused, nil
	}
	rl := redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst - l.reserve()}
	res, err := b.limiter.Allow(ctx, b.key(tok, class), rl)
	if c.note(err) != nil {
		return false, 0, err
	}
	if res.Allowed > 0 {
		return true, 0, nil // redis_rate says -1 for "no wait"
	}
	return false, res.RetryAfter, nil
}

// Pause holds back tok's calls of class on every replica for d, as an
// upstream 429's Retry-After asks; on this replica whether or not Redis is
// up. A d of zero or less does nothing.
func (b *Budget) Pause(ctx context.Context, tok TokenHash, class string, d time.Duration) {
	if d <= 0 {
		return
	}
	c := b.Client
	b.pauseLocal(localKey{tok, class}, time.Now().Add(d))
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	c.note(c.rdb.Set(ctx, b.pauseKey(tok, class), 1, d).Err())
}

func (b *Budget) key(tok TokenHash, class string) string {
	return b.Client.prefix() + "budget:{" + tok.String() + "}:" + class
}

func (b *Budget) pauseKey(tok TokenHash, class string) string {
	return b.Client.prefix() + "pause:{" + tok.String() + "}:" + class
}

// allowLocal paces on this replica alone, with its share of the budget.
func (b *Budget) allowLocal(tok TokenHash, class string, l Limit) (bool, time.Duration) {
	n := b.Client.Replicas()
	b.mu.Lock()
	defer b.mu.Unlock()
	k := localKey{tok, class}
	ll := b.local[k]
	shape := Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst}
	if ll == nil || ll.replicas != n || ll.limit != shape {
		if b.local == nil || len(b.local) >= b.maxLocal() {
			b.local = map[localKey]*localLimiter{}
		}
		every := l.Period * time.Duration(n) / time.Duration(max(l.Rate, 1))
		// Each replica's share of the burst rounds down, so that together
		// they keep within it. A share of nothing (fewer Burst than
		// replicas) is a burst of one that starts spent: the first call
		// waits for the replica's share of the rate.
		share := l.Burst / n
		ll = &localLimiter{lim: rate.NewLimiter(rate.Every(every), max(share, 1)), replicas: n, limit: shape}
		if share == 0 {
			ll.lim.Allow()
		}
		b.local[k] = ll
	}
	if ll.lim.Limit() == rate.Inf {
		return true, 0
	}
	// The reserve shrinks with the share, rounded up, leaving one call.
	keep := max(min((l.reserve()*ll.lim.Burst()+l.Burst-1)/max(l.Burst, 1), ll.lim.Burst()-1), 0)
	now := time.Now()
	if tokens := ll.lim.TokensAt(now); tokens < float64(1+keep) {
		secs := (float64(1+keep) - tokens) / float64(ll.lim.Limit())
		return false, max(time.Duration(secs*float64(time.Second)), time.Millisecond)
	}
	if !ll.lim.AllowN(now, 1) {
		return false, time.Millisecond
	}
	return true, 0
}

// pauseLocal records a pause on this replica, keeping the longer of two.
func (b *Budget) pauseLocal(k localKey, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pauses == nil {
		b.pauses = map[localKey]time.Time{}
	}
	if _, ok := b.pauses[k]; !ok && len(b.pauses) >= b.maxLocal() {
		now := time.Now()
		for k, t := range b.pauses {
			if !t.After(now) {
				delete(b.pauses, k)
			}
		}
		if len(b.pauses) >= b.maxLocal() {
			clear(b.pauses)
		}
	}
	if until.After(b.pauses[k]) {
		b.pauses[k] = until
	}
}

// pausedFor is how long k stays paused on this replica.
func (b *Budget) pausedFor(k localKey) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.pauses[k]
	if !ok {
		return 0
	}
	d := time.Until(until)
	if d <= 0 {
		delete(b.pauses, k)
	}
	return d
}

func (b *Budget) maxLocal() int {
	if b.MaxLocal > 0 {
		return b.MaxLocal
	}
	return 10000
}
