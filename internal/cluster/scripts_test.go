package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// The scripts' ttl handling, with miniredis's clock moved by hand.
func TestScriptsWithFastForwardedTTLs(t *testing.T) {
	mr := miniredis.RunT(t)
	c := newClient(t, "redis://"+mr.Addr(), Options{CheckInterval: time.Hour})
	ctx := context.Background()
	a, b := c.Lease(scope, 10*time.Second), c.Lease(scope, 10*time.Second)
	if ok, _ := a.Acquire(ctx); !ok {
		t.Fatal("Acquire failed")
	}
	mr.FastForward(9 * time.Second)
	if ok, _ := a.Renew(ctx); !ok {
		t.Fatal("Renew before expiry failed")
	}
	mr.FastForward(9 * time.Second) // 18 s after acquiring: alive only thanks to the renewal
	if ok, _ := b.Acquire(ctx); ok {
		t.Fatal("a renewed lease was taken")
	}
	mr.FastForward(2 * time.Second)
	if ok, _ := b.Acquire(ctx); !ok {
		t.Fatal("an expired lease could not be taken")
	}
	if ok, _ := a.Renew(ctx); ok {
		t.Fatal("the stale holder renewed")
	}
	h := &History{Client: c, IdleTTL: time.Minute, EndTTL: 5 * time.Second}
	if _, err := h.Append(ctx, a, 0, entries(0, 1)); !errors.Is(err, stream.ErrNotLeader) {
		t.Fatalf("stale Append = %v, want ErrNotLeader", err)
	}
	if n, err := h.Append(ctx, b, 0, entries(0, 2)); err != nil || n != 2 {
		t.Fatalf("Append = %d, %v", n, err)
	}
	if err := h.Finish(ctx, b); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	mr.FastForward(6 * time.Second)
	if p, _ := h.Read(ctx, scope, 0, 10); len(p.Entries) != 0 {
		t.Fatalf("%d entries after the end ttl, want the stream expired", len(p.Entries))
	}
}
