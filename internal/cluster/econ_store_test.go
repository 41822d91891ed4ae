package cluster

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

func newStore(c *Client) *CacheStore {
	return &CacheStore{Client: c, Poll: 5 * time.Millisecond, Local: &cache.Memory{}}
}

func TestCacheStoreSharesEntriesAndGenerations(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 2)
	ctx := testCtx(t)
	a, b := newStore(cs[0]), newStore(cs[1])
	k := cache.Key{Token: codegen.KeyOf(rawToken), Name: "org/1/run/5/"}
	e := cache.Entry{Status: http.StatusOK, Body: []byte(`{"id":5}`), ETag: cache.ETag([]byte(`{"id":5}`)),
		Stored: time.Now().Truncate(0), TTL: time.Minute}
	gen := a.Generation(k.Token)
	if !a.Put(k, e, gen) {
		t.Fatal("Put refused a fresh entry")
	}
	got, ok := b.Get(k)
	if !ok || string(got.Body) != string(e.Body) || got.ETag != e.ETag || !got.Stored.Equal(e.Stored) || got.TTL != e.TTL {
		t.Fatalf("B's Get = %+v, %v; want %+v", got, ok, e)
	}
	if _, ok := b.Get(cache.Key{Token: codegen.KeyOf("another token"), Name: k.Name}); ok {
		t.Fatal("another token was served this token's entry")
	}
	keys := srv.Client().Keys(ctx, "cgp:rest:*").Val()
	if len(keys) != 1 {
		t.Fatalf("entry keys = %v, want 1", keys)
	}
	// Kept for its freshness plus MaxStale (30 s by default).
	if ttl := srv.Client().PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > e.TTL+30*time.Second {
		t.Fatalf("PTTL = %v, want within the entry's TTL plus MaxStale", ttl)
	}
	b.Invalidate(k.Token, "org/9/") // any prefix: every entry of the token goes
	if _, ok := a.Get(k); ok {
		t.Error("A still has the entry after B's Invalidate")
	}
	if a.Put(k, e, gen) {
		t.Error("Put kept an entry read before an Invalidate")
	}
	big := e
	big.Body = make([]byte, 2<<20)
	if a.Put(k, big, a.Generation(k.Token)) {
		t.Error("Put kept an entry over MaxValueBytes")
	}
}

func TestCacheStoreAwaitLetsOneReplicaFetch(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 3)
	ctx := testCtx(t)
	k := cache.Key{Token: codegen.KeyOf(rawToken), Name: "org/1/run/6/"}
	leader := newStore(cs[0])
	gen := leader.Generation(k.Token)
	_, found, release := leader.Await(ctx, k, gen)
	if found {
		t.Fatal("an entry was found before any fetch")
	}
	var wg sync.WaitGroup
	got := make([]bool, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newStore(cs[i+1])
			e, found, rel := s.Await(ctx, k, gen)
			rel()
			got[i] = found && string(e.Body) == "answer"
		}()
	}
	e := cache.Entry{Status: http.StatusOK, Body: []byte("answer"), Stored: time.Now(), TTL: time.Minute}
	if !leader.Put(k, e, gen) {
		t.Fatal("the leader's Put was refused")
	}
	release()
	wg.Wait()
	if !got[0] || !got[1] {
		t.Errorf("waiters found the leader's entry: %v, want both", got)
	}
}

