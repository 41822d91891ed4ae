package server

import (
	"context"
	"net/http"
	"strings"
)

// tokenKey is the context key of the caller's bearer token; only
// requireToken sets it.
type tokenKey struct{}

// tokenCtx is the context requireToken gives a request: its parent and the
// token, as context.WithValue would make them, in one allocation that never
// boxes the token in an interface. It is immutable; Value answers tokenKey
// with the *tokenCtx itself, which only token reads.
type tokenCtx struct {
	context.Context
	tok string
}

func (c *tokenCtx) Value(key any) any {
	if key == (tokenKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// token returns the bearer token requireToken checked for the request whose
// context ctx is, or "" on routes without that middleware.
func token(ctx context.Context) string {
	if c, ok := ctx.Value(tokenKey{}).(*tokenCtx); ok {
		return c.tok
	}
	return ""
}

// maxTokenLen bounds a bearer token; real Codegen tokens are ~40 bytes.
const maxTokenLen = 4096

// requireToken answers 401, without calling upstream, unless the request
// carries a well-formed bearer token, which it stores for token(); two
// Authorization headers are refused with 400, since either could be the one
// meant. With allowQuery the token may instead come in the access_token query
// parameter, for browsers' EventSource, which cannot send headers (given
// twice, or beside the header, it is refused with 400); routes that allow it
// must never log their URL.
func requireToken(allowQuery bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n := len(r.Header.Values("Authorization")); n > 1 {
				writeError(w, r, badRequest("%d Authorization headers: send exactly one", n))
				return
			}
			tok, msg := bearerToken(r.Header.Get("Authorization"))
			if allowQuery {
				if qs := r.URL.Query()["access_token"]; len(qs) > 0 {
					if len(qs) > 1 || msg != errNoToken {
						writeError(w, r, badRequest("send one token: one Authorization header or one access_token, not both or twice"))
						return
					}
					tok, msg = qs[0], validToken(qs[0])
				}
			}
			if msg != "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="codegen-proxy"`)
				writeError(w, r, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg})
				return
			}
			next.ServeHTTP(w, r.WithContext(&tokenCtx{Context: r.Context(), tok: tok}))
		})
	}
}

const errNoToken = "missing bearer token: send Authorization: Bearer <your Codegen API token>"

// bearerToken extracts the token of an Authorization header, or says what is
// wrong with it. The message never repeats the header.
func bearerToken(h string) (tok, msg string) {
	if h == "" {
		return "", errNoToken
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", "malformed Authorization header: want Bearer <token>"
	}
	return tok, validToken(tok)
}

// validToken accepts 1 to maxTokenLen visible ASCII characters.
func validToken(tok string) string {
	if tok == "" || len(tok) > maxTokenLen {
		return "malformed bearer token"
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return "malformed bearer token"
		}
	}
	return ""
}
