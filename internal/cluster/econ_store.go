package cluster

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// CacheStore is the cache.Store of replicas that share Redis: the read
// cache's entries live in Redis, where every replica finds them, for their
// freshness plus MaxStale, and one replica at a time makes the upstream
// call for a missing entry while the others wait for it (cache.Coalescer),
// under a fill lock that the fetching replica extends for as long as it
// fetches.
//
// Entries are named by the token's hash, the token's generation and a hash
// of the read's name: no token, and no read name, reaches Redis. Invalidate
// moves the generation on, which drops all of the token's entries at once,
// on every replica, whatever the prefixes: a write costs the token's other
// reads one upstream call each, which keeps Redis free of a per-token index
// of names. A read under way when the generation moves keeps nothing.
// Entries carry the storing replica's clock: replicas' clocks are taken to
// agree to well within a freshness.
//
// While Redis is unreachable the entries live in Local, this replica's
// own, as without Redis; invalidations Redis missed are made again when it
// answers (up to maxPending tokens), so a write made meanwhile is not hidden
// by an older shared entry.
//
// Client is required; the other fields have useful zero values and must
// not change after the first call. It is safe for concurrent use.
type CacheStore struct {
	Client *Client
	// MaxValueBytes bounds one encoded entry; larger ones are served but
	// not kept. If zero, 1 MiB.
	MaxValueBytes int
	// LockTTL is how long the fill lock lasts unless the replica holding
	// it, still fetching, extends it (every third of LockTTL): a replica
	// that dies while fetching holds the others back this long at most. If
	// zero, 5 seconds.
	LockTTL time.Duration
	// Poll is how often a waiting replica looks for the entry. If zero,
	// 20 milliseconds.
	Poll time.Duration
	// Local keeps the entries while Redis is unreachable. If nil, a
	// cache.Memory with its default bounds.
	Local *cache.Memory
	// MaxStale is how long past its freshness an entry is kept, to be
	// served stale when the budget is spent. If zero, 30 seconds.
	MaxStale time.Duration

	mu      sync.Mutex
	pending map[TokenHash]struct{} // invalidations Redis missed
}

var _ cache.Coalescer = (*CacheStore)(nil)

// sharedGen marks a generation read from Redis, so that Put knows where to
// keep the entry; Local's generations never have it.
const sharedGen = uint64(1) << 63

// maxPending bounds the invalidations kept for when Redis is back; past it
// the invalidations of other tokens are lost, and their shared entries end
// with their TTL.
const maxPending = 10000

// Get implements cache.Store.
func (s *CacheStore) Get(k cache.Key) (cache.Entry, bool) {
	if s.up() {
		ctx, cancel := s.ctx()
		defer cancel()
		tok := TokenHash(k.Token)
		if gen, err := s.generation(ctx, tok); err == nil {
			if e, ok, err := s.lookup(ctx, s.entryKey(tok, gen, k.Name)); err == nil {
				return e, ok
			}
		}
	}
	return s.local().Get(k)
}