func TestCacheStoreFallsBackToLocalAndReplaysInvalidations(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	s := newStore(cs[0])
	k := cache.Key{Token: codegen.KeyOf(rawToken), Name: "org/1/run/7/"}
	e := cache.Entry{Status: http.StatusOK, Body: []byte("old"), Stored: time.Now(), TTL: time.Minute}
	shared := s.Generation(k.Token)
	if !s.Put(k, e, shared) {
		t.Fatal("Put refused")
	}
	srv.Stop()
	eventually(t, "degraded", func() bool { return cs[0].Ready() != nil })
	if _, found, release := s.Await(testCtx(t), cache.Key{Token: k.Token, Name: "org/1/run/8/"}, shared); found {
		t.Error("degraded, Await found an entry")
	} else {
		release() // it returned rather than wait: this replica fetches alone
	}
	if _, ok := s.Get(k); ok {
		t.Error("degraded, Get found the shared entry")
	}
	local := e
	local.Body = []byte("local")
	if !s.Put(k, local, s.Generation(k.Token)) {
		t.Error("degraded, Put refused to keep the entry locally")
	}
	if got, ok := s.Get(k); !ok || string(got.Body) != "local" {
		t.Errorf("degraded, Get = %q, %v; want the local entry", got.Body, ok)
	}
	s.Invalidate(k.Token, "org/1/run/7/") // a write while Redis is down
	srv.Restart()
	eventually(t, "rejoined", func() bool { return cs[0].Ready() == nil })
	if got, ok := s.Get(k); ok {
		t.Errorf("after Redis came back, Get = %q: the write made meanwhile did not invalidate the shared entry", got.Body)
	}
}

// A fill that outlives LockTTL keeps its lock, so the waiting replicas go
// on waiting for its entry instead of all fetching at once.
func TestCacheStoreWaitersWaitForAFillSlowerThanTheLockTTL(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 3)
	ctx := testCtx(t)
	const lockTTL = 600 * time.Millisecond
	k := cache.Key{Token: codegen.KeyOf(rawToken), Name: "org/1/run/9/"}
	leader := &CacheStore{Client: cs[0], LockTTL: lockTTL, Poll: 5 * time.Millisecond, Local: &cache.Memory{}}
	gen := leader.Generation(k.Token)
	_, found, release := leader.Await(ctx, k, gen)
	if found {
		t.Fatal("an entry was found before any fill")
	}
	locked := time.Now()
	var wg sync.WaitGroup
	var returned atomic.Int32
	got := make([]bool, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &CacheStore{Client: cs[i+1], LockTTL: lockTTL, Poll: 5 * time.Millisecond, Local: &cache.Memory{}}
			e, found, rel := s.Await(ctx, k, gen)
			returned.Add(1)
			rel()
			got[i] = found && string(e.Body) == "slow"
		}()
	}
	eventually(t, "a waiter taking the lock, or the fill outliving three lock ttls", func() bool {
		return returned.Load() > 0 || time.Since(locked) > 3*lockTTL
	})
	e := cache.Entry{Status: http.StatusOK, Body: []byte("slow"), Stored: time.Now(), TTL: time.Minute}
	if !leader.Put(k, e, gen) {
		t.Fatal("the leader's Put was refused")
	}
	release()
	wg.Wait()
	if !got[0] || !got[1] {
		t.Errorf("waiters found the leader's entry: %v, want both (one fill for 3 replicas)", got)
	}
}

// Nothing is kept in Redis without an expiry: an entry fresh for zero or
// less, or a pause of zero or less, keeps nothing for ever.
func TestNothingKeptWithoutATTL(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	s := newStore(cs[0])
	tok := codegen.KeyOf(rawToken)
	for i, ttl := range []time.Duration{0, -time.Second} {
		k := cache.Key{Token: tok, Name: "org/1/run/" + strconv.Itoa(i) + "/"}
		s.Put(k, cache.Entry{Status: http.StatusOK, Body: []byte("v"), Stored: time.Now(), TTL: ttl}, s.Generation(tok))
		_, _, release := s.Await(ctx, cache.Key{Token: tok, Name: "fill" + ttl.String()}, s.Generation(tok))
		release()
		(&Budget{Client: cs[0]}).Pause(ctx, TokenHash(tok), "general", ttl)
	}
	s.Invalidate(tok)
	rdb := srv.Client()
	for _, k := range rdb.Keys(ctx, "*").Val() {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl < 0 {
			t.Errorf("key %s kept without an expiry (PTTL %v)", k, ttl)
		}
	}
}
