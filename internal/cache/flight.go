package cache

import (
	"context"
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Coalescer is a Store that several processes share and that coalesces
// their upstream calls too: while one process calls upstream for a key, the
// others wait for the entry it keeps. The Cache coalesces the calls within
// its process first, so one read per process at most waits in Await.
type Coalescer interface {
	Store
	// Await is called before an upstream call for k, read at generation
	// gen. It returns a fresh entry that another process kept for k
	// meanwhile (found true), or, when this process is to make the call,
	// found false and release, which the Cache calls once the answer is
	// kept or the call failed. Await gives up waiting when ctx ends.
	Await(ctx context.Context, k Key, gen uint64) (e Entry, found bool, release func())
}

// fromOther is what a fill gives when another process made the call and
// kept e: its answer, or for a kept 404 the error the call gave.
func fromOther(e Entry) (filled, error) {
	f := filled{status: e.Status, remote: true}
	if e.Status == http.StatusNotFound {
		return f, &codegen.Error{Op: "cached", StatusCode: http.StatusNotFound, Message: string(e.Body)}
	}
	f.entry = e
	return f, nil
}

// flightKey names a shared call: the read and the token's generation when
// it was asked. A read asked after a write of the token (Invalidate moves
// the generation on) never joins a call sent before the write, which may
// have read what the write changed.
type flightKey struct {
	Key
	gen uint64
}

// flight is one upstream call that concurrent identical reads share. Its
// result fields are written before done is closed; waiters and shared are
// guarded by Cache.mu.
//
// Coalescing is done here rather than with golang.org/x/sync/singleflight
// because a shared call must outlive any one caller yet stop when every
// caller has left (a server's shutdown, or all clients gone), and
// singleflight cannot cancel a call by its callers' count.
type flight struct {
	done   chan struct{}
	val    filled
	err    error
	cancel context.CancelCauseFunc

	waiters int
	shared  bool
}

// join returns k's call under way, or starts one running fill on a context
// detached from ctx (values kept, bounded by Timeout, cancelled only when
// every caller has left). led reports whether this caller started it.
func (c *Cache) join(ctx context.Context, k flightKey, fill func(context.Context) (filled, error)) (f *flight, led bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f = c.flights[k]; f != nil {
		f.waiters++
		f.shared = true
		return f, false
	}
	detached, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	f = &flight{done: make(chan struct{}), cancel: cancel, waiters: 1}
	if c.flights == nil {
		c.flights = map[flightKey]*flight{}
	}
	c.flights[k] = f
	go func() {
		tctx, stop := context.WithTimeout(detached, c.timeout())
		val, err := fill(tctx)
		stop()
		c.mu.Lock()
		if c.flights[k] == f {
			delete(c.flights, k)
		}
		f.val, f.err = val, err
		c.mu.Unlock()
		close(f.done)
		cancel(nil)
	}()
	return f, true
}

// leave is a caller of f giving up on it; the last one cancels the call
// with cause, and a later read starts a new one.
func (c *Cache) leave(k flightKey, f *flight, cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return
	}
	if c.flights[k] == f {
		delete(c.flights, k)
	}
	f.cancel(cause)
}

// Waiting reports how many reads are waiting on shared calls under way.
func (c *Cache) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.flights {
		n += f.waiters
	}
	return n
}
