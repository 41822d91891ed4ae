package cluster

import (
	"errors"
	"testing"
	"time"

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
