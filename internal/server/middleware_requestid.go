package server

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// requestIDKey is the context key of the request id; only requestID sets it.
type requestIDKey struct{}

// requestIDCtx is the context requestID gives a request: its parent and the
// id, as context.WithValue would make them, in one allocation that also
// holds the X-Request-Id response header's value and never boxes the id in
// an interface. It is immutable; Value answers requestIDKey with the
// *requestIDCtx itself, which only RequestID reads.
type requestIDCtx struct {
	context.Context
	id     string
	header [1]string // {id}: the response header's value
}

func (c *requestIDCtx) Value(key any) any {
	if key == (requestIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// withRequestID returns ctx carrying id, for RequestID.
func withRequestID(ctx context.Context, id string) *requestIDCtx {
	return &requestIDCtx{Context: ctx, id: id, header: [1]string{id}}
}

// RequestID returns the id the requestID middleware gave the request whose
// context ctx is, or "" outside that middleware.
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*requestIDCtx); ok {
		return c.id
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
		ctx := withRequestID(r.Context(), id)
		w.Header()["X-Request-Id"] = ctx.header[:] // shared with the context: net/http only reads it
		next.ServeHTTP(w, r.WithContext(ctx))
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
