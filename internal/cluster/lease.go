package cluster

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// renewLease extends the lease only while it still holds our value.
var renewLease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseLease deletes the lease only while it still holds our value, so a
// holder that lost it never deletes its successor's, and tells the scope's
// watchers (ARGV[2]), among them the contenders, that it is free.
var releaseLease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
`)

// Lease is one replica's claim to be the single poller of a scope,
// cluster-wide. Only replicas with a local subscriber should contend.
// Create it with Client.Lease; the zero value is not usable. A Lease is safe
// for concurrent use, but Hold runs one at a time.
type Lease struct {
	c     *Client
	scope Scope
	key   string
	value string
	ttl   time.Duration
}

// Lease returns a claim on s that lasts ttl unless renewed (if zero, 5
// seconds). Its value is random, so it is this Lease's alone.
func (c *Client) Lease(s Scope, ttl time.Duration) *Lease {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	return &Lease{c: c, scope: s, key: c.scoped("lease", s), value: c.opt.Replica + ":" + randomValue(), ttl: ttl}
}

// Value is what the lease key holds while this Lease holds it; History
// appends check it.
func (l *Lease) Value() string { return l.value }

// Acquire takes the lease if nobody holds it (SET NX PX) and reports
// whether it did.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	ctx, cancel := l.c.callCtx(ctx)
	defer cancel()
	ok, err := l.c.rdb.SetNX(ctx, l.key, l.value, l.ttl).Result()
	return ok, l.c.note(err)
}

// Renew extends the lease by its ttl if this Lease still holds it, and
// reports whether it did; false means another replica holds it now, or
// nobody does, and the holder must step down.
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	ctx, cancel := l.c.callCtx(ctx)
	defer cancel()
	n, err := renewLease.Run(ctx, l.c.rdb, []string{l.key}, l.value, l.ttl.Milliseconds()).Int()
	return n == 1, l.c.note(err)
}

// Release gives the lease up if this Lease holds it, so that another
// replica can take it at once: a graceful handover.
func (l *Lease) Release(ctx context.Context) error {
	ctx, cancel := l.c.callCtx(ctx)
	defer cancel()
	return l.c.note(releaseLease.Run(ctx, l.c.rdb, []string{l.key}, l.value, l.c.scoped("notify", l.scope)).Err())
}

// Hold contends for the lease until ctx ends. Each time it gets the lease
// it calls lead with a context that is cancelled when the lease is lost,
// renews the lease every third of its ttl meanwhile, and steps down (cancels
// lead and waits for it) when a renewal finds the lease taken, or two thirds
// of the ttl after sending the last request that extended it, before
// another replica could take it. A renewal is bounded by that deadline, not
// only by the Timeout, so a Redis that stops answering cannot keep it
// leading past it. When lead returns by itself or ctx ends, Hold releases
// the lease; in the first case it returns too. Contenders retry every fifth
// of the ttl, so a crashed holder's lease is taken within about 1.2 ttl, and
// at once when the holder releases it (Release notifies the scope's
// watchers).
func (l *Lease) Hold(ctx context.Context, lead func(ctx context.Context)) error {
	retry := time.NewTicker(l.ttl / 5)
	defer retry.Stop()
	released := l.c.Watch(l.scope)
	defer released.Close()
	refused := false
	for {
		sent := time.Now()
		ok, err := l.Acquire(ctx)
		if ok {
			if refused {
				l.c.met.takeover()
			}
			if finished := l.lead(ctx, sent, lead); finished {
				return nil
			}
		}
		refused = refused || (err == nil && !ok)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-retry.C:
		case <-released.C:
		}
	}
}

// lead runs lead while the lease is held, and reports whether lead
// returned by itself. The lease is released unless it was lost. sent is
// when the request that took the lease was sent: the lease lasts at least
// ttl from then, on any clock that runs at the server's pace.
func (l *Lease) lead(ctx context.Context, sent time.Time, lead func(ctx context.Context)) (finished bool) {
	l.c.met.leaseHeld(1)
	defer l.c.met.leaseHeld(-1)
	leadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan struct{})
	go func() { defer close(ended); lead(leadCtx) }()
	renew := time.NewTicker(l.ttl / 3)
	defer renew.Stop()
	stepDown := sent.Add(2 * l.ttl / 3)
	deadline := time.NewTimer(time.Until(stepDown))
	defer deadline.Stop()
	for {
		select {
		case <-ended:
			l.release()
			// lead may have returned because ctx ended: then so does Hold.
			return ctx.Err() == nil
		case <-ctx.Done():
			cancel()
			<-ended
			l.release()
			return false
		case <-deadline.C:
		case <-renew.C:
			if at, ok, err := l.renewBy(ctx, stepDown); ok {
				stepDown = at.Add(2 * l.ttl / 3)
				deadline.Reset(time.Until(stepDown))
				continue
			} else if err != nil && time.Now().Before(stepDown) {
				continue // no answer yet: the next tick tries again
			}
		}
		cancel()
		<-ended
		l.release() // in case it is still ours after all: the script checks
		return false
	}
}

// renewBy renews the lease with a call that ends by stepDown at the latest,
// and returns when the request was sent.
func (l *Lease) renewBy(ctx context.Context, stepDown time.Time) (sent time.Time, ok bool, err error) {
	ctx, cancel := context.WithDeadline(ctx, stepDown)
	defer cancel()
	sent = time.Now()
	ok, err = l.Renew(ctx)
	return sent, ok, err
}

// release gives the lease up even when the caller's context has ended.
func (l *Lease) release() {
	ctx, cancel := context.WithTimeout(context.Background(), l.c.timeout())
	defer cancel()
	l.Release(ctx)
}
