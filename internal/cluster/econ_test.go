package cluster

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

func TestTokenBudgetKeepsTheStreamReserveAndSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 2)
	ctx := testCtx(t)
	bs := []*TokenBudget{{Budget: &Budget{Client: cs[0]}, MaxWait: -1}, {Budget: &Budget{Client: cs[1]}, MaxWait: -1}}
	key := codegen.KeyOf(rawToken)
	n := 0
	var refusal error
	for i := range 12 {
		if err := bs[i%2].Take(ctx, key, codegen.ClassGeneral, codegen.PriorityNormal); err == nil {
			n++
		} else {
			refusal = err
		}
	}
	if n != 8 {
		t.Errorf("requests on 2 replicas took %d of the general burst of 10, want 8 (2 kept for streams)", n)
	}
	var be *codegen.BudgetError
	// One slot comes every 30/49 s; a request needs 3 (its own and the reserve).
	if !errors.As(refusal, &be) || be.RetryAfter <= 0 || be.RetryAfter > 700*time.Millisecond {
		t.Errorf("refusal %v, want a BudgetError with RetryAfter in (0, 700ms]", refusal)
	}
	for i := range 2 {
		if err := bs[i].Take(ctx, key, codegen.ClassGeneral, codegen.PriorityStream); err != nil {
			t.Errorf("a stream's call %d in the reserve: %v", i+1, err)
		}
	}
	// Degraded, each replica keeps its own share, 10/2 = 5 with a reserve
	// of 1; the last known count may be 1 on a loaded machine, whose
	// heartbeats can come late.
	srv.Stop()
	eventually(t, "degraded", func() bool { return cs[0].Ready() != nil })
	share := 10 / cs[0].Replicas()
	want := share - min((2*share+9)/10, share-1)
	other := codegen.KeyOf("another token")
	n = 0
	for range 10 {
		if bs[0].Take(ctx, other, codegen.ClassGeneral, codegen.PriorityNormal) == nil {
			n++
		}
	}
	if n != want {
		t.Errorf("degraded, requests took %d of the replica's share of %d, want %d", n, share, want)
	}
	if err := bs[0].Take(ctx, other, codegen.ClassGeneral, codegen.PriorityStream); err != nil {
		t.Errorf("degraded, a stream's call in the reserve: %v", err)
	}
}

func TestTokenBudgetPauseHoldsTheOtherReplica(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 2)
	ctx := testCtx(t)
	a, b := &TokenBudget{Budget: &Budget{Client: cs[0]}, MaxWait: -1}, &TokenBudget{Budget: &Budget{Client: cs[1]}, MaxWait: -1}
	key := codegen.KeyOf(rawToken)
	a.Pause(key, codegen.ClassLogs, 20*time.Second)
	err := b.Take(ctx, key, codegen.ClassLogs, codegen.PriorityNormal)
	var be *codegen.BudgetError
	if !errors.As(err, &be) || be.RetryAfter < 19*time.Second {
		t.Fatalf("B during A's pause: %v, want a BudgetError for about 20 s", err)
	}
	if err := b.Take(ctx, key, codegen.ClassGeneral, codegen.PriorityNormal); err != nil {
		t.Errorf("another class during the pause: %v", err)
	}
}

func newStore(c *Client) *CacheStore {
	return &CacheStore{Cache: &Cache{Client: c, Poll: 5 * time.Millisecond}, Local: &cache.Memory{}}
}

func TestCacheStoreSharesEntriesAndGenerations(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 2)
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
	if !s.Put(k, e, s.Generation(k.Token)) {
		t.Fatal("Put refused")
	}
	srv.Stop()
	eventually(t, "degraded", func() bool { return cs[0].Ready() != nil })
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
