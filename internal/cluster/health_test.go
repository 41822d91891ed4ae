package cluster

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

// A Redis that answers but cannot serve (a read-only replica after a
// failover, out of memory) degrades the replica, through a failed call and
// through the heartbeat alone, and it rejoins once Redis serves again.
func TestRedisAnsweringErrorsIsDegraded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fail, heal func(ctx context.Context, rdb *redis.Client) error
	}{
		{"read-only replica",
			func(ctx context.Context, rdb *redis.Client) error { return rdb.ReplicaOf(ctx, "127.0.0.1", "1").Err() },
			func(ctx context.Context, rdb *redis.Client) error { return rdb.ReplicaOf(ctx, "NO", "ONE").Err() }},
		{"out of memory",
			func(ctx context.Context, rdb *redis.Client) error {
				if err := rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
					return err
				}
				return rdb.ConfigSet(ctx, "maxmemory", "1").Err()
			},
			func(ctx context.Context, rdb *redis.Client) error { return rdb.ConfigSet(ctx, "maxmemory", "0").Err() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			ctx := testCtx(t)
			caller := newClient(t, srv.URL(), Options{CheckInterval: time.Hour})
			beating := newClient(t, srv.URL(), Options{CheckInterval: 20 * time.Millisecond})
			eventually(t, "a heartbeat", func() bool { return beating.Replicas() == 2 })
			rdb := srv.Client()
			if err := tc.fail(ctx, rdb); err != nil {
				t.Fatal(err)
			}
			_, err := caller.Lease(scope, time.Second).Acquire(ctx)
			if err == nil || caller.Ready() == nil {
				t.Fatalf("Acquire = %v, then Ready() = %v; want an error and degraded", err, caller.Ready())
			}
			eventually(t, "the heartbeat to degrade", func() bool { return beating.Ready() != nil })
			if err := tc.heal(ctx, rdb); err != nil {
				t.Fatal(err)
			}
			eventually(t, "rejoined", func() bool { return beating.Ready() == nil })
		})
	}
}

// While Redis hangs (the process stopped, connections open), a degraded
// replica's cache fetches without asking Redis, and Close waits for one
// Timeout at most rather than for the health check in flight and then for
// its own call.
func TestCallsWhileRedisHangs(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := testCtx(t)
	pid := redisPID(ctx, t, srv.Client())
	const timeout = time.Second
	c := newClient(t, srv.URL(), Options{Timeout: timeout, CheckInterval: time.Hour})
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })

	closing, err := New(Options{URL: srv.URL(), Timeout: timeout, CheckInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	closing.Close() // its first check hangs; Close cuts it short, then says goodbye
	if d := time.Since(start); d >= 3*timeout/2 {
		t.Errorf("Close took %v with Redis hanging, want at most one Timeout (%v)", d, timeout)
	}

	c.Lease(scope, time.Minute).Acquire(ctx) // hangs for the Timeout, then degrades
	if c.Healthy() {
		t.Fatal("healthy after a call that timed out")
	}
	var calls atomic.Int32
	c.Redis().AddHook(countHook{&calls})
	s := &CacheStore{Client: c, Local: &cache.Memory{}}
	k := cache.Key{Token: codegen.KeyOf(rawToken), Name: "a"}
	gen := s.Generation(k.Token)
	if _, found, release := s.Await(ctx, k, gen); found {
		t.Fatal("Await while degraded found an entry")
	} else {
		release()
	}
	if !s.Put(k, cache.Entry{Status: http.StatusOK, Body: []byte("x"), Stored: time.Now(), TTL: time.Minute}, gen) {
		t.Fatal("Put while degraded did not keep the entry locally")
	}
	if e, ok := s.Get(k); !ok || string(e.Body) != "x" {
		t.Fatalf("Get while degraded = %q, %v; want the local entry", e.Body, ok)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the cache while degraded made %d Redis calls, want none", n)
	}
}

// redisPID asks the server its process id.
func redisPID(ctx context.Context, t *testing.T, rdb *redis.Client) int {
	t.Helper()
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no process_id in INFO server")
	return 0
}

// countHook counts the commands a go-redis client sends.
type countHook struct{ n *atomic.Int32 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int32(len(cmds))); return next(ctx, cmds) }
}

// Two changes of health noticed at once are announced in order: the
// metric and OnHealth end on the current health even when the first
// announcement is still under way as the second change comes.
func TestHealthAnnouncementsEndOnTheCurrentHealth(t *testing.T) {
	t.Parallel()
	met := NewMetrics()
	entered, resume, lostDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var said []bool
	c := &Client{log: slog.New(slog.NewTextHandler(io.Discard, nil)), met: met, healthy: true, announced: true,
		opt: Options{OnHealth: func(up bool) {
			if !up {
				close(entered)
				<-resume // "lost" is slow to announce
			}
			mu.Lock()
			said = append(said, up)
			mu.Unlock()
		}}}
	go func() { defer close(lostDone); c.note(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}) }()
	<-entered
	c.note(nil) // Redis answers again while "lost" is being announced
	close(resume)
	<-lostDone
	mu.Lock()
	defer mu.Unlock()
	if !c.Healthy() || len(said) == 0 || !said[len(said)-1] || testutil.ToFloat64(met.degraded) != 0 {
		t.Fatalf("healthy %v, OnHealth said %v, degraded gauge %v; want healthy, ending on true, 0",
			c.Healthy(), said, testutil.ToFloat64(met.degraded))
	}
}
