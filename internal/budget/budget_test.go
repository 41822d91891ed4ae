package budget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// fakeClock is a clock that moves only when Sleep or Advance says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

func newTestBudget(clk *fakeClock) *Budget {
	return &Budget{Now: clk.Now, Sleep: clk.Sleep, MaxWait: -1}
}

var tokA, tokB = codegen.KeyOf("a"), codegen.KeyOf("b")

// drain takes normal-priority slots until refused and returns how many it
// got and the refusal.
func drain(t *testing.T, b *Budget, key codegen.TokenKey, class codegen.Class) (int, *codegen.BudgetError) {
	t.Helper()
	for n := 0; n < 1000; n++ {
		err := b.Take(context.Background(), key, class, codegen.PriorityNormal)
		var be *codegen.BudgetError
		if errors.As(err, &be) {
			return n, be
		}
		if err != nil {
			t.Fatalf("Take: %v", err)
		}
	}
	t.Fatal("never refused")
	return 0, nil
}

func TestBurstReserveAndRetryAfter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		class      codegen.Class
		normal     int           // slots a normal caller gets: burst less the reserve
		retryAfter time.Duration // then: until reserve+1 slots are back
	}{
		// general: burst 10, 49 per 30 s (0.612 s per slot), reserve 2.
		{codegen.ClassGeneral, 8, 613 * time.Millisecond},
		// logs: burst 5, 54 per 60 s (1.111 s per slot), reserve 2.
		{codegen.ClassLogs, 3, 1112 * time.Millisecond},
		// create: burst 5, 4 per minute (15 s per slot), no reserve.
		{codegen.ClassCreate, 5, 15 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.class.String(), func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			b := newTestBudget(clk)
			n, be := drain(t, b, tokA, tc.class)
			if n != tc.normal {
				t.Errorf("normal slots: got %d, want %d", n, tc.normal)
			}
			if be.Class != tc.class || be.RetryAfter != tc.retryAfter {
				t.Errorf("refusal: got %s after %s, want %s after %s", be.Class, be.RetryAfter, tc.class, tc.retryAfter)
			}
			// Accurate: at RetryAfter a normal call gets its slot, not before.
			clk.Advance(be.RetryAfter - 2*time.Millisecond)
			if err := b.Take(context.Background(), tokA, tc.class, codegen.PriorityNormal); err == nil {
				t.Errorf("a slot before Retry-After")
			}
			clk.Advance(2 * time.Millisecond)
			if err := b.Take(context.Background(), tokA, tc.class, codegen.PriorityNormal); err != nil {
				t.Errorf("no slot at Retry-After: %v", err)
			}
		})
	}
}

// TestStreamsGoFirst: once REST polling has spent all it may, stream
// pollers still get the reserve at once, and another token is untouched.
func TestStreamsGoFirst(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	b := newTestBudget(clk)
	drain(t, b, tokA, codegen.ClassGeneral)
	ctx := context.Background()
	for i := range 2 {
		if err := b.Take(ctx, tokA, codegen.ClassGeneral, codegen.PriorityStream); err != nil {
			t.Fatalf("stream call %d refused: %v", i, err)
		}
	}
	if n, _ := drain(t, b, tokB, codegen.ClassGeneral); n != 8 {
		t.Errorf("token b's slots: got %d, want 8 (tokens never share)", n)
	}
	// The bucket is empty: a stream call waits for the next slot (the fake
	// clock's Sleep moves time), it is not refused.
	start := clk.Now()
	if err := b.Take(ctx, tokA, codegen.ClassGeneral, codegen.PriorityStream); err != nil {
		t.Fatalf("stream call refused: %v", err)
	}
	if waited := clk.Now().Sub(start); waited <= 0 || waited > time.Second {
		t.Errorf("stream call waited %s, want one slot's refill", waited)
	}
}

