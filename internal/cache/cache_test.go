package cache

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Read starts a goroutine per shared call: none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a clock that moves only when a test advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

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

// events counts what Observe was told.
type events struct {
	mu sync.Mutex
	n  map[Event]int
}

func (e *events) observe(_ Class, ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[Event]int{}
	}
	e.n[ev]++
}

func (e *events) count(ev Event) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[ev]
}

func newTestCache() (*Cache, *fakeClock, *events) {
	clk := &fakeClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	ev := &events{}
	return &Cache{Now: clk.Now, Observe: ev.observe}, clk, ev
}

var keyA = Key{Token: codegen.KeyOf("a"), Name: "org/1/run/5/"}

// answer returns a fetch that answers body.
func answer(body string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return []byte(body), nil }
}

// waitFor waits, with a deadline, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type result struct {
	res Result
	err error
}

func TestConcurrentReadsShareOneCall(t *testing.T) {
	t.Parallel()
	c, _, ev := newTestCache()
	release := make(chan struct{})
	var calls atomic.Int64
	fetch := func(context.Context) ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte(`{"id":5}`), nil
	}
	const n = 8
	out := make(chan result, n)
	for range n {
		go func() {
			res, err := c.Read(context.Background(), keyA, ClassRun, fetch)
			out <- result{res, err}
		}()
	}
	waitFor(t, "every read to wait on the call", func() bool { return c.Waiting() == n })
	close(release)
	collapsed := 0
	for range n {
		r := <-out
		if r.err != nil || string(r.res.Body) != `{"id":5}` {
			t.Fatalf("read: got %q, %v; want the answer", r.res.Body, r.err)
		}
		if strings.HasSuffix(r.res.CacheStatus, "; collapsed") {
			collapsed++
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("upstream calls: got %d, want 1", got)
	}
	if collapsed != n || ev.count(Miss) != 1 || ev.count(Coalesced) != n-1 {
		t.Errorf("collapsed %d, misses %d, coalesced %d: want %d, 1, %d", collapsed, ev.count(Miss), ev.count(Coalesced), n, n-1)
	}
	res, err := c.Read(context.Background(), keyA, ClassRun, answer("never"))
	if err != nil || string(res.Body) != `{"id":5}` || !strings.HasPrefix(res.CacheStatus, "codegen-proxy; hit") {
		t.Errorf("read after: got %q %q %v, want a hit", res.Body, res.CacheStatus, err)
	}
}

func TestTokensNeverShareACallOrAnEntry(t *testing.T) {
	t.Parallel()
	c, _, _ := newTestCache()
	keyB := Key{Token: codegen.KeyOf("b"), Name: keyA.Name}
	c.Read(context.Background(), keyA, ClassRun, answer("a")) //nolint:errcheck // kept
	res, err := c.Read(context.Background(), keyB, ClassRun, answer("b"))
	if err != nil || string(res.Body) != "b" {
		t.Errorf("token b after token a: got %q, %v; want its own answer", res.Body, err)
	}
}

