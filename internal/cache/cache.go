// Package cache keeps a short per-token cache of the Codegen API's read
// answers and coalesces concurrent identical reads into one upstream call.
//
// An entry is known by the token's hash and the read's name (its operation
// and every parameter: the upstream method, path and query), so tokens never
// share an entry or a call. Answers stay fresh for their route class's
// freshness; a 404 for a short while; other errors are never kept. When the
// token's budget is spent (or the API answered 429), the freshest kept
// 200 is served marked stale, within MaxStale. Writes invalidate what
// they affect through Invalidate. Entries live in a Store: Memory here, a
// shared one (Redis) may replace it.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Class is a route class: the reads that share a freshness.
type Class uint8

const (
	ClassRun     Class = iota // one agent run
	ClassRunList              // lists of agent runs
	ClassLogs                 // a run's logs
	ClassOrg                  // users, organizations, repositories, integrations
	NumClasses
)

// String names the class for metrics: run, run_list, logs or org.
func (c Class) String() string {
	switch c {
	case ClassRun:
		return "run"
	case ClassRunList:
		return "run_list"
	case ClassLogs:
		return "logs"
	}
	return "org"
}

// Key names an entry: the token's hash and the read.
type Key struct {
	Token codegen.TokenKey
	// Name is the read: operation and parameters, written so that a write
	// can invalidate by prefix, such as "org/323/run/12345/logs?limit=10".
	Name string
}

// Entry is one kept answer.
type Entry struct {
	Status int           // 200, or 404 for a briefly kept not-found
	Body   []byte        // the answer; for a 404, the API's message. Never modified.
	ETag   string        // strong validator of Body, quoted
	Stored time.Time     // when the answer arrived
	TTL    time.Duration // how long after Stored it is fresh
}

// Store holds entries. It must be safe for concurrent use.
type Store interface {
	// Get returns k's entry, fresh or not.
	Get(k Key) (Entry, bool)
	// Put keeps e under k and reports whether it did: not when e is over
	// the Store's entry bound, nor when tok's generation is no longer gen,
	// since a write of the token invalidated what was being read.
	Put(k Key, e Entry, gen uint64) bool
	// Generation returns tok's generation, which Invalidate moves on.
	Generation(tok codegen.TokenKey) uint64
	// Invalidate drops tok's entries whose Name starts with any of
	// prefixes and moves tok's generation on.
	Invalidate(tok codegen.TokenKey, prefixes ...string)
}

// Event is what happened to a read, for metrics.
type Event uint8

const (
	Hit       Event = iota // answered from a fresh entry
	Miss                   // answered by an upstream call it made
	Coalesced              // answered by another request's upstream call
	Stale                  // answered from an expired entry: the budget was spent
)

// Cache serves reads through a Store and one upstream call per key at a
// time. The zero value is ready to use with the defaults; fields must not
// change after the first Read. It is safe for concurrent use.
type Cache struct {
	// Store keeps the entries. If nil, a Memory with its default bounds.
	Store Store
	// Fresh is each class's freshness. A zero one is 2 seconds, or 60
	// seconds for ClassOrg.
	Fresh [NumClasses]time.Duration
	// NotFound is how long a 404 is kept. If zero, 2 seconds.
	NotFound time.Duration
	// MaxStale bounds how long past its freshness a 200 may be served when
	// the budget is spent; a 404 never is. If zero, 30 seconds.
	MaxStale time.Duration
	// Timeout bounds a shared upstream call, which no caller's leaving
	// cancels. If zero, 30 seconds.
	Timeout time.Duration
	// Now is the clock. If nil, time.Now.
	Now func() time.Time
	// Observe, if set, is called once per Read that answers. It must be
	// safe for concurrent use.
	Observe func(Class, Event)

	once    sync.Once
	mu      sync.Mutex
	flights map[flightKey]*flight
}

// Result is a read's answer.
type Result struct {
	Body []byte
	ETag string
	// TTL is the answer's freshness lifetime and Age its age, for
	// Cache-Control and Age.
	TTL, Age time.Duration
	// CacheStatus is the RFC 9211 Cache-Status value: see Read.
	CacheStatus string
}

// Read answers k: from a fresh entry, or by calling fetch once for all the
// concurrent reads of k. fetch runs with a context detached from ctx (its
// values kept, bounded by Timeout), so a caller that leaves does not cancel
// it for the others; the leaving caller gets ctx's error at once.
//
// CacheStatus is, with ttl the whole seconds of freshness left:
//
//	codegen-proxy; hit; ttl=1                            a fresh entry
//	codegen-proxy; fwd=miss; fwd-status=200; stored       an upstream call (fwd=stale when an expired entry was there)
//	codegen-proxy; fwd=miss; fwd-status=200; collapsed    another request's call, shared
//	codegen-proxy; hit; ttl=-3; detail=over-budget       an expired entry, the budget being spent
//
// A kept 404 is answered as a *codegen.Error, like the call's own.
func (c *Cache) Read(ctx context.Context, k Key, class Class, fetch func(context.Context) ([]byte, error)) (Result, error) {
	store := c.store()
	old, had := store.Get(k)
	now := c.now()
	if had && now.Sub(old.Stored) < old.TTL {
		c.observe(class, Hit)
		return c.answer(old, now, hitStatus(old, now))
	}
	gen := store.Generation(k.Token)
	fk := flightKey{k, gen}
	f, led := c.join(ctx, fk, func(ctx context.Context) (filled, error) { return c.fill(ctx, store, k, class, gen, fetch) })
	select {
	case <-ctx.Done():
		c.leave(fk, f, context.Cause(ctx))
		if cause := context.Cause(ctx); cause != ctx.Err() {
			return Result{}, fmt.Errorf("%w: %w", ctx.Err(), cause)
		}
		return Result{}, ctx.Err()
	case <-f.done:
	}
	res := struct {
		Val    filled
		Err    error
		Shared bool
	}{f.val, f.err, f.shared}
	e := res.Val
	switch {
	case res.Err != nil && overBudget(res.Err) && had && old.Status == http.StatusOK && now.Sub(old.Stored) < old.TTL+c.maxStale():
		c.observe(class, Stale)
		return c.answer(old, now, hitStatus(old, now)+"; detail=over-budget")
	case !led || e.remote:
		c.observe(class, Coalesced)
	default:
		c.observe(class, Miss)
	}
	status := fwdStatus(had, e, res.Shared || e.remote)
	if res.Err != nil {
		if errors.Is(res.Err, codegen.ErrOverBudget) {
			status = "codegen-proxy; detail=over-budget" // nothing went upstream
		}
		return Result{CacheStatus: status}, res.Err
	}
	return Result{Body: e.entry.Body, ETag: e.entry.ETag, TTL: e.entry.TTL, CacheStatus: status}, nil
}

