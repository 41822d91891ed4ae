package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheOneReplicaFetchesTheOthersWait(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 3)
	ctx := testCtx(t)
	tok := HashToken(rawToken)
	var calls atomic.Int32
	release := make(chan struct{})
	fetch := func(context.Context) ([]byte, error) {
		calls.Add(1)
		<-release // held until every replica is asking
		return []byte(`{"id":1}`), nil
	}
	var wg sync.WaitGroup
	outcomes := make([]Outcome, 9)
	var asking atomic.Int32
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			asking.Add(1)
			v, o, err := (&Cache{Client: cs[i%3]}).Fetch(ctx, tok, "org/1/run/1", time.Minute, fetch)
			if err != nil || string(v) != `{"id":1}` {
				t.Errorf("Fetch = %s, %v", v, err)
			}
			outcomes[i] = o
		}()
	}
	eventually(t, "all asking and one fetching", func() bool { return asking.Load() == 9 && calls.Load() == 1 })
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d fetches for 9 concurrent reads on 3 replicas, want 1", n)
	}
	misses := 0
	for _, o := range outcomes {
		if o == Miss {
			misses++
		}
	}
	if misses != 1 {
		t.Fatalf("outcomes %v: want one Miss, the others Shared", outcomes)
	}
	if _, o, _ := (&Cache{Client: cs[1]}).Fetch(ctx, tok, "org/1/run/1", time.Minute, fetch); o != Hit {
		t.Fatalf("a later read = %v, want Hit", o)
	}
	if _, _, _ = (&Cache{Client: cs[1]}).Fetch(ctx, HashToken("another"), "org/1/run/1", time.Minute, fetch); calls.Load() != 2 {
		t.Fatal("another token was served this token's answer")
	}
}

func TestCacheKeepsNoErrorNorOversizedValue(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 1)
	ctx := testCtx(t)
	c := &Cache{Client: cs[0], MaxValueBytes: 8}
	tok := HashToken(rawToken)
	boom := errors.New("upstream broke")
	if _, _, err := c.Fetch(ctx, tok, "a", time.Minute, func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("Fetch = %v, want the fetch's error", err)
	}
	if _, ok, _ := c.Get(ctx, tok, "a"); ok {
		t.Fatal("an error was kept")
	}
	big := []byte("0123456789")
	if v, _, err := c.Fetch(ctx, tok, "b", time.Minute, func(context.Context) ([]byte, error) { return big, nil }); err != nil || len(v) != 10 {
		t.Fatalf("Fetch of an oversized value = %q, %v; want it served", v, err)
	}
	if _, ok, _ := c.Get(ctx, tok, "b"); ok {
		t.Fatal("an oversized value was kept")
	}
	if err := c.Set(ctx, tok, "b", big, time.Minute); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Set oversized = %v, want ErrTooLarge", err)
	}
}

func TestCacheInvalidateAndTTL(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	c := &Cache{Client: cs[0]}
	tok := HashToken(rawToken)
	c.Set(ctx, tok, "a", []byte("1"), time.Minute)
	keys := srv.Client().Keys(ctx, "cgp:cache:*").Val()
	if len(keys) != 1 {
		t.Fatalf("cache keys = %v, want 1", keys)
	}
	if ttl := srv.Client().PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL = %v, want within the minute set", ttl)
	}
	if err := c.Invalidate(ctx, tok); err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	if _, ok, _ := c.Get(ctx, tok, "a"); ok {
		t.Fatal("a value survived Invalidate")
	}
}

func TestCacheFetchesItselfWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	srv.Stop()
	v, o, err := (&Cache{Client: cs[0]}).Fetch(ctx, HashToken(rawToken), "a", time.Minute,
		func(context.Context) ([]byte, error) { return []byte("x"), nil })
	if err != nil || string(v) != "x" || o != Miss {
		t.Fatalf("Fetch with Redis down = %q, %v, %v; want the fetched value", v, o, err)
	}
	if cs[0].Ready() == nil {
		t.Fatal("Ready is nil with Redis down")
	}
}

// An Invalidate while a fetch is in flight (a write landing during a read)
// drops that fetch's answer too: it was read before the write.
func TestCacheInvalidateDuringAFetchDropsItsAnswer(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 1)
	ctx := testCtx(t)
	c := &Cache{Client: cs[0]}
	tok := HashToken(rawToken)
	v, _, err := c.Fetch(ctx, tok, "runs", time.Minute, func(context.Context) ([]byte, error) {
		if err := c.Invalidate(ctx, tok); err != nil {
			return nil, err
		}
		return []byte("before-the-write"), nil
	})
	if err != nil || string(v) != "before-the-write" {
		t.Fatalf("Fetch = %q, %v; want the fetched answer served to its caller", v, err)
	}
	if v, ok, err := c.Get(ctx, tok, "runs"); ok || err != nil {
		t.Fatalf("Get after the Invalidate = %q, %v, %v; want nothing kept", v, ok, err)
	}
}

