// Package budget paces each token's calls to the Codegen API within the
// API's documented limits (codegen.Class.Limit), in memory: one token bucket
// (golang.org/x/time/rate) per token and class, a pause per token and class
// that an upstream 429 sets, and a reserve that only stream pollers may
// spend. Budget implements codegen.Budget; a shared implementation (Redis)
// can take its place behind that interface.
package budget

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Budget is the in-memory codegen.Budget. Each class's bucket holds a burst
// and refills so that no window of the documented length sees more than
// the limit less one (a margin for the upstream's own clock): general calls
// a burst of 10 and 49 more per 30 s, log reads 5 and 54 more per 60 s,
// creations 5 and 4 more per minute. A UI's first page load fits the
// general burst; creations, which come in bursts, get half their limit at
// once.
//
// The zero value is ready to use; fields must not change after the first
// call. It is safe for concurrent use.
type Budget struct {
	// MaxWait bounds how long a PriorityNormal call waits for a slot; one
	// that would wait longer fails at once with a *codegen.BudgetError
	// telling how long the wait is. If zero, 1 second; if negative, a call
	// never waits. PriorityStream calls wait as long as their context lets
	// them.
	MaxWait time.Duration

	// Reserve is how many calls of each class's burst PriorityNormal calls
	// leave to PriorityStream ones: they take a slot only while more than
	// Reserve remain, so streams go first. It is capped at the burst less
	// one. If zero, 2; if negative, none.
	Reserve int

	// MaxTokens bounds the tokens whose buckets are kept. Past it an idle
	// token's are dropped (buckets full, no pause pending: forgetting them
	// changes nothing), the least recently used first, looking at no more
	// than evictScan of them; when none of those is idle, a new token's
	// call fails with codegen.ErrTooManyTokens rather than reset a busy
	// token's budget. If zero, 10000.
	MaxTokens int

	// Now and Sleep are the clock: Sleep waits d or until ctx ends,
	// returning ctx's error then. If nil, the real clock.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	// OnWait, if set, is called when a call got its slot after waiting d;
	// OnRefuse when a call was refused. They must be safe for concurrent
	// use.
	OnWait   func(class codegen.Class, d time.Duration)
	OnRefuse func(class codegen.Class)

	mu     sync.Mutex
	lru    list.List // of *tokenState, most recently used first
	tokens map[codegen.TokenKey]*list.Element
}

var _ codegen.Budget = (*Budget)(nil)

// tokenState is one token's buckets and pauses, guarded by its mu.
type tokenState struct {
	key    codegen.TokenKey
	mu     sync.Mutex
	lims   [3]*rate.Limiter
	paused [3]time.Time // no calls of the class before this
}

// Take implements codegen.Budget.
func (b *Budget) Take(ctx context.Context, key codegen.TokenKey, class codegen.Class, p codegen.Priority) error {
	st, err := b.state(key)
	if err != nil {
		return err
	}
	var waited time.Duration
	for {
		wait, ok := b.try(st, class, p)
		if ok {
			if waited > 0 && b.OnWait != nil {
				b.OnWait(class, waited)
			}
			return nil
		}
		if p != codegen.PriorityStream && waited+wait > b.maxWait() {
			if b.OnRefuse != nil {
				b.OnRefuse(class)
			}
			return &codegen.BudgetError{Class: class, RetryAfter: wait}
		}
		if err := b.sleep(ctx, wait); err != nil {
			return err
		}
		waited += wait
	}
}

// Pause implements codegen.Budget. A token with no state and no room for
// one is not paused: it made no call that Take allowed, so none of its
// calls reached the API.
func (b *Budget) Pause(key codegen.TokenKey, class codegen.Class, d time.Duration) {
	st, err := b.state(key)
	if err != nil {
		return
	}
	until := b.now().Add(d)
	st.mu.Lock()
	defer st.mu.Unlock()
	if until.After(st.paused[class]) {
		st.paused[class] = until
	}
}