func TestWaitBrieflyThenRefuse(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var waits, refusals int
	b := &Budget{Now: clk.Now, Sleep: clk.Sleep, MaxWait: time.Second,
		OnWait: func(codegen.Class, time.Duration) { waits++ }, OnRefuse: func(codegen.Class) { refusals++ }}
	ctx := context.Background()
	for range 8 {
		if err := b.Take(ctx, tokA, codegen.ClassGeneral, codegen.PriorityNormal); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Take(ctx, tokA, codegen.ClassGeneral, codegen.PriorityNormal); err != nil {
		t.Fatalf("a call within MaxWait of its slot was refused: %v", err)
	}
	if waits != 1 {
		t.Errorf("waits: got %d, want 1", waits)
	}
	// Creates refill every 15 s: past MaxWait, refused at once.
	for range 5 {
		if err := b.Take(ctx, tokA, codegen.ClassCreate, codegen.PriorityNormal); err != nil {
			t.Fatal(err)
		}
	}
	before := clk.Now()
	err := b.Take(ctx, tokA, codegen.ClassCreate, codegen.PriorityNormal)
	if !errors.Is(err, codegen.ErrOverBudget) || refusals != 1 || clk.Now() != before {
		t.Errorf("got %v after waiting %s (%d refusals), want an immediate refusal", err, clk.Now().Sub(before), refusals)
	}
}

func TestPauseHoldsTheClass(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	b := newTestBudget(clk)
	b.Pause(tokA, codegen.ClassLogs, 7*time.Second)
	err := b.Take(context.Background(), tokA, codegen.ClassLogs, codegen.PriorityNormal)
	var be *codegen.BudgetError
	if !errors.As(err, &be) || be.RetryAfter != 7*time.Second || be.RetryAfterSeconds() != "7" {
		t.Fatalf("got %v, want a refusal for 7s", err)
	}
	if err := b.Take(context.Background(), tokA, codegen.ClassGeneral, codegen.PriorityNormal); err != nil {
		t.Errorf("the general class was paused too: %v", err)
	}
	clk.Advance(7 * time.Second)
	if err := b.Take(context.Background(), tokA, codegen.ClassLogs, codegen.PriorityNormal); err != nil {
		t.Errorf("still paused after the pause: %v", err)
	}
}

func TestTokensBounded(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	b := &Budget{Now: clk.Now, Sleep: clk.Sleep, MaxTokens: 2, MaxWait: -1}
	take := func(tok string) error {
		return b.Take(context.Background(), codegen.KeyOf(tok), codegen.ClassGeneral, codegen.PriorityNormal)
	}
	for _, tok := range []string{"a", "b"} {
		if err := take(tok); err != nil {
			t.Fatalf("%s: %v", tok, err)
		}
	}
	// a and b each spent a call: neither is idle, so c finds no room.
	if err := take("c"); !errors.Is(err, codegen.ErrTooManyTokens) {
		t.Errorf("a third token while two are busy: got %v, want ErrTooManyTokens", err)
	}
	clk.Advance(time.Minute) // every bucket full again: a and b are idle
	if err := take("c"); err != nil {
		t.Errorf("a third token once the others are idle: got %v, want nil", err)
	}
	if n := b.Tokens(); n != 2 {
		t.Errorf("tokens kept: got %d, want 2", n)
	}
}

// TestEvictionNeverResetsABusyBudget has other tokens (any client can send
// them, even invalid ones: Take makes a state before the API refuses the
// token) crowd a spent and paused token: it must keep its spent buckets
// and its pause, not come back with full ones.
func TestEvictionNeverResetsABusyBudget(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	b := &Budget{Now: clk.Now, Sleep: clk.Sleep, MaxWait: -1, Reserve: -1, MaxTokens: 100}
	victim := codegen.KeyOf("victim")
	ctx := context.Background()
	granted, refused := 0, 0
	for round := range 8 {
		for b.Take(ctx, victim, codegen.ClassGeneral, codegen.PriorityNormal) == nil {
			granted++
		}
		for i := range 100 {
			err := b.Take(ctx, codegen.KeyOf(fmt.Sprint("junk-", round, "-", i)), codegen.ClassGeneral, codegen.PriorityNormal)
			if errors.Is(err, codegen.ErrTooManyTokens) {
				refused++
			}
		}
	}
	if burst := bursts[codegen.ClassGeneral]; granted != burst {
		t.Errorf("general calls granted to one token at one instant: got %d, want its burst %d", granted, burst)
	}
	if want := 8*100 - 99; refused != want {
		t.Errorf("crowding tokens refused: got %d, want %d (all but the 99 that fit)", refused, want)
	}
	b.Pause(victim, codegen.ClassGeneral, time.Hour)
	for i := range 100 {
		b.Take(ctx, codegen.KeyOf(fmt.Sprint("more-", i)), codegen.ClassGeneral, codegen.PriorityNormal) //nolint:errcheck // crowding
	}
	clk.Advance(time.Minute)
	var be *codegen.BudgetError
	if err := b.Take(ctx, victim, codegen.ClassGeneral, codegen.PriorityNormal); !errors.As(err, &be) || be.RetryAfter != 59*time.Minute {
		t.Errorf("a minute into a 1 h pause: got %v, want a *BudgetError with RetryAfter 59m", err)
	}
}

func TestCancelledWait(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	b := newTestBudget(clk)
	b.Pause(tokA, codegen.ClassGeneral, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Take(ctx, tokA, codegen.ClassGeneral, codegen.PriorityStream); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