func TestALeavingCallerDoesNotCancelTheCallForTheOthers(t *testing.T) {
	t.Parallel()
	c, _, _ := newTestCache()
	release := make(chan struct{})
	fetch := func(ctx context.Context) ([]byte, error) {
		select {
		case <-release:
			return []byte("x"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	leaving, leave := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := c.Read(leaving, keyA, ClassRun, fetch)
		left <- err
	}()
	waitFor(t, "the first read to wait", func() bool { return c.Waiting() == 1 })
	stays := make(chan result, 1)
	go func() {
		res, err := c.Read(context.Background(), keyA, ClassRun, fetch)
		stays <- result{res, err}
	}()
	waitFor(t, "the second read to join", func() bool { return c.Waiting() == 2 })
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("leaving caller: got %v, want context.Canceled", err)
	}
	close(release)
	if r := <-stays; r.err != nil || string(r.res.Body) != "x" {
		t.Errorf("remaining caller: got %q, %v; want the answer", r.res.Body, r.err)
	}
}

func TestTheCallStopsWhenEveryCallerHasLeft(t *testing.T) {
	t.Parallel()
	c, _, _ := newTestCache()
	stopped := make(chan error, 1)
	fetch := func(ctx context.Context) ([]byte, error) {
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	gone := errors.New("client gone")
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(ctx, keyA, ClassRun, fetch)
		done <- err
	}()
	waitFor(t, "the read to wait", func() bool { return c.Waiting() == 1 })
	cancel(gone)
	if err := <-done; !errors.Is(err, gone) {
		t.Errorf("caller: got %v, want its cause", err)
	}
	if cause := <-stopped; !errors.Is(cause, gone) {
		t.Errorf("call stopped with %v, want the last caller's cause", cause)
	}
}

// A read asked after Invalidate starts its own call, and the call sent
// before it does not store what it read.
func TestInvalidateSeparatesReadsBeforeAndAfter(t *testing.T) {
	t.Parallel()
	c, _, _ := newTestCache()
	release := make(chan struct{})
	before := make(chan result, 1)
	go func() {
		res, err := c.Read(context.Background(), keyA, ClassRun, func(context.Context) ([]byte, error) {
			<-release
			return []byte("before"), nil
		})
		before <- result{res, err}
	}()
	waitFor(t, "the first read to wait", func() bool { return c.Waiting() == 1 })
	c.Invalidate(keyA.Token, "org/1/run")
	res, err := c.Read(context.Background(), keyA, ClassRun, answer("after"))
	if err != nil || string(res.Body) != "after" {
		t.Fatalf("read after Invalidate: got %q (%q), %v; want its own call's answer", res.Body, res.CacheStatus, err)
	}
	close(release)
	if r := <-before; r.err != nil || string(r.res.Body) != "before" || strings.Contains(r.res.CacheStatus, "stored") {
		t.Errorf("read before Invalidate: got %q (%q), %v; want its answer, not stored", r.res.Body, r.res.CacheStatus, r.err)
	}
	res, _ = c.Read(context.Background(), keyA, ClassRun, answer("never"))
	if string(res.Body) != "after" {
		t.Errorf("kept: got %q, want the answer read after Invalidate", res.Body)
	}
}

func TestInvalidateDropsByPrefixAndTokenOnly(t *testing.T) {
	t.Parallel()
	m := &Memory{}
	other := Key{Token: codegen.KeyOf("b"), Name: keyA.Name}
	list := Key{Token: keyA.Token, Name: "org/1/runs?x"}
	user := Key{Token: keyA.Token, Name: "me"}
	for _, k := range []Key{keyA, other, list, user} {
		if !m.Put(k, Entry{Status: http.StatusOK, Body: []byte("x")}, m.Generation(k.Token)) {
			t.Fatalf("Put %v refused", k.Name)
		}
	}
	m.Invalidate(keyA.Token, "org/1/run/")
	for k, want := range map[Key]bool{keyA: false, other: true, list: true, user: true} {
		if _, ok := m.Get(k); ok != want {
			t.Errorf("%s after Invalidate: kept %v, want %v", k.Name, ok, want)
		}
	}
	m.Invalidate(keyA.Token, "")
	if n, _ := m.Len(); n != 1 {
		t.Errorf("after dropping everything of token a: %d entries, want token b's one", n)
	}
}

func TestMemoryBounds(t *testing.T) {
	t.Parallel()
	put := func(m *Memory, name string, size int) bool {
		k := Key{Token: keyA.Token, Name: name}
		return m.Put(k, Entry{Status: http.StatusOK, Body: make([]byte, size)}, m.Generation(k.Token))
	}
	t.Run("entries", func(t *testing.T) {
		t.Parallel()
		m := &Memory{MaxEntries: 2}
		for _, name := range []string{"a", "b", "c"} {
			put(m, name, 10)
		}
		if _, ok := m.Get(Key{Token: keyA.Token, Name: "a"}); ok {
			t.Error("the least recently used entry was kept past MaxEntries")
		}
		if n, _ := m.Len(); n != 2 {
			t.Errorf("entries: got %d, want 2", n)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		m := &Memory{MaxBytes: 3 * (1000 + entryOverhead)}
		for _, name := range []string{"a", "b", "c", "d"} {
			put(m, name, 1000-len(name))
		}
		if n, b := m.Len(); n != 3 || b > m.MaxBytes {
			t.Errorf("got %d entries of %d bytes, want 3 within %d", n, b, m.MaxBytes)
		}
	})
	t.Run("entry size", func(t *testing.T) {
		t.Parallel()
		m := &Memory{MaxEntryBytes: 1000}
		if put(m, "big", 1000) {
			t.Error("an entry over MaxEntryBytes was kept")
		}
		c := &Cache{Store: m}
		res, err := c.Read(context.Background(), keyA, ClassRun, answer(strings.Repeat("a", 2000)))
		if err != nil || len(res.Body) != 2000 || strings.Contains(res.CacheStatus, "stored") {
			t.Errorf("a large answer: got %d bytes (%q), %v; want it served, not stored", len(res.Body), res.CacheStatus, err)
		}
	})
}

func TestStaleOnlyWhenOverBudgetAndOnlyA200(t *testing.T) {
	t.Parallel()
	overBudget := func(context.Context) ([]byte, error) {
		return nil, &codegen.BudgetError{Class: codegen.ClassGeneral, RetryAfter: time.Second}
	}
	c, clk, ev := newTestCache()
	c.Read(context.Background(), keyA, ClassRun, answer("x")) //nolint:errcheck // kept for 2 s
	clk.Advance(5 * time.Second)
	res, err := c.Read(context.Background(), keyA, ClassRun, overBudget)
	if err != nil || string(res.Body) != "x" || res.CacheStatus != "codegen-proxy; hit; ttl=-3; detail=over-budget" || ev.count(Stale) != 1 {
		t.Errorf("over budget 3 s past freshness: got %q %q %v, want the kept answer marked stale", res.Body, res.CacheStatus, err)
	}
	upstream429 := func(context.Context) ([]byte, error) {
		return nil, &codegen.Error{StatusCode: http.StatusTooManyRequests}
	}
	if res, err := c.Read(context.Background(), keyA, ClassRun, upstream429); err != nil || string(res.Body) != "x" {
		t.Errorf("after an upstream 429: got %q, %v; want the kept answer", res.Body, err)
	}
	failed := func(context.Context) ([]byte, error) { return nil, codegen.ErrUnreachable }
	if _, err := c.Read(context.Background(), keyA, ClassRun, failed); !errors.Is(err, codegen.ErrUnreachable) {
		t.Errorf("an unreachable upstream: got %v, want its error, not a stale answer", err)
	}
	clk.Advance(30 * time.Second) // past MaxStale
	if _, err := c.Read(context.Background(), keyA, ClassRun, overBudget); !errors.Is(err, codegen.ErrOverBudget) {
		t.Errorf("over budget past MaxStale: got %v, want ErrOverBudget", err)
	}

	notFound := Key{Token: keyA.Token, Name: "org/1/run/7/"}
	gone := func(context.Context) ([]byte, error) {
		return nil, &codegen.Error{StatusCode: http.StatusNotFound, Message: "Agent run not found."}
	}
	c.Read(context.Background(), notFound, ClassRun, gone) //nolint:errcheck // kept for 2 s
	var apiErr *codegen.Error
	if _, err := c.Read(context.Background(), notFound, ClassRun, answer("never")); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("a kept 404: got %v, want the 404", err)
	}
	clk.Advance(3 * time.Second)
	if _, err := c.Read(context.Background(), notFound, ClassRun, overBudget); !errors.Is(err, codegen.ErrOverBudget) {
		t.Errorf("over budget past a 404's freshness: got %v, want ErrOverBudget, never the 404 stale", err)
	}
}