// try takes a slot of class if one is free for p, or returns how long until
// one will be, as far as the bucket and the pause tell.
func (b *Budget) try(st *tokenState, class codegen.Class, p codegen.Priority) (time.Duration, bool) {
	now := b.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if until := st.paused[class]; now.Before(until) {
		return until.Sub(now), false
	}
	lim := st.lims[class]
	need := 1.0
	if p != codegen.PriorityStream && class != codegen.ClassCreate { // streams never create
		need += float64(b.reserve(lim.Burst()))
	}
	tokens := lim.TokensAt(now)
	if tokens >= need && lim.AllowN(now, 1) {
		return 0, true
	}
	secs := (need - tokens) / float64(lim.Limit())
	return max(time.Duration(math.Ceil(secs*1e3))*time.Millisecond, time.Millisecond), false
}

// evictScan bounds how many of the least recently used tokens a new token
// looks at for an idle one to replace, so that a Budget full of busy
// tokens costs each refused call a few locks, not MaxTokens.
const evictScan = 64

// state returns key's buckets, making them if there are none, in room
// that an idle token's made past MaxTokens; it fails with
// codegen.ErrTooManyTokens when there is no room.
func (b *Budget) state(key codegen.TokenKey) (*tokenState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens == nil {
		b.tokens = map[codegen.TokenKey]*list.Element{}
	}
	if e, ok := b.tokens[key]; ok {
		b.lru.MoveToFront(e)
		return e.Value.(*tokenState), nil
	}
	if b.lru.Len() >= b.maxTokens() && !b.evictIdle(b.now()) {
		return nil, fmt.Errorf("%w: %d kept, none idle", codegen.ErrTooManyTokens, b.lru.Len())
	}
	st := &tokenState{key: key}
	for _, c := range codegen.Classes {
		st.lims[c] = newLimiter(c)
	}
	b.tokens[key] = b.lru.PushFront(st)
	return st, nil
}

// evictIdle drops the least recently used idle token's state among the
// evictScan least recently used, and reports whether it found one. b.mu
// is held.
func (b *Budget) evictIdle(now time.Time) bool {
	e := b.lru.Back()
	for range evictScan {
		if e == nil {
			return false
		}
		if st := e.Value.(*tokenState); st.idle(now) {
			b.lru.Remove(e)
			delete(b.tokens, st.key)
			return true
		}
		e = e.Prev()
	}
	return false
}

// idle reports whether st's buckets are full and no pause is pending at
// now: a state that a fresh one would replace exactly.
func (st *tokenState) idle(now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range codegen.Classes {
		if now.Before(st.paused[c]) || st.lims[c].TokensAt(now) < float64(st.lims[c].Burst()) {
			return false
		}
	}
	return true
}

// bursts is each class's burst; see Budget.
var bursts = [...]int{codegen.ClassGeneral: 10, codegen.ClassLogs: 5, codegen.ClassCreate: 5}

// Pace returns class c's bucket: burst calls at once, refilled by refill
// calls per window of its documented limit of n (refill is n - burst - 1).
// A shared budget paces with the same buckets.
func Pace(c codegen.Class) (burst, refill int, window time.Duration) {
	n, window := c.Limit()
	return bursts[c], n - bursts[c] - 1, window
}

// newLimiter returns a full bucket for class c, paced as Pace says.
func newLimiter(c codegen.Class) *rate.Limiter {
	burst, refill, window := Pace(c)
	return rate.NewLimiter(rate.Limit(float64(refill)/window.Seconds()), burst)
}

// Tokens reports how many tokens' buckets are kept.
func (b *Budget) Tokens() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}

func (b *Budget) reserve(burst int) int { return ReserveOf(b.Reserve, burst) }

func (b *Budget) maxWait() time.Duration { return MaxWaitOf(b.MaxWait) }

// ReserveOf is the calls of a burst that a Reserve setting r keeps for
// PriorityStream calls: 2 if r is zero, none if negative, capped at the
// burst less one. Budget and the shared budget of internal/cluster read
// their Reserve with it.
func ReserveOf(r, burst int) int {
	switch {
	case r < 0:
		return 0
	case r == 0:
		return min(2, burst-1)
	}
	return min(r, burst-1)
}

// MaxWaitOf is how long a PriorityNormal call waits under a MaxWait
// setting d: 1 second if d is zero, not at all if negative.
func MaxWaitOf(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return time.Second
	}
	return d
}

func (b *Budget) maxTokens() int {
	if b.MaxTokens > 0 {
		return b.MaxTokens
	}
	return 10000
}

func (b *Budget) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Budget) sleep(ctx context.Context, d time.Duration) error {
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