// A fetch that outlives LockTTL keeps its lock, so the waiting replicas go
// on waiting for its answer instead of all fetching at once.
func TestCacheWaitersWaitForAFetchSlowerThanTheLockTTL(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 3)
	ctx := testCtx(t)
	tok := HashToken(rawToken)
	const lockTTL = 600 * time.Millisecond
	var calls atomic.Int32
	var firstAt atomic.Int64
	release := make(chan struct{})
	fetch := func(context.Context) ([]byte, error) {
		if calls.Add(1) == 1 {
			firstAt.Store(time.Now().UnixNano())
		}
		<-release
		return []byte("v"), nil
	}
	var wg sync.WaitGroup
	outcomes := make([]Outcome, 9)
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, outcomes[i], _ = (&Cache{Client: cs[i%3], LockTTL: lockTTL}).Fetch(ctx, tok, "slow", time.Minute, fetch)
		}()
	}
	eventually(t, "a second fetch, or the first outliving three lock ttls", func() bool {
		at := firstAt.Load()
		return calls.Load() > 1 || (at != 0 && time.Since(time.Unix(0, at)) > 3*lockTTL)
	})
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d fetches for 9 readers of an answer slower than the lock ttl, want 1", n)
	}
	misses := 0
	for _, o := range outcomes {
		if o == Miss {
			misses++
		}
	}
	if misses != 1 {
		t.Fatalf("outcomes %v: want one Miss, the others Shared", outcomes)
	}
}

// An answer that cannot be kept (too large, an error) sends the replicas
// waiting for it to fetch for themselves, at once, rather than one after
// the other under the lock.
func TestCacheUncacheableAnswerSendsWaitersToFetch(t *testing.T) {
	t.Parallel()
	boom := errors.New("upstream broke")
	for _, tc := range []struct {
		name string
		val  []byte
		err  error
	}{{"too large", []byte("0123456789"), nil}, {"an error", nil, boom}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, cs := replicas(t, 2)
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			tok := HashToken(rawToken)
			const readers = 6
			var calls, asking, inFlight atomic.Int32
			first, allIn := make(chan struct{}), make(chan struct{})
			fetch := func(ctx context.Context) ([]byte, error) {
				if calls.Add(1) == 1 {
					<-first // the lock holder answers once every reader asks
					return tc.val, tc.err
				}
				if inFlight.Add(1) == readers-1 {
					close(allIn)
				}
				select {
				case <-allIn:
				case <-time.After(5 * time.Second):
					t.Error("the waiters fetched one after the other, not at once")
					cancel()
				case <-ctx.Done():
				}
				return tc.val, tc.err
			}
			var wg sync.WaitGroup
			for i := range readers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					asking.Add(1)
					c := &Cache{Client: cs[i%2], MaxValueBytes: 8, LockTTL: time.Minute}
					if v, _, err := c.Fetch(ctx, tok, "big", time.Minute, fetch); !errors.Is(err, tc.err) || string(v) != string(tc.val) {
						t.Errorf("Fetch = %q, %v; want %q, %v", v, err, tc.val, tc.err)
					}
				}()
			}
			eventually(t, "every reader asking", func() bool { return asking.Load() == readers && calls.Load() == 1 })
			close(first)
			wg.Wait()
		})
	}
}

// Nothing is kept in Redis without an expiry: a cache ttl or a pause of
// zero or less keeps nothing.
func TestNothingKeptWithoutATTL(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	c := &Cache{Client: cs[0]}
	tok := HashToken(rawToken)
	for _, ttl := range []time.Duration{0, -time.Second} {
		v, o, err := c.Fetch(ctx, tok, ttl.String(), ttl, func(context.Context) ([]byte, error) { return []byte("v"), nil })
		if string(v) != "v" || o != Miss || err != nil {
			t.Fatalf("Fetch with ttl %v = %q, %v, %v; want the fetched value", ttl, v, o, err)
		}
		if err := c.Set(ctx, tok, "set"+ttl.String(), []byte("v"), ttl); !errors.Is(err, ErrNoTTL) {
			t.Fatalf("Set with ttl %v = %v, want ErrNoTTL", ttl, err)
		}
		(&Budget{Client: cs[0]}).Pause(ctx, tok, "general", ttl)
	}
	rdb := srv.Client()
	for _, k := range rdb.Keys(ctx, "*").Val() {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl < 0 {
			t.Errorf("key %s kept without an expiry (PTTL %v)", k, ttl)
		}
	}
}
