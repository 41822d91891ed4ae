package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
			func(ctx context.Context, rdb *redis.Client) error { return rdb.SlaveOf(ctx, "127.0.0.1", "1").Err() },
			func(ctx context.Context, rdb *redis.Client) error { return rdb.SlaveOf(ctx, "NO", "ONE").Err() }},
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
