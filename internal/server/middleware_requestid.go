package server

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// requestIDKey is the context key of the request id; only requestID sets it.
type requestIDKey struct{}

// RequestID returns the id the requestID middleware gave the request whose
// context ctx is, or "" outside that middleware.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
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
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
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
