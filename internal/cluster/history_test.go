package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// holding returns a History on c and the scope's lease, which c holds.
func holding(t *testing.T, ctx context.Context, c *Client) (*History, *Lease) {
	t.Helper()
	l := c.Lease(scope, time.Minute)
	if ok, _ := l.Acquire(ctx); !ok {
		t.Fatal("Acquire failed")
	}
	return &History{Client: c}, l
}

func entries(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"pos":%d}`, from+i)
	}
	return out
}

func TestHistoryAppendsOnlyTheNextPositionFromTheHolder(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 2)
	ctx := testCtx(t)
	h, l := holding(t, ctx, cs[0])
	next, err := h.Append(ctx, l, 0, entries(0, 3))
	if err != nil || next != 3 {
		t.Fatalf("Append(0, 3 entries) = %d, %v; want 3, nil", next, err)
	}
	if next, err = h.Append(ctx, l, 3, entries(3, 2)); err != nil || next != 5 {
		t.Fatalf("Append(3, 2 entries) = %d, %v; want 5, nil", next, err)
	}
	if _, err := h.Append(ctx, l, 4, entries(4, 1)); !refused(err, 4, 5) {
		t.Fatalf("Append(4) = %v; want a duplicate refused with next 5", err)
	}
	if _, err := h.Append(ctx, l, 6, entries(6, 1)); !refused(err, 6, 5) {
		t.Fatalf("Append(6) = %v; want a gap refused with next 5", err)
	}
	stale := cs[1].Lease(scope, time.Minute) // a writer that does not hold the lease
	if _, err := h.Append(ctx, stale, 5, entries(5, 1)); !errors.Is(err, stream.ErrNotLeader) {
		t.Fatalf("Append by a non-holder = %v; want ErrNotLeader", err)
	}
	p, err := (&History{Client: cs[1]}).Read(ctx, scope, 0, 100)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	assertPage(t, p, 0, 5)
}

func TestHistoryStaleLeaderAfterTakeover(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 2)
	ctx := testCtx(t)
	h := &History{Client: cs[0]}
	old := cs[0].Lease(scope, time.Minute)
	old.Acquire(ctx)
	h.Append(ctx, old, 0, entries(0, 2))
	srv.Client().Del(ctx, old.key) // the old lease expired
	successor := cs[1].Lease(scope, time.Minute)
	if ok, _ := successor.Acquire(ctx); !ok {
		t.Fatal("successor could not acquire")
	}
	if _, err := h.Append(ctx, successor, 2, entries(2, 1)); err != nil {
		t.Fatalf("successor Append: %v", err)
	}
	if _, err := h.Append(ctx, old, 3, entries(3, 1)); !errors.Is(err, stream.ErrNotLeader) {
		t.Fatalf("stale leader Append = %v; want ErrNotLeader", err)
	}
	if ok, _ := old.Renew(ctx); ok {
		t.Fatal("stale leader renewed its lease after the takeover")
	}
	p, _ := h.Read(ctx, scope, 0, 100)
	assertPage(t, p, 0, 3)
}

func TestHistoryTrimsAndReadsFromAPosition(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	h := &History{Client: cs[0], MaxLen: 10, IdleTTL: time.Hour, EndTTL: 2 * time.Second}
	l := cs[0].Lease(scope, time.Minute)
	l.Acquire(ctx)
	for pos := 0; pos < 500; pos += 50 {
		if _, err := h.Append(ctx, l, pos, entries(pos, 50)); err != nil {
			t.Fatalf("Append(%d): %v", pos, err)
		}
	}
	rdb := srv.Client()
	if n := rdb.XLen(ctx, cs[0].scoped("log", scope)).Val(); n >= 500 || n < 10 {
		t.Fatalf("XLEN = %d after 500 appends with MaxLen 10; want trimmed to about 10", n)
	}
	p, err := h.Read(ctx, scope, 0, 5) // trimmed away: the page starts later
	if err != nil || p.From <= 0 {
		t.Fatalf("Read(0) = from %d, %v; want a later position, the oldest kept", p.From, err)
	}
	assertPage(t, p, p.From, 5)
	p, _ = h.Read(ctx, scope, 497, 100)
	assertPage(t, p, 497, 3)
	if p, _ = h.Read(ctx, scope, 500, 100); len(p.Entries) != 0 {
		t.Fatalf("Read past the end = %d entries, want 0", len(p.Entries))
	}
	if ttl := rdb.PTTL(ctx, cs[0].scoped("log", scope)).Val(); ttl < 59*time.Minute {
		t.Fatalf("PTTL while running = %v, want IdleTTL 1h", ttl)
	}
	if err := h.Finish(ctx, l); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if ttl := rdb.PTTL(ctx, cs[0].scoped("log", scope)).Val(); ttl <= 0 || ttl > 2*time.Second {
		t.Fatalf("PTTL after Finish = %v, want EndTTL 2s", ttl)
	}
}

func assertPage(t *testing.T, p Page, from, n int) {
	t.Helper()
	if p.From != from || len(p.Entries) != n {
		t.Fatalf("page from %d with %d entries, want from %d with %d", p.From, len(p.Entries), from, n)
	}
	for i, e := range p.Entries {
		if want := fmt.Sprintf(`{"pos":%d}`, from+i); string(e) != want {
			t.Fatalf("entry %d = %s, want %s", from+i, e, want)
		}
	}
}

func TestWatchWakesOnAppend(t *testing.T) {
	t.Parallel()
	srv := newServerForWatch(t)
	writer := newClient(t, srv, Options{CheckInterval: time.Hour}) // no periodic poke
	reader := newClient(t, srv, Options{CheckInterval: time.Hour})
	ctx := testCtx(t)
	w := reader.Watch(scope)
	defer w.Close()
	l := writer.Lease(scope, time.Minute)
	l.Acquire(ctx)
	h := &History{Client: writer}
	// The subscription is asynchronous: append until a notification comes.
	pos := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for woke := false; !woke; {
		pos, _ = h.Append(ctx, l, pos, entries(pos, 1))
		select {
		case <-w.C:
			woke = true
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no notification")
		}
	}
	p, _ := (&History{Client: reader}).Read(ctx, scope, 0, 100)
	if p.Next() != pos {
		t.Fatalf("read up to %d after the notification, want %d", p.Next(), pos)
	}
}

func TestWatchRecoversALostNotification(t *testing.T) {
	t.Parallel()
	srv := newServerForWatch(t)
	reader := newClient(t, srv, Options{CheckInterval: 50 * time.Millisecond})
	ctx := testCtx(t)
	w := reader.Watch(scope)
	defer w.Close()
	drain(w)
	// Written behind the notifier's back, as if the PUBLISH were lost.
	reader.Redis().XAdd(ctx, &redis.XAddArgs{Stream: reader.scoped("log", scope), ID: "0-1", Values: []any{"d", "x"}})
	h := &History{Client: reader}
	for {
		select {
		case <-w.C:
		case <-ctx.Done():
			t.Fatal("the periodic check never woke the reader")
		}
		if p, _ := h.Read(ctx, scope, 0, 10); len(p.Entries) == 1 {
			return
		}
	}
}

func drain(w *Watch) {
	for {
		select {
		case <-w.C:
		default:
			return
		}
	}
}

func newServerForWatch(t *testing.T) string {
	srv, _ := replicas(t, 0)
	return srv.URL()
}

// Positions up to MaxPosition round-trip through stream ids; beyond it, or
// below 0, Append and Read refuse with ErrPosition rather than writing an
// id Redis would misread or failing on the server.
func TestHistoryPositionBounds(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 1)
	ctx := testCtx(t)
	h, l := holding(t, ctx, cs[0])
	if next, err := h.Append(ctx, l, MaxPosition-1, entries(0, 2)); err != nil || next != MaxPosition+1 {
		t.Fatalf("Append of the last two positions = %d, %v; want %d, nil", next, err, MaxPosition+1)
	}
	p, err := h.Read(ctx, scope, MaxPosition, 10)
	if err != nil || p.From != MaxPosition || len(p.Entries) != 1 {
		t.Fatalf("Read at MaxPosition = %+v, %v; want its entry", p, err)
	}
	if _, err := h.Append(ctx, l, MaxPosition+1, entries(0, 1)); !errors.Is(err, ErrPosition) {
		t.Fatalf("Append past MaxPosition = %v, want ErrPosition", err)
	}
	for _, from := range []int{-1, MaxPosition + 1, math.MaxInt} {
		if _, err := h.Read(ctx, scope, from, 10); !errors.Is(err, ErrPosition) {
			t.Errorf("Read from %d = %v, want ErrPosition", from, err)
		}
	}
	if _, err := h.Append(ctx, l, -1, entries(0, 1)); !errors.Is(err, ErrPosition) {
		t.Errorf("Append at -1 = %v, want ErrPosition", err)
	}
}

func TestHistoryTakesPositionsAsLargeAsFeedNumbers(t *testing.T) {
	t.Parallel()
	_, cs := replicas(t, 1)
	ctx := testCtx(t)
	h, l := holding(t, ctx, cs[0])
	const pos = 1_796_079_714_554_999 // a runs feed numbers from the time in ms times 1000
	if next, err := h.Append(ctx, l, pos, entries(0, 2)); err != nil || next != pos+2 {
		t.Fatalf("Append(%d, 2 entries) = %d, %v; want %d, nil", pos, next, err, pos+2)
	}
	if _, err := h.Append(ctx, l, pos+1, entries(0, 1)); !refused(err, pos+1, pos+2) {
		t.Fatalf("Append(%d) = %v; want a duplicate refused with next %d", pos+1, err, pos+2)
	}
	p, err := h.Read(ctx, scope, 0, 10)
	if err != nil || p.From != pos || len(p.Entries) != 2 {
		t.Fatalf("Read from 0 = from %d, %d entries, %v; want from %d, 2 entries", p.From, len(p.Entries), err, pos)
	}
}

// refused reports whether err is an append at pos refused for its
// position, the history expecting next.
func refused(err error, pos, next int) bool {
	var pe *stream.PositionError
	return errors.As(err, &pe) && pe.Pos == pos && pe.Next == next
}
