package server

import (
	"net/http"

	"golang.org/x/sync/semaphore"
)

// limitBodies bounds the request body bytes that the requests it wraps hold
// at once to the weight of bodies, which all of them share. Each request
// reserves its Content-Length, or maxBody when it declares none, before
// anything reads its body, and gives it back when the handler returns, as
// the handler keeps the body's bytes (and what is built from them) until
// then. A request that does not fit is answered 503 server_busy with
// Retry-After, its body unread. Put it after the token check, so that callers
// without a token reserve nothing.
func limitBodies(bodies *semaphore.Weighted, maxBody int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := r.ContentLength
			if n < 0 || n > maxBody { // unknown; or refused unread with 413, but reserve as if not
				n = maxBody
			}
			if !bodies.TryAcquire(n) {
				writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "server_busy",
					Message: "the server is busy reading other requests' bodies: retry shortly", RetryAfter: "1"})
				return
			}
			defer bodies.Release(n)
			next.ServeHTTP(w, r)
		})
	}
}