// Put implements cache.Store: the entry is kept for its TTL plus MaxStale,
// unless it is over the entry bound or the token's generation moved on.
func (s *CacheStore) Put(k cache.Key, e cache.Entry, gen uint64) bool {
	if gen&sharedGen == 0 {
		return s.local().Put(k, e, gen)
	}
	v := encodeEntry(e)
	if len(v) > s.maxValue() || len(e.ETag) > math.MaxUint16 || !s.up() {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	tok, g := TokenHash(k.Token), gen&^sharedGen
	ttl := e.TTL + orDefault(s.MaxStale, 30*time.Second)
	cl := s.Client
	n, err := putIfGen.Run(ctx, cl.rdb, []string{s.genKey(tok), s.entryKey(tok, g, k.Name)},
		g, v, ttl.Milliseconds()).Int()
	return cl.note(err) == nil && n == 1
}

// putIfGen keeps ARGV[2] at KEYS[2] for ARGV[3] ms if the generation at
// KEYS[1] (none is 0) is still ARGV[1].
var putIfGen = redis.NewScript(`
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`)

// Generation implements cache.Store.
func (s *CacheStore) Generation(tok codegen.TokenKey) uint64 {
	if s.up() {
		ctx, cancel := s.ctx()
		defer cancel()
		if g, err := s.generation(ctx, TokenHash(tok)); err == nil {
			return g | sharedGen
		}
	}
	return s.local().Generation(tok)
}

// Invalidate implements cache.Store: it drops all of tok's shared entries,
// whatever the prefixes, and Local's that match them.
func (s *CacheStore) Invalidate(tok codegen.TokenKey, prefixes ...string) {
	s.local().Invalidate(tok, prefixes...)
	h := TokenHash(tok)
	if s.up() {
		ctx, cancel := s.ctx()
		defer cancel()
		if s.invalidate(ctx, h) == nil {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[TokenHash]struct{}{}
	}
	if len(s.pending) < maxPending {
		s.pending[h] = struct{}{}
	}
}

// Await implements cache.Coalescer: it waits while another replica holds
// the fetch lock of k at gen, for as long as that replica extends it, and
// returns the fresh entry it kept; or takes the lock and returns its
// release. Without Redis it returns at once: this replica fetches alone.
func (s *CacheStore) Await(ctx context.Context, k cache.Key, gen uint64) (cache.Entry, bool, func()) {
	none := func() {}
	if gen&sharedGen == 0 {
		return cache.Entry{}, false, none
	}
	tok, g := TokenHash(k.Token), gen&^sharedGen
	key := s.entryKey(tok, g, k.Name)
	lock := s.lockKey(tok, g, k.Name)
	tick := time.NewTicker(s.poll())
	defer tick.Stop()
	for {
		if e, ok := s.fresh(ctx, key); ok {
			return e, true, none
		}
		if mine := s.tryLock(ctx, lock); mine != "" {
			// The holder before us may have kept the entry just now.
			if e, ok := s.fresh(ctx, key); ok {
				s.unlock(ctx, lock, mine)
				return e, true, none
			}
			stop := s.holdLock(ctx, lock, mine)
			return cache.Entry{}, false, func() { stop(); s.unlock(ctx, lock, mine) }
		}
		if !s.Client.Healthy() {
			return cache.Entry{}, false, none
		}
		select {
		case <-ctx.Done():
			return cache.Entry{}, false, none // the call fails with ctx's error
		case <-tick.C:
		}
	}
}

// fresh returns the entry at key if it is still fresh.
func (s *CacheStore) fresh(ctx context.Context, key string) (cache.Entry, bool) {
	ctx, cancel := s.Client.callCtx(ctx)
	defer cancel()
	e, ok, err := s.lookup(ctx, key)
	if err != nil || !ok || time.Since(e.Stored) >= e.TTL {
		return cache.Entry{}, false
	}
	return e, true
}

// lookup reads the entry at key; a value that does not decode is none.
func (s *CacheStore) lookup(ctx context.Context, key string) (cache.Entry, bool, error) {
	cl := s.Client
	v, err := cl.rdb.Get(ctx, key).Bytes()
	if errors.Is(cl.note(err), redis.Nil) {
		return cache.Entry{}, false, nil
	}
	if err != nil {
		return cache.Entry{}, false, err
	}
	e, ok := decodeEntry(v)
	return e, ok, nil
}

// generation reads tok's generation; none is 0.
func (s *CacheStore) generation(ctx context.Context, tok TokenHash) (uint64, error) {
	cl := s.Client
	g, err := cl.rdb.Get(ctx, s.genKey(tok)).Uint64()
	if err := cl.note(err); err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	return g &^ sharedGen, nil
}

// up reports whether Redis answers, having first made again the
// invalidations it missed; false if one still fails.
func (s *CacheStore) up() bool {
	if !s.Client.Healthy() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.pending {
		ctx, cancel := s.ctx()
		err := s.invalidate(ctx, tok)
		cancel()
		if err != nil {
			return false
		}
		delete(s.pending, tok)
	}
	return true
}

// ctx bounds one call of the Store, whose interface has no context, by
// the Client's Timeout.
func (s *CacheStore) ctx() (context.Context, context.CancelFunc) {
	return s.Client.callCtx(context.Background())
}

func (s *CacheStore) local() *cache.Memory {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Local == nil {
		s.Local = &cache.Memory{}
	}
	return s.Local
}
