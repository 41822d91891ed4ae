package server

import (
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// handleConsole serves the web console's page to browsers. An API client
// that asks for JSON alone (Accept names application/json and not
// text/html) gets the 404 envelope any unknown path gets, as before the
// console existed.
//
//	@Summary		Web console
//	@Description	The web console's page (HTML) for browsers. With Accept: application/json and no text/html, 404 not_found as for any path that is no route.
//	@Tags			system
//	@Produce		html
//	@Success		200	{string}	string		"The console's page"
//	@Failure		404	{object}	envelope	"Accept asked for JSON only"
//	@ID			console
//	@Router			/ [get]
func handleConsole(c *web.Console) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if wantsJSONOnly(r.Header.Values("Accept")) {
			writeError(w, r, notFound(w, r))
			return
		}
		c.ServePage(w, r)
	})
}

// handleConsoleAssets serves the console's scripts and styles.
//
//	@Summary		Web console assets
//	@Description	The console's JavaScript modules and stylesheet; 404 for any other name.
//	@Tags			system
//	@Produce		plain
//	@Param			path	path		string		true	"An asset of the console"	example(app.js)
//	@Success		200		{string}	string		"The asset"
//	@Failure		404		{object}	envelope	"No such asset"
//	@ID			consoleAsset
//	@Router			/console/{path} [get]
func handleConsoleAssets(c *web.Console) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.ServeAsset(w, r, chi.URLParam(r, "*")) {
			writeError(w, r, notFound(w, r))
		}
	})
}

// wantsJSONOnly reports whether Accept header values name application/json
// and no text/html. Quality values are not weighed: a client that lists
// text/html at all can show the page.
func wantsJSONOnly(accept []string) bool {
	var json, html bool
	for _, v := range accept {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case "application/json":
				json = true
			case "text/html":
				html = true
			}
		}
	}
	return json && !html
}
