package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

const rawToken = "sk-very-secret-token-1234567890"

var perMinute10 = Limit{Rate: 10, Period: time.Minute, Burst: 10}

func TestBudgetIsSharedByReplicas(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 3)
	ctx := testCtx(t)
	tok := HashToken(rawToken)
	bs := []*Budget{{Client: cs[0]}, {Client: cs[1]}, {Client: cs[2]}}
	allowed := 0
	for i := range 30 { // round robin over the replicas
		b := bs[i%3]
		if ok, _ := b.Allow(ctx, tok, "general", perMinute10); ok {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("3 replicas allowed %d calls of a 10/minute budget, want 10", allowed)
	}
	if ok, after := bs[0].Allow(ctx, tok, "logs", perMinute10); !ok || after != 0 {
		t.Fatalf("another class = %v, %v; want its own budget", ok, after)
	}
	if ok, _ := bs[0].Allow(ctx, HashToken("other"), "general", perMinute10); !ok {
		t.Fatal("another token shares the budget")
	}
}

func TestBudgetReserveForHigherPriority(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 1)
	ctx := testCtx(t)
	b := &Budget{Client: cs[0]}
	tok := HashToken(rawToken)
	normal := perMinute10
	normal.Burst = 7 // keeps 3 in reserve
	n := 0
	for range 10 {
		if ok, _ := b.Allow(ctx, tok, "general", normal); ok {
			n++
		}
	}
	if n != 7 {
		t.Fatalf("normal priority got %d of 10, want 7", n)
	}
	for i := range 3 {
		if ok, _ := b.Allow(ctx, tok, "general", perMinute10); !ok {
			t.Fatalf("the reserve refused its call %d", i+1)
		}
	}
	if ok, _ := b.Allow(ctx, tok, "general", perMinute10); ok {
		t.Fatal("allowed past the whole budget")
	}
}

func TestBudgetPauseHoldsEveryReplica(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 2)
	ctx := testCtx(t)
	tok := HashToken(rawToken)
	(&Budget{Client: cs[0]}).Pause(ctx, tok, "general", time.Minute)
	ok, after := (&Budget{Client: cs[1]}).Allow(ctx, tok, "general", perMinute10)
	if ok || after < 59*time.Second {
		t.Fatalf("Allow on another replica during a pause = %v, %v; want refused for about a minute", ok, after)
	}
	tb := &TokenBudget{Budget: &Budget{Client: cs[1]}, MaxWait: 10 * time.Millisecond}
	err := tb.Take(ctx, codegen.KeyOf(rawToken), codegen.ClassGeneral, codegen.PriorityNormal)
	if be := (*codegen.BudgetError)(nil); !errors.As(err, &be) || be.RetryAfter < 59*time.Second {
		t.Fatalf("Take = %v; want refused at once with the pause's length", err)
	}
}

func TestBudgetFallsBackToItsShareWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 2)
	ctx := testCtx(t)
	eventually(t, "both replicas counted", func() bool { return cs[0].Replicas() == 2 })
	srv.Stop()
	eventually(t, "degraded", func() bool { return cs[0].Ready() != nil })
	b := &Budget{Client: cs[0]}
	tok := HashToken(rawToken)
	n := 0
	for range 10 {
		if ok, _ := b.Allow(ctx, tok, "general", perMinute10); ok {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("a degraded replica of 2 allowed %d of a 10 burst, want 5 (its share)", n)
	}
	srv.Restart()
	eventually(t, "rejoined", func() bool { return cs[0].Ready() == nil })
	if ok, _ := b.Allow(ctx, tok, "general", perMinute10); !ok {
		t.Fatal("the shared budget, empty after the restart, refused")
	}
}

// TestNoTokenInRedis scans every key and value after each kind of use.
func TestNoTokenInRedis(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	tok := HashToken(rawToken)
	b := &Budget{Client: cs[0]}
	b.Allow(ctx, tok, "general", perMinute10)
	b.Pause(ctx, tok, "logs", time.Minute)
	s := RunScope(tok, 1, 2)
	l := cs[0].Lease(s, time.Minute)
	l.Acquire(ctx)
	(&History{Client: cs[0]}).Append(ctx, l, 0, entries(0, 2))
	store := &CacheStore{Client: cs[0], Local: &cache.Memory{}}
	k := cache.Key{Token: codegen.KeyOf(rawToken), Name: "org/1/run/2/"}
	store.Put(k, cache.Entry{Status: http.StatusOK, Body: []byte("{}"), Stored: time.Now(), TTL: time.Minute}, store.Generation(k.Token))
	store.Invalidate(k.Token)
	rdb := srv.Client()
	keys := rdb.Keys(ctx, "*").Val()
	if len(keys) < 5 {
		t.Fatalf("only %d keys in Redis: %v; the test should cover more", len(keys), keys)
	}
	for _, k := range keys {
		if text := k + " " + valueOf(ctx, t, rdb, k); strings.Contains(text, "sk-very-secret") {
			t.Errorf("key %q holds the token: %s", k, text)
		}
	}
}