// fwdStatus is the Cache-Status of an answer that an upstream call made.
func fwdStatus(had bool, e filled, shared bool) string {
	s := "codegen-proxy; fwd=miss"
	if had {
		s = "codegen-proxy; fwd=stale"
	}
	if e.status != 0 {
		s += "; fwd-status=" + strconv.Itoa(e.status)
	}
	if e.stored {
		s += "; stored"
	}
	if shared {
		s += "; collapsed"
	}
	return s
}

// filled is what a shared call produced.
type filled struct {
	entry  Entry
	status int // the upstream's status; 0 when none came
	stored bool
	remote bool // another process made the call (see Coalescer)
}

// fill makes the upstream call and keeps its answer: a 200 for the class's
// freshness, a 404 for NotFound, nothing else.
func (c *Cache) fill(ctx context.Context, store Store, k Key, class Class, gen uint64,
	fetch func(context.Context) ([]byte, error)) (filled, error) {
	if co, ok := store.(Coalescer); ok {
		e, found, release := co.Await(ctx, k, gen)
		if found {
			return fromOther(e)
		}
		defer release() // once the answer is kept, or not
	}
	body, err := fetch(ctx) // detached and bounded by join
	var apiErr *codegen.Error
	switch {
	case err == nil:
		e := Entry{Status: http.StatusOK, Body: body, ETag: ETag(body), Stored: c.now(), TTL: c.fresh(class)}
		return filled{entry: e, status: http.StatusOK, stored: store.Put(k, e, gen)}, nil
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound:
		e := Entry{Status: http.StatusNotFound, Body: []byte(apiErr.Message), Stored: c.now(), TTL: c.notFound()}
		return filled{status: http.StatusNotFound, stored: store.Put(k, e, gen)}, err
	case errors.As(err, &apiErr):
		return filled{status: apiErr.StatusCode}, err
	}
	return filled{}, err
}

// answer turns an entry into a Result, or for a kept 404 into the error
// the call gave.
func (c *Cache) answer(e Entry, now time.Time, status string) (Result, error) {
	res := Result{Body: e.Body, ETag: e.ETag, TTL: e.TTL, Age: now.Sub(e.Stored), CacheStatus: status}
	if e.Status == http.StatusNotFound {
		return Result{CacheStatus: status}, &codegen.Error{Op: "cached", StatusCode: http.StatusNotFound, Message: string(e.Body)}
	}
	return res, nil
}

// Invalidate drops tok's entries whose names start with any of prefixes,
// keeps reads already under way from storing what they read, and makes
// tok's later reads start new calls rather than join those.
func (c *Cache) Invalidate(tok codegen.TokenKey, prefixes ...string) {
	c.store().Invalidate(tok, prefixes...)
}

// FreshFor returns class's freshness.
func (c *Cache) FreshFor(class Class) time.Duration { return c.fresh(class) }

// ETag returns the strong entity tag of body: a quoted hash of it.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// overBudget reports a call refused by the budget or by the API's 429.
func overBudget(err error) bool {
	var apiErr *codegen.Error
	return errors.Is(err, codegen.ErrOverBudget) || (errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests)
}

func hitStatus(e Entry, now time.Time) string {
	left := e.TTL - now.Sub(e.Stored)
	secs := int64(left / time.Second)
	if left < 0 && left%time.Second != 0 {
		secs-- // round towards the past: -0.4 s stale is ttl=-1
	}
	return "codegen-proxy; hit; ttl=" + strconv.FormatInt(secs, 10)
}

func (c *Cache) store() Store {
	c.once.Do(func() {
		if c.Store == nil {
			c.Store = &Memory{}
		}
	})
	return c.Store
}

func (c *Cache) fresh(class Class) time.Duration {
	if class < NumClasses && c.Fresh[class] > 0 {
		return c.Fresh[class]
	}
	if class == ClassOrg {
		return time.Minute
	}
	return 2 * time.Second
}

func (c *Cache) observe(class Class, e Event) {
	if c.Observe != nil {
		c.Observe(class, e)
	}
}

func (c *Cache) notFound() time.Duration { return orDefault(c.NotFound, 2*time.Second) }
func (c *Cache) maxStale() time.Duration { return orDefault(c.MaxStale, 30*time.Second) }
func (c *Cache) timeout() time.Duration  { return orDefault(c.Timeout, 30*time.Second) }
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
