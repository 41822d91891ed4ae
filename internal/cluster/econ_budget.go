package cluster

import (
	"context"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/budget"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// TokenBudget is the codegen.Budget of replicas that share Redis: each
// token's classes are paced by Budget on the Redis server's clock, with the
// buckets of the in-memory budget (budget.Pace), so that all replicas
// together keep within the documented limits that one replica alone keeps.
// Its options mean what budget.Budget's do: PriorityNormal calls leave
// Reserve calls of each burst (run creations none) to PriorityStream ones,
// and wait at most MaxWait before a *codegen.BudgetError that says how
// long until a slot; PriorityStream calls wait as long as their context
// lets them. An upstream 429's Pause holds the class back on every replica.
// While Redis is unreachable Budget falls back to this replica's share of
// the buckets, so Take never fails because of Redis.
//
// Budget is required; the other fields have useful zero values and must
// not change after the first call. It is safe for concurrent use.
type TokenBudget struct {
	Budget *Budget
	// MaxWait bounds a PriorityNormal call's wait. If zero, 1 second; if
	// negative, a call never waits.
	MaxWait time.Duration
	// Reserve is how many calls of each class's burst PriorityNormal calls
	// leave to PriorityStream ones, capped at the burst less one. If zero,
	// 2; if negative, none.
	Reserve int
	// OnWait, if set, is called when a call got its slot after waiting d;
	// OnRefuse when a call was refused. They must be safe for concurrent
	// use.
	OnWait   func(class codegen.Class, d time.Duration)
	OnRefuse func(class codegen.Class)
}

var _ codegen.Budget = (*TokenBudget)(nil)

// Take implements codegen.Budget.
func (b *TokenBudget) Take(ctx context.Context, key codegen.TokenKey, class codegen.Class, p codegen.Priority) error {
	l := b.limit(class, p)
	tok := TokenHash(key) // both are the token's SHA-256
	start := time.Now()
	slept := false
	for {
		ok, after := b.Budget.Allow(ctx, tok, class.String(), l)
		if ok {
			if slept && b.OnWait != nil {
				b.OnWait(class, time.Since(start))
			}
			return nil
		}
		if p != codegen.PriorityStream && time.Since(start)+after > b.maxWait() {
			if b.OnRefuse != nil {
				b.OnRefuse(class)
			}
			return &codegen.BudgetError{Class: class, RetryAfter: after}
		}
		t := time.NewTimer(max(after, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		slept = true
	}
}

// Pause implements codegen.Budget. The interface gives no context: the
// Redis call is bounded by the Client's Timeout alone.
func (b *TokenBudget) Pause(key codegen.TokenKey, class codegen.Class, d time.Duration) {
	b.Budget.Pause(context.Background(), TokenHash(key), class.String(), d)
}

// limit is class's bucket as p may spend it.
func (b *TokenBudget) limit(class codegen.Class, p codegen.Priority) Limit {
	burst, refill, window := budget.Pace(class)
	l := Limit{Rate: refill, Period: window, Burst: burst}
	if p != codegen.PriorityStream && class != codegen.ClassCreate { // streams never create
		l.Reserve = b.reserve(burst)
	}
	return l
}

func (b *TokenBudget) reserve(burst int) int  { return budget.ReserveOf(b.Reserve, burst) }
func (b *TokenBudget) maxWait() time.Duration { return budget.MaxWaitOf(b.MaxWait) }
