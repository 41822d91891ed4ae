package server

import (
	"net/http"
	"net/url"
	"strings"
)

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
