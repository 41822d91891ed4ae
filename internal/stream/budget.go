package stream

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// budget paces one token's upstream log reads across all its pollers: a token
// bucket refilled at the configured rate per minute, with a small burst, and
// a pause that a 429 imposes on all of them at once. refs is guarded by the
// Hub's mutex; the rest is safe for concurrent use.
type budget struct {
	lim  *rate.Limiter
	refs int

	mu    sync.Mutex
	until time.Time // no reads before this (set by a 429)
}

// newBudget allows perMinute reads a minute with a burst of up to 5, so no
// 60-second window sees more than perMinute+5 reads.
func newBudget(perMinute int) *budget {
	burst := max(1, min(5, perMinute/10))
	return &budget{lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), burst)}
}

// wait blocks until a read is allowed or ctx ends.
func (b *budget) wait(ctx context.Context) error {
	b.mu.Lock()
	pause := time.Until(b.until)
	b.mu.Unlock()
	if pause > 0 {
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	return b.lim.Wait(ctx)
}

// pauseFor holds every read of this token back for d.
func (b *budget) pauseFor(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := time.Now().Add(d); until.After(b.until) {
		b.until = until
	}
}
