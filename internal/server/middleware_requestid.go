package server

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

type requestInfoKey struct{}

// requestInfo holds what the middleware learns about a request, in one
// context value so that each request costs one context and one request copy
// however many middleware add to it. The handler's goroutine owns it.
type requestInfo struct {
	id    string // set by requestID
	token string // set by requireToken
}

// info returns the request's info, or nil outside the middleware.
func info(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// RequestID returns the request id stored by the requestID middleware, or "".
func RequestID(ctx context.Context) string {
	if ri := info(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// requestID gives every request an id: the caller's X-Request-ID when it is
// sane, else a new UUID. The id is echoed in the response header, sent
// upstream, and written in error bodies and logs.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = uuid.NewString()
		}
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, &requestInfo{id: id})))
	})
}

// saneRequestID accepts 1 to 128 characters of letters, digits and -_.:,
// enough for UUIDs and tracing ids, too little for log injection.
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
