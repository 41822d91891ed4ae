package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// refuseTransferEncoding answers 400 to a request that carries
// Transfer-Encoding, and closes its connection: the API takes bodies with a
// Content-Length only. RFC 9112 §6.1 requires this for a request with both
// Content-Length and Transfer-Encoding, whose framing a server and a proxy
// in front of it may read differently (request smuggling). net/http accepts
// such a request and drops Content-Length before the handler runs, so the
// only way to refuse it here is to refuse every Transfer-Encoding; clients
// send bodies they hold in memory with a Content-Length anyway.
//
// HTTP/1.0 requests always close their connection: net/http deletes a
// Transfer-Encoding it does not honour in HTTP/1.0 before the handler runs,
// so a chunked "body" would otherwise be read as the connection's next
// request.
func refuseTransferEncoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.ProtoAtLeast(1, 1) {
			w.Header().Set("Connection", "close")
		}
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")                     // net/http closes the connection after the answer
			http.NewResponseController(w).SetReadDeadline(time.Now()) // without waiting for the body
			writeError(w, r, badRequest("Transfer-Encoding is not accepted: send the body with a Content-Length"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// strictQuery answers 400 to a query string net/http's URL.Query would read
// only in part: one with a ";" (which it drops, with whatever follows up to
// the next "&") or a malformed %-escape. Handlers then read r.URL.Query()
// knowing it holds everything the caller sent.
func strictQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
				e := badRequest("the query string is malformed: %v", err)
				if strings.Contains(r.URL.RawQuery, ";") {
					e = badRequest(`the query string holds a ";": separate parameters with "&", and write a ";" in a value as %%3B`)
				}
				writeError(w, r, e)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// allowedMethods lists the methods the router answers on r's path, in the
// form of an Allow header, or "" when it answers none (the path is not a
// route). HEAD goes with GET (see chi's middleware.GetHead in NewServer), and
// OPTIONS is answered on every route.
func allowedMethods(r *http.Request) string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil || rctx.Routes == nil {
		return ""
	}
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if rctx.Routes.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) == 0 {
		return ""
	}
	return strings.Join(append(allow, http.MethodOptions), ", ")
}