// valueOf renders the value of k, whatever its type, as text.
func valueOf(ctx context.Context, t *testing.T, rdb *redis.Client, k string) string {
	var v any
	var err error
	switch typ := rdb.Type(ctx, k).Val(); typ {
	case "string":
		v, err = rdb.Get(ctx, k).Result()
	case "stream":
		v, err = rdb.XRange(ctx, k, "-", "+").Result()
	case "zset":
		v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
	case "hash":
		v, err = rdb.HGetAll(ctx, k).Result()
	default:
		t.Fatalf("key %q of type %q: teach the test to read it", k, typ)
	}
	if err != nil {
		t.Fatalf("read %q: %v", k, err)
	}
	return fmt.Sprint(v)
}

// A Pause holds this replica back whether Redis is down when it comes, or
// goes down after it.
func TestBudgetPauseHoldsWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		downFirst bool
	}{{"paused while down", true}, {"down after the pause", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, cs := replicas(t, 1)
			ctx := testCtx(t)
			b := &Budget{Client: cs[0]}
			tok := HashToken(rawToken)
			down := func() {
				srv.Stop()
				eventually(t, "degraded", func() bool { return cs[0].Ready() != nil })
			}
			if tc.downFirst {
				down()
			}
			b.Pause(ctx, tok, "general", time.Minute) // an upstream 429 with Retry-After: 60
			if !tc.downFirst {
				down()
			}
			if ok, after := b.Allow(ctx, tok, "general", perMinute10); ok || after < 59*time.Second {
				t.Fatalf("Allow during a 1-minute pause, Redis down = %v, %v; want refused for about a minute", ok, after)
			}
			if ok, _ := b.Allow(ctx, tok, "logs", perMinute10); !ok {
				t.Fatal("another class was paused too")
			}
		})
	}
}

func TestBudgetLocalPausesAreBounded(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 1)
	b := &Budget{Client: cs[0], MaxLocal: 3}
	for i := range 10 {
		b.pauseLocal(localKey{HashToken(fmt.Sprint(i)), "general"}, time.Now().Add(time.Minute))
	}
	if n := len(b.pauses); n > 3 {
		t.Fatalf("%d local pauses kept, want at most MaxLocal 3", n)
	}
}

// Degraded replicas' shares of a burst round down: together they allow no
// more than the burst at once, even when it is smaller than their number.
func TestBudgetDegradedReplicasKeepWithinTheBurstTogether(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 3)
	ctx := testCtx(t)
	for _, c := range cs {
		eventually(t, "3 replicas counted", func() bool { return c.Replicas() == 3 })
	}
	srv.Stop()
	for _, c := range cs {
		eventually(t, "degraded", func() bool { return c.Ready() != nil })
	}
	for _, l := range []Limit{{Rate: 2, Period: time.Minute, Burst: 2}, {Rate: 8, Period: time.Minute, Burst: 8}} {
		n := 0
		for _, c := range cs {
			b := &Budget{Client: c}
			for range 5 {
				if ok, _ := b.Allow(ctx, HashToken(rawToken), fmt.Sprint(l.Burst), l); ok {
					n++
				}
			}
		}
		if n > l.Burst {
			t.Errorf("3 degraded replicas allowed %d calls at once of a budget with burst %d", n, l.Burst)
		}
	}
}

// The zero Limit allows every call, shared or degraded.
func TestBudgetZeroLimitAllowsEveryCall(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	b := &Budget{Client: cs[0]}
	tok := HashToken(rawToken)
	for _, mode := range []string{"shared", "degraded"} {
		if mode == "degraded" {
			srv.Stop()
			eventually(t, "degraded", func() bool { return cs[0].Ready() != nil })
		}
		for i := range 100 {
			if ok, after := b.Allow(ctx, tok, "general", Limit{}); !ok {
				t.Fatalf("%s: call %d of the zero Limit refused for %v", mode, i+1, after)
			}
		}
	}
}
