package sandbox

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limit is a documented rate limit: n requests per window.
type limit struct {
	class  string
	n      int
	window time.Duration
}

// The Codegen API's documented limits, per token.
var (
	createLimit  = limit{"create", 10, time.Minute}
	logsLimit    = limit{"logs", 60, 60 * time.Second}
	generalLimit = limit{"general", 60, 30 * time.Second}
)

// limitFor returns the limit that applies to r.
func limitFor(r *http.Request) limit {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/agent/run"):
		return createLimit
	case strings.HasPrefix(r.URL.Path, "/v1/alpha/") && strings.HasSuffix(r.URL.Path, "/logs"):
		return logsLimit
	}
	return generalLimit
}

// limiter counts requests per token and limit class in fixed windows. It is
// safe for concurrent use.
type limiter struct {
	now func() time.Time

	mu      sync.Mutex
	windows map[windowKey]*window
}

type windowKey struct {
	class string
	token [32]byte // a hash: the sandbox keeps no tokens
}

type window struct {
	start time.Time
	count int
}

// maxWindows bounds the limiter's memory; past it, ended windows are
// dropped, and while every window is still live a token with none is
// refused until the oldest ends, as if over its limit.
const maxWindows = 10000

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, windows: map[windowKey]*window{}}
}

// allow counts one request of tok against l and reports whether it is
// within the limit, or else how long until the window ends.
func (lm *limiter) allow(l limit, tok string) (time.Duration, bool) {
	now := lm.now()
	key := windowKey{l.class, sha256.Sum256([]byte(tok))}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	w := lm.windows[key]
	if w == nil || !now.Before(w.start.Add(l.window)) {
		if w == nil && len(lm.windows) >= maxWindows {
			if wait := lm.sweep(now); len(lm.windows) >= maxWindows {
				return wait, false
			}
		}
		w = &window{start: now}
		lm.windows[key] = w
	}
	if w.count >= l.n {
		return w.start.Add(l.window).Sub(now), false
	}
	w.count++
	return 0, true
}

// sweep drops windows that ended, counting every window as a minute long,
// the longest, and returns how long until the oldest left ends.
func (lm *limiter) sweep(now time.Time) time.Duration {
	wait := time.Minute
	for k, w := range lm.windows {
		if left := w.start.Add(time.Minute).Sub(now); left <= 0 {
			delete(lm.windows, k)
		} else {
			wait = min(wait, left)
		}
	}
	return wait
}

// retryAfter renders a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}
