package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

func TestLeaseOneHolderAmongThree(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 3)
	ctx := testCtx(t)
	var won int
	for _, c := range cs {
		ok, err := c.Lease(scope, time.Minute).Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		if ok {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d of 3 contenders acquired the lease, want 1", won)
	}
}

// Three contenders each lead once, one after the other: every lead
// returns by itself after a few renewals, and Hold then returns.
func TestLeaseHoldLeadsOneAtATime(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 3)
	ctx := testCtx(t)
	const ttl = 300 * time.Millisecond
	var leading, turns atomic.Int32
	var overlap atomic.Bool
	var wg sync.WaitGroup
	for _, c := range cs {
		l := c.Lease(scope, ttl)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Hold(ctx, func(ctx context.Context) {
				if leading.Add(1) > 1 {
					overlap.Store(true)
				}
				defer leading.Add(-1)
				select { // lead through a few renewals, then hand over
				case <-ctx.Done():
				case <-time.After(ttl):
				}
				turns.Add(1)
			})
		}()
	}
	wg.Wait()
	if overlap.Load() {
		t.Fatal("two contenders led at once")
	}
	if n := turns.Load(); n != 3 {
		t.Fatalf("%d turns, want each of the 3 contenders to lead once", n)
	}
}

// A holder that stops (its context ends, or its lead returns) releases the
// lease through Hold before Hold returns, so a contender takes it at its
// next try, not after the ttl.
func TestLeaseHoldHandsOverWhenItStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		finish bool // lead returns by itself; else Hold's context ends
	}{{"lead returns", true}, {"context ends", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, cs := replicas(t, 2)
			ctx := testCtx(t)
			const ttl = 2 * time.Second // contenders retry every 400ms
			a := cs[0].Lease(scope, ttl)
			actx, stopA := context.WithCancel(ctx)
			defer stopA()
			finish, aLeads := make(chan struct{}), make(chan struct{})
			aDone := make(chan error, 1)
			go func() {
				aDone <- a.Hold(actx, func(ctx context.Context) {
					close(aLeads)
					select {
					case <-ctx.Done():
					case <-finish:
					}
				})
			}()
			<-aLeads
			bctx, stopB := context.WithCancel(ctx)
			bLeads := make(chan struct{})
			bDone := make(chan error, 1)
			go func() {
				bDone <- cs[1].Lease(scope, ttl).Hold(bctx, func(ctx context.Context) { close(bLeads); <-ctx.Done() })
			}()
			defer func() { stopB(); <-bDone }()
			if tc.finish {
				close(finish)
			} else {
				stopA()
			}
			if err := <-aDone; (err == nil) != tc.finish {
				t.Fatalf("Hold = %v; want nil when lead returns, the context's error when it ends", err)
			}
			if v := srv.Client().Get(ctx, a.key).Val(); v == a.value {
				t.Fatal("Hold returned still holding the lease: no handover")
			}
			select {
			case <-bLeads:
			case <-ctx.Done():
				t.Fatal("the contender did not take over")
			}
		})
	}
}

func TestLeaseCrashedHolderIsTakenOverAfterItsTTL(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	met := NewMetrics()
	cs := []*Client{
		newClient(t, srv.URL(), Options{Timeout: time.Second, CheckInterval: 100 * time.Millisecond}),
		newClient(t, srv.URL(), Options{Timeout: time.Second, CheckInterval: 100 * time.Millisecond, Metrics: met}),
	}
	ctx := testCtx(t)
	const ttl = 400 * time.Millisecond
	crashed := cs[0].Lease(scope, ttl)
	if ok, err := crashed.Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v; want true, nil", ok, err)
	}
	start := time.Now() // the crashed holder never renews nor releases
	took := make(chan time.Duration, 1)
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- cs[1].Lease(scope, ttl).Hold(hctx, func(ctx context.Context) {
			took <- time.Since(start)
			<-ctx.Done()
		})
	}()
	var d time.Duration
	select {
	case d = <-took:
	case <-ctx.Done():
		t.Fatal("no takeover")
	}
	cancel()
	<-done
	if d < ttl-50*time.Millisecond { // expiry is the server's; allow clock granularity
		t.Errorf("taken over after %v, before the ttl %v ran out", d, ttl)
	}
	t.Logf("crashed holder's lease (ttl %v) taken over after %v", ttl, d)
	if ok, _ := crashed.Renew(context.Background()); ok {
		t.Error("the crashed holder renewed its lease after the takeover")
	}
	if got := testutil.ToFloat64(met.takeovers); got != 1 {
		t.Errorf("takeovers = %v, want 1", got)
	}
}

