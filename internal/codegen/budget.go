package codegen

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Class is one of the API's documented per-token rate limits. Every call
// counts against exactly one class, as the sandbox counts them.
type Class uint8

const (
	// ClassGeneral is every call that is neither a run creation nor a log
	// read: 60 requests per 30 seconds. Pull request edits (documented at
	// 30 a minute) count here too.
	ClassGeneral Class = iota
	// ClassLogs is the alpha logs endpoint: 60 requests per 60 seconds.
	ClassLogs
	// ClassCreate is run creation: 10 requests per minute.
	ClassCreate
)

// Classes lists every Class, in order.
var Classes = []Class{ClassGeneral, ClassLogs, ClassCreate}

// String names the class for metrics and logs: general, logs or create.
func (c Class) String() string {
	switch c {
	case ClassLogs:
		return "logs"
	case ClassCreate:
		return "create"
	}
	return "general"
}

// Limit returns the API's documented limit for the class: n requests in
// any window of the given length.
func (c Class) Limit() (n int, window time.Duration) {
	switch c {
	case ClassLogs:
		return 60, 60 * time.Second
	case ClassCreate:
		return 10, time.Minute
	}
	return 60, 30 * time.Second
}

// ClassOf returns the class of a call of method on path, the part of the
// URL below BaseURL as a request line spells it (%-escapes and query
// allowed): POST .../agent/run creates, GET /alpha/.../logs reads logs, and
// everything else is general. It looks at the unescaped path, as the API
// routes on it, so that log%73 is a log read. Pass-through callers use it
// for paths the Client's operations do not name.
func ClassOf(method, path string) Class {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if p, err := url.PathUnescape(path); err == nil {
		path = p // else CheckTarget refused the target: it is never sent
	}
	switch {
	case method == http.MethodPost && strings.HasSuffix(path, "/agent/run"):
		return ClassCreate
	case strings.HasPrefix(path, "/alpha/") && strings.HasSuffix(path, "/logs"):
		return ClassLogs
	}
	return ClassGeneral
}

// Priority tells a Budget who is asking. The zero value is PriorityNormal.
type Priority uint8

const (
	// PriorityNormal is a client's request: REST reads and writes, the
	// pass-through. It may spend a class only down to the Budget's reserve,
	// and waits for a slot only briefly.
	PriorityNormal Priority = iota
	// PriorityStream is a stream or feed poller, or a wait: it may spend
	// the reserve too, and waits for a slot as long as its context lets it,
	// so a poll-heavy UI never starves its own streams.
	PriorityStream
)

type priorityKey struct{}

// WithPriority returns ctx marked with p; calls made with it ask the
// Client's Budget at that priority.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf returns the priority ctx was marked with, or PriorityNormal.
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// TokenKey is the SHA-256 of a token: how budgets and caches know a token
// without holding it.
type TokenKey [sha256.Size]byte

// KeyOf returns tok's TokenKey.
func KeyOf(tok string) TokenKey { return sha256.Sum256([]byte(tok)) }

// Budget paces one token's upstream calls per Class. internal/budget has the
// in-memory implementation; a shared one (Redis) may replace it. It must be
// safe for concurrent use.
type Budget interface {
	// Take returns once one call of class by the token may be made, having
	// counted it, or fails: with a *BudgetError when no slot comes within
	// the wait p allows, with ErrTooManyTokens when there is no room for a
	// new token, or with ctx's error.
	Take(ctx context.Context, key TokenKey, class Class, p Priority) error
	// Pause holds back the token's calls of class for d, as an upstream
	// 429's Retry-After asks.
	Pause(key TokenKey, class Class, d time.Duration)
}

// ErrTooManyTokens is returned, wrapped, by a Budget that keeps as many
// tokens' budgets as it may, every one of them busy: it refuses a new
// token's call rather than forget another's spent budget or pause. A later
// call may succeed.
var ErrTooManyTokens = errors.New("codegen: the budget keeps as many tokens as it may, none idle")

// ErrOverBudget is what a *BudgetError is (errors.Is).
var ErrOverBudget = errors.New("codegen: the token's upstream rate budget is spent")

// BudgetError is a call refused without reaching the API because the
// token's budget for Class has no slot within the allowed wait.
type BudgetError struct {
	Class Class
	// RetryAfter is how long until a slot will be free for the caller's
	// priority, as far as the budget knows.
	RetryAfter time.Duration
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("codegen: the token's %s budget is spent for %s", e.Class, e.RetryAfter)
}

// Is makes errors.Is(err, ErrOverBudget) true.
func (e *BudgetError) Is(target error) bool { return target == ErrOverBudget }

// RetryAfterSeconds renders the wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func (e *BudgetError) RetryAfterSeconds() string {
	s := (e.RetryAfter + time.Second - 1) / time.Second
	return strconv.FormatInt(max(int64(s), 1), 10)
}

// defaultPause is how long an upstream 429 without a usable Retry-After
// holds back its class.
const defaultPause = 2 * time.Second

// maxPause caps how long an upstream 429 holds back its class, whatever
// its Retry-After says: a broken or hostile upstream's "Retry-After:
// 86400" must not silence a token for a day. The API's windows are a
// minute at most, so ten minutes is far past any honest wait.
const maxPause = 10 * time.Minute

// ParseRetryAfter reads a Retry-After value, seconds or an HTTP date, as a
// wait from now; ok is false when it is absent or unusable.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s >= 0 && s < 1<<31 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// take asks the Client's Budget, if any, for a slot for k.
func (c *Client) take(ctx context.Context, key TokenKey, class Class) error {
	if c.Budget == nil {
		return nil
	}
	return c.Budget.Take(ctx, key, class, PriorityOf(ctx))
}

// notePause pauses k's class after an upstream 429 whose Retry-After header
// is retryAfter (defaultPause when it does not parse), for maxPause at most.
func (c *Client) notePause(key TokenKey, class Class, retryAfter string) {
	if c.Budget == nil {
		return
	}
	d, ok := ParseRetryAfter(retryAfter, time.Now())
	if !ok {
		d = defaultPause
	}
	c.Budget.Pause(key, class, min(d, maxPause))
}
