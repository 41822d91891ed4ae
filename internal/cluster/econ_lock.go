package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The fill lock lets one replica at a time make the upstream call for a
// missing entry: a SET NX PX key that the holder extends every third of
// LockTTL for as long as it fetches, and releases when done.

// tryLock takes the fill lock and returns its value, or "" if another
// replica holds it or Redis did not answer.
func (s *CacheStore) tryLock(ctx context.Context, key string) string {
	cl := s.Client
	v := randomValue()
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	ok, err := cl.rdb.SetNX(ctx, key, v, s.lockTTL()).Result()
	if cl.note(err) != nil || !ok {
		return ""
	}
	return v
}

// holdLock extends the fill lock every third of LockTTL, while it is
// still mine, until stop is called.
func (s *CacheStore) holdLock(ctx context.Context, lock, mine string) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.lockTTL() / 3)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cl := s.Client
			rctx, cancel := cl.callCtx(ctx)
			cl.note(renewLease.Run(rctx, cl.rdb, []string{lock}, mine, s.lockTTL().Milliseconds()).Err())
			cancel()
		}
	}()
	return func() { close(quit); <-done }
}

// unlock releases the fill lock if it is still ours, even when ctx ended.
func (s *CacheStore) unlock(ctx context.Context, lock, mine string) {
	cl := s.Client
	ctx, cancel := cl.callCtx(context.WithoutCancel(ctx))
	defer cancel()
	cl.note(releaseLease.Run(ctx, cl.rdb, []string{lock}, mine).Err())
}

// invalidate drops all of tok's shared entries at once, by moving its
// generation on.
func (s *CacheStore) invalidate(ctx context.Context, tok TokenHash) error {
	cl := s.Client
	ctx, cancel := cl.callCtx(ctx)
	defer cancel()
	// The generation outlives any entry by far; then it may start again.
	_, err := cl.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, s.genKey(tok))
		p.Expire(ctx, s.genKey(tok), 24*time.Hour)
		return nil
	})
	return cl.note(err)
}

func (s *CacheStore) genKey(tok TokenHash) string {
	return s.Client.prefix() + "gen:{" + tok.String() + "}"
}

func (s *CacheStore) entryKey(tok TokenHash, gen uint64, name string) string {
	return s.Client.prefix() + "rest:{" + tok.String() + "}:" + strconv.FormatUint(gen, 10) + ":" + nameHash(name)
}

func (s *CacheStore) lockKey(tok TokenHash, gen uint64, name string) string {
	return s.Client.prefix() + "restfill:{" + tok.String() + "}:" + strconv.FormatUint(gen, 10) + ":" + nameHash(name)
}

// nameHash keeps key names short whatever the read's parameters.
func nameHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:16])
}

func (s *CacheStore) maxValue() int {
	if s.MaxValueBytes > 0 {
		return s.MaxValueBytes
	}
	return 1 << 20
}

func (s *CacheStore) lockTTL() time.Duration { return orDefault(s.LockTTL, 5*time.Second) }
func (s *CacheStore) poll() time.Duration    { return orDefault(s.Poll, 20*time.Millisecond) }
