package server

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	swaggerFiles "github.com/swaggo/files/v2"
	httpSwagger "github.com/swaggo/http-swagger/v2"

	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// specWithInfo returns the OpenAPI document with its title and version set
// to the running server's, or the document unchanged if it cannot be read.
func specWithInfo(spec []byte, title, version string) []byte {
	var doc map[string]any
	if json.Unmarshal(spec, &doc) != nil {
		return spec
	}
	info, _ := doc["info"].(map[string]any)
	if info == nil {
		info = map[string]any{}
		doc["info"] = info
	}
	info["title"], info["version"] = title, version
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return spec
	}
	return out
}

// handleOpenAPI serves the API's OpenAPI 3 document.
//
//	@Summary	OpenAPI document
//	@Tags		system
//	@Produce	json
//	@Success	200	{object}	object	"The OpenAPI 3.0 document of this API"
//	@ID		getOpenAPI
//	@Router		/openapi.json [get]
func handleOpenAPI(spec []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		writeRaw(w, http.StatusOK, spec)
	})
}

// handleDocsIndex sends /docs to the Swagger UI page.
//
//	@Summary	Swagger UI
//	@Tags		system
//	@Success	301	"Redirects to /docs/index.html"
//	@ID		swaggerUI
//	@Router		/docs [get]
func handleDocsIndex() http.Handler {
	return http.RedirectHandler("/docs/index.html", http.StatusMovedPermanently)
}

// handleSwaggerUI serves Swagger UI, embedded in the binary by
// swaggo/files, reading /openapi.json. http-swagger would answer its default
// spec URL, /docs/doc.json, from swag's registry, which this server leaves
// empty, and send /docs/ to /docs//index.html: both redirect here instead.
//
//	@Summary	Swagger UI page and assets
//	@Tags		system
//	@Produce	html
//	@Param		path	path	string	true	"index.html or an asset of the page (doc.json redirects to /openapi.json)"	example(index.html)
//	@Success	200		{string}	string	"The page or asset"
//	@ID		swaggerUIAsset
//	@Router		/docs/{path} [get]
func handleSwaggerUI() http.Handler {
	ui := httpSwagger.Handler(
		httpSwagger.URL("/openapi.json"),
		httpSwagger.PersistAuthorization(true),
		httpSwagger.DocExpansion("list"),
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch chi.URLParam(r, "*") {
		case "":
			http.Redirect(w, r, "/docs/index.html", http.StatusMovedPermanently)
		case "doc.json":
			http.Redirect(w, r, "/openapi.json", http.StatusMovedPermanently)
		default:
			if name := chi.URLParam(r, "*"); name != "index.html" && !swaggerFileExists(name) {
				writeError(w, r, notFound(w, r)) // the envelope, not http.FileServer's plain text
				return
			}
			if r.Method == http.MethodHead { // http-swagger answers GET only; net/http drops a HEAD answer's body
				r = r.Clone(r.Context())
				r.Method = http.MethodGet
			}
			ui.ServeHTTP(w, r)
		}
	})
}

// swaggerFileExists reports whether Swagger UI's embedded files hold name.
func swaggerFileExists(name string) bool {
	st, err := fs.Stat(swaggerFiles.FS, name)
	return err == nil && !st.IsDir()
}

// handleRedoc serves the ReDoc page, or, in a build without ReDoc's bundle,
// a page saying how to get it.
//
//	@Summary	ReDoc
//	@Description	The ReDoc page; in a build without ReDoc's bundle (see make web), a page that says how to get it and links /docs.
//	@Tags		system
//	@Produce	html
//	@Success	200	{string}	string	"The ReDoc page"
//	@ID		redoc
//	@Router		/redoc [get]
func handleRedoc(title string) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var page bytes.Buffer
		if err := web.WriteRedocPage(&page, title, "/openapi.json", "/redoc/"+redocScript); err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", redocCSP)
		w.Write(page.Bytes()) //nolint:errcheck // the client has gone
		return nil
	})
}

// redocCSP confines the ReDoc page to this server. Among other things it
// keeps the page offline: ReDoc's attribution logo, hard-coded to a CDN, is
// refused by the browser and ReDoc then hides it.
var redocCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'"

// redocScript is the name of ReDoc's bundle under /redoc/.
const redocScript = "redoc.standalone.js"

// handleRedocAssets serves what lies under /redoc/: the ReDoc bundle
// embedded at build time, and a redirect from /redoc/ to the page.
//
//	@Summary	ReDoc script
//	@Description	redoc.standalone.js is ReDoc's bundle (404 in a build without it); /redoc/ redirects to /redoc.
//	@Tags		system
//	@Produce	application/javascript
//	@Param		path	path	string	true	"redoc.standalone.js"	example(redoc.standalone.js)
//	@Success	200	{string}	string	"ReDoc's standalone bundle"
//	@Failure	404	{object}	envelope	"No such asset, or the build did not embed the bundle"
//	@ID		redocScript
//	@Router		/redoc/{path} [get]
func handleRedocAssets() http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		switch chi.URLParam(r, "*") {
		case "":
			http.Redirect(w, r, "/redoc", http.StatusMovedPermanently)
			return nil
		case redocScript:
		default:
			return notFound(w, r)
		}
		js := web.RedocBundle()
		if js == nil {
			return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "this build has no embedded ReDoc bundle: run make web, or see /docs"}
		}
		h := w.Header()
		h.Set("Content-Type", "application/javascript; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(js)))
		h.Set("Cache-Control", "public, max-age=86400")
		w.Write(js) //nolint:errcheck // the client has gone
		return nil
	})
}
