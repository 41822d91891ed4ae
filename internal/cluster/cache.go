package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors of Cache.Set: the value is not kept.
var (
	// ErrTooLarge is a cache value over MaxValueBytes.
	ErrTooLarge = errors.New("cluster: cache value too large")
	// ErrNoTTL is a ttl of zero or less: Redis would keep the value for
	// ever.
	ErrNoTTL = errors.New("cluster: cache ttl must be positive")
)

// Cache keeps each token's answers in Redis with a TTL, and lets one replica
// fetch a missing answer while the others wait for it, under a lock that the
// fetching replica extends for as long as it fetches.
// Entries are named by the token's hash, a generation that Invalidate moves
// on, and the SHA-256 of the read's name. Client is required; the other
// fields have useful zero values. It is safe for concurrent use.
type Cache struct {
	Client *Client
	// MaxValueBytes bounds one value; larger ones are served but not kept.
	// If zero, 1 MiB.
	MaxValueBytes int
	// LockTTL is how long the fetch lock lasts unless the replica holding
	// it, still fetching, extends it (every third of LockTTL): a replica
	// that dies while fetching holds the others back this long at most. If
	// zero, 5 seconds.
	LockTTL time.Duration
	// Poll is how often a waiting replica looks for the answer. If zero,
	// 20 milliseconds.
	Poll time.Duration
}

// Outcome says where Fetch's answer came from.
type Outcome uint8

const (
	Hit    Outcome = iota // kept in Redis
	Miss                  // fetched by this call
	Shared                // fetched by another replica, waited for
)

// A kept value starts with a tag: an answer, or a mark that the last fetch
// gave an answer that cannot be kept (an error, or too large), which sends
// the waiting replicas to fetch for themselves.
const (
	tagAnswer      = '='
	tagUncacheable = '!'
)

// Get returns tok's value for name, if kept.
func (c *Cache) Get(ctx context.Context, tok TokenHash, name string) ([]byte, bool, error) {
	key, err := c.key(ctx, tok, name)
	if err != nil {
		return nil, false, err
	}
	v, ok, _, err := c.lookup(ctx, key)
	return v, ok, err
}

// lookup reads key: ok if it keeps an answer, skip if it keeps the mark
// that the answer cannot be kept.
func (c *Cache) lookup(ctx context.Context, key string) (v []byte, ok, skip bool, err error) {
	cl := c.Client
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	v, err = cl.rdb.Get(ctx, key).Bytes()
	if errors.Is(cl.note(err), redis.Nil) {
		return nil, false, false, nil
	}
	if err != nil || len(v) == 0 {
		return nil, false, false, err
	}
	return v[1:], v[0] == tagAnswer, v[0] == tagUncacheable, nil
}

// Set keeps val as tok's value for name for ttl, which must be positive.
func (c *Cache) Set(ctx context.Context, tok TokenHash, name string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return ErrNoTTL
	}
	if len(val) > c.maxValue() {
		return ErrTooLarge
	}
	key, err := c.key(ctx, tok, name)
	if err != nil {
		return err
	}
	return c.set(ctx, key, val, ttl)
}

func (c *Cache) set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if len(val) > c.maxValue() {
		return ErrTooLarge
	}
	cl := c.Client
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	return cl.note(cl.rdb.Set(ctx, key, append([]byte{tagAnswer}, val...), ttl).Err())
}

// markUncacheable tells the replicas waiting on key to fetch for
// themselves; it never replaces an answer.
func (c *Cache) markUncacheable(ctx context.Context, key string, ttl time.Duration) {
	cl := c.Client
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	cl.note(cl.rdb.SetNX(ctx, key, []byte{tagUncacheable}, min(ttl, c.lockTTL())).Err())
}

