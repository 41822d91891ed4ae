// Package web holds the pages the server serves besides the API: the web
// console at / (our own HTML, CSS and JavaScript modules, see Console), and
// the documentation pages' assets: the ReDoc page, and the ReDoc bundle when
// the build fetched it (make web), embedded so that /redoc works with no
// internet. Nothing here is loaded from a CDN: a build without the bundle
// serves a page that says how to get it.
package web

import (
	"embed"
	"html/template"
	"io"
	"io/fs"
	"sync"
)

//go:embed assets
var assets embed.FS

// RedocVersion is the ReDoc release `make web` fetches, pinned in
// package.json.
const RedocVersion = "2.5.4"

// redocFile is where `make web` puts the bundle inside assets.
const redocFile = "assets/redoc.standalone.js"

// RedocBundle returns the embedded ReDoc bundle, or nil when the build did
// not fetch it. The caller must not change it. It is safe for concurrent use.
var RedocBundle = sync.OnceValue(func() []byte {
	b, err := fs.ReadFile(assets, redocFile)
	if err != nil {
		return nil
	}
	return b
})

// HasRedoc reports whether the build embedded ReDoc's bundle. Without it
// /redoc serves a page saying how to get it; cmd/codegen-proxy warns at
// start-up.
func HasRedoc() bool { return RedocBundle() != nil }

// MissingRedocHint is the start-up warning and the gist of the page /redoc
// serves when the build has no ReDoc bundle.
const MissingRedocHint = "this build has no ReDoc bundle, so /redoc only says how to get it: " +
	"run `make web` (npm ci, then copy node_modules/redoc/bundles/redoc.standalone.js into internal/web/assets/) and rebuild; " +
	"/docs (Swagger UI) works without it"

var redocPage = template.Must(template.New("redoc").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="{{.SpecURL}}"></redoc>
<script src="{{.ScriptURL}}"></script>
</body>
</html>
`))

var missingPage = template.Must(template.New("missing").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}: ReDoc is not in this build</title>
<style>body { font-family: sans-serif; max-width: 44em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }
code, pre { background: #f3f3f3; padding: 0 .2em; }</style>
</head>
<body>
<h1>ReDoc is not in this build</h1>
<p>This server was built without ReDoc's script bundle (ReDoc {{.Version}}), which comes from npm and is
embedded at build time. To get it, build from the repository with npm installed:</p>
<pre>make web     # npm ci, then copies node_modules/redoc/bundles/redoc.standalone.js into internal/web/assets/
make build   # or make run: embeds it</pre>
<p>Meanwhile the same API documentation is at <a href="/docs">/docs</a> (Swagger UI, always embedded), and the
OpenAPI document itself at <a href="{{.SpecURL}}">{{.SpecURL}}</a>.</p>
</body>
</html>
`))

// WriteRedocPage writes the ReDoc page for the spec at specURL, loading the
// embedded bundle from scriptURL; or, when the build has no bundle, a page
// that says how to get it and links /docs.
func WriteRedocPage(w io.Writer, title, specURL, scriptURL string) error {
	return writeRedocPage(w, HasRedoc(), title, specURL, scriptURL)
}

func writeRedocPage(w io.Writer, hasBundle bool, title, specURL, scriptURL string) error {
	data := struct{ Title, SpecURL, ScriptURL, Version string }{title, specURL, scriptURL, RedocVersion}
	if !hasBundle {
		return missingPage.Execute(w, data)
	}
	return redocPage.Execute(w, data)
}