func TestLeaseReleaseHandsOverAtOnce(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 2)
	ctx := testCtx(t)
	a, b := cs[0].Lease(scope, time.Hour), cs[1].Lease(scope, time.Hour)
	if ok, _ := a.Acquire(ctx); !ok {
		t.Fatal("first Acquire failed")
	}
	if ok, _ := b.Acquire(ctx); ok {
		t.Fatal("second contender acquired a held lease")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if ok, err := b.Acquire(ctx); !ok || err != nil {
		t.Fatalf("Acquire after release = %v, %v; want true, nil (an hour-long lease handed over)", ok, err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatalf("stale Release: %v", err)
	}
	if ok, _ := b.Renew(ctx); !ok {
		t.Fatal("a stale Release deleted its successor's lease")
	}
}

func TestLeaseStepsDownWhenTakenFromIt(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	l := cs[0].Lease(scope, 300*time.Millisecond)
	hctx, cancel := context.WithCancel(ctx)
	held := make(chan error, 1)
	defer func() { cancel(); <-held }()
	stepped := make(chan struct{})
	go func() { held <- l.Hold(hctx, func(ctx context.Context) { <-ctx.Done(); close(stepped) }) }()
	rdb := srv.Client()
	eventually(t, "the lease held", func() bool { return rdb.Get(ctx, l.key).Val() == l.value })
	rdb.Set(ctx, l.key, "someone-else", time.Minute) // as if it had expired and been taken
	select {
	case <-stepped:
	case <-ctx.Done():
		t.Fatal("the holder did not step down")
	}
	if got := rdb.Get(ctx, l.key).Val(); got != "someone-else" {
		t.Fatalf("lease = %q after stepping down, want the successor's", got)
	}
}

// A holder cut off from Redis (its calls hang, as in a network partition)
// steps down two thirds of the ttl after its last renewal was sent, before
// the lease expires and another replica takes it, even though its Timeout
// is longer than the ttl.
func TestLeaseHolderCutOffFromRedisStepsDownBeforeItExpires(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	g := newGate(t, srv.URL())
	a := newClient(t, g.URL(), Options{Timeout: 5 * time.Second, CheckInterval: time.Hour})
	b := newClient(t, srv.URL(), Options{Timeout: time.Second, CheckInterval: time.Hour})
	ctx, cancel := context.WithCancel(testCtx(t))
	const ttl = 1500 * time.Millisecond
	var aLeading, bLed atomic.Bool
	overlap := make(chan bool, 1)
	var wg sync.WaitGroup
	defer func() { g.Open(); cancel(); wg.Wait() }()
	wg.Add(2)
	go func() {
		defer wg.Done()
		a.Lease(scope, ttl).Hold(ctx, func(ctx context.Context) { aLeading.Store(true); <-ctx.Done(); aLeading.Store(false) })
	}()
	eventually(t, "a leads", aLeading.Load)
	g.Shut()
	go func() {
		defer wg.Done()
		b.Lease(scope, ttl).Hold(ctx, func(ctx context.Context) {
			if !bLed.Swap(true) {
				overlap <- aLeading.Load()
			}
			<-ctx.Done()
		})
	}()
	select {
	case both := <-overlap:
		if both {
			t.Fatal("b took the lease while the cut-off a still led: two leaders at once")
		}
	case <-ctx.Done():
		t.Fatal("b never took over the cut-off holder's lease")
	}
}