// Fetch returns tok's value for name: the kept one, or the answer of the
// one replica that holds the fetch lock, waited for as long as that replica
// extends the lock, or else it calls fetch itself and keeps the answer for
// ttl. Errors of fetch and values over MaxValueBytes are returned, not
// kept: a mark kept instead for ttl or LockTTL, whichever is shorter, sends
// the waiting replicas to fetch for themselves. While the Client is
// degraded it calls fetch without asking Redis; when Redis stops answering
// it waits at most one Timeout before it does. A ttl of zero or less keeps
// nothing: Fetch then only calls fetch.
func (c *Cache) Fetch(ctx context.Context, tok TokenHash, name string, ttl time.Duration,
	fetch func(context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	if ttl <= 0 || !c.Client.Healthy() {
		v, err := fetch(ctx)
		return v, Miss, err
	}
	// The generation is read once: an answer fetched before an Invalidate
	// is kept under the generation it belongs to, where nobody reads it.
	key, err := c.key(ctx, tok, name)
	if err != nil {
		v, err := fetch(ctx)
		return v, Miss, err
	}
	lock := c.Client.prefix() + "lock:" + strings.TrimPrefix(key, c.Client.prefix()+"cache:")
	tick := time.NewTicker(c.poll())
	defer tick.Stop()
	for waited := false; ; waited = true {
		v, ok, skip, err := c.lookup(ctx, key)
		switch {
		case ok && waited:
			return v, Shared, nil
		case ok:
			return v, Hit, nil
		case skip || err != nil:
			return c.fetchAndKeep(ctx, key, ttl, fetch)
		}
		if mine := c.tryLock(ctx, lock); mine != "" {
			return c.fetchLocked(ctx, key, ttl, fetch, lock, mine)
		}
		select {
		case <-ctx.Done():
			return nil, Miss, ctx.Err()
		case <-tick.C:
		}
	}
}

// fetchLocked fetches under the lock mine holds, extending it meanwhile,
// and releases it.
func (c *Cache) fetchLocked(ctx context.Context, key string, ttl time.Duration,
	fetch func(context.Context) ([]byte, error), lock, mine string) ([]byte, Outcome, error) {
	defer c.unlock(ctx, lock, mine)
	// The holder before us may have kept the answer just now.
	if v, ok, _, _ := c.lookup(ctx, key); ok {
		return v, Shared, nil
	}
	stop := c.holdLock(ctx, lock, mine)
	defer stop()
	return c.fetchAndKeep(ctx, key, ttl, fetch)
}

// fetchAndKeep calls fetch and keeps its answer, or the mark that it cannot
// be kept.
func (c *Cache) fetchAndKeep(ctx context.Context, key string, ttl time.Duration,
	fetch func(context.Context) ([]byte, error)) ([]byte, Outcome, error) {
	v, err := fetch(ctx)
	if err == nil {
		err = c.set(ctx, key, v, ttl)
		if !errors.Is(err, ErrTooLarge) {
			return v, Miss, nil
		}
		err = nil
	} else if ctx.Err() != nil {
		return v, Miss, err // the caller went away: that says nothing of the answer
	}
	c.markUncacheable(context.WithoutCancel(ctx), key, ttl)
	return v, Miss, err
}

// holdLock extends the fetch lock every third of LockTTL, while it is
// still mine, until stop is called.
func (c *Cache) holdLock(ctx context.Context, lock, mine string) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(c.lockTTL() / 3)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cl := c.Client
			rctx, cancel := cl.callCtx(ctx)
			cl.note(renewLease.Run(rctx, cl.rdb, []string{lock}, mine, c.lockTTL().Milliseconds()).Err())
			cancel()
		}
	}()
	return func() { close(quit); <-done }
}

// unlock releases the fetch lock if it is still ours, even when ctx ended.
func (c *Cache) unlock(ctx context.Context, lock, mine string) {
	cl := c.Client
	ctx, cancel := cl.callCtx(context.WithoutCancel(ctx))
	defer cancel()
	cl.note(releaseLease.Run(ctx, cl.rdb, []string{lock}, mine).Err())
}

// tryLock takes the fetch lock and returns its value, or "" if another
// replica holds it or Redis did not answer.
func (c *Cache) tryLock(ctx context.Context, key string) string {
	cl := c.Client
	v := randomValue()
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	ok, err := cl.rdb.SetNX(ctx, key, v, c.lockTTL()).Result()
	if cl.note(err) != nil || !ok {
		return ""
	}
	return v
}

// Invalidate drops all of tok's values at once, by moving its generation on.
func (c *Cache) Invalidate(ctx context.Context, tok TokenHash) error {
	cl := c.Client
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	// The generation outlives any entry by far; then it may start again.
	_, err := cl.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, c.genKey(tok))
		p.Expire(ctx, c.genKey(tok), 24*time.Hour)
		return nil
	})
	return cl.note(err)
}

// key names tok's value for name in its current generation.
func (c *Cache) key(ctx context.Context, tok TokenHash, name string) (string, error) {
	cl := c.Client
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	gen, err := cl.rdb.Get(ctx, c.genKey(tok)).Int64()
	if err != nil && !errors.Is(cl.note(err), redis.Nil) {
		return "", err
	}
	return cl.prefix() + "cache:{" + tok.String() + "}:" + strconv.FormatInt(gen, 10) + ":" + nameHash(name), nil
}

func (c *Cache) genKey(tok TokenHash) string { return c.Client.prefix() + "gen:{" + tok.String() + "}" }

// nameHash keeps key names short whatever the read's parameters.
func nameHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:16])
}

func (c *Cache) maxValue() int {
	if c.MaxValueBytes > 0 {
		return c.MaxValueBytes
	}
	return 1 << 20
}

func (c *Cache) lockTTL() time.Duration { return orDefault(c.LockTTL, 5*time.Second) }
func (c *Cache) poll() time.Duration    { return orDefault(c.Poll, 20*time.Millisecond) }
