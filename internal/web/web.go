// Package web holds the documentation pages' assets: the ReDoc page, and the
// ReDoc bundle when the build fetched it (make web), embedded so that /redoc
// works with no internet.
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

// RedocVersion is the ReDoc release the page uses, pinned in package.json.
const RedocVersion = "2.5.4"

// redocFile is where `make web` puts the bundle inside assets.
const redocFile = "assets/redoc.standalone.js"

// RedocBundle returns the embedded ReDoc bundle, or nil when the build did
// not fetch it. The caller must not change it.
var RedocBundle = sync.OnceValue(func() []byte {
	b, err := fs.ReadFile(assets, redocFile)
	if err != nil {
		return nil
	}
	return b
})

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

// WriteRedocPage writes the ReDoc page for the spec at specURL. It loads the
// embedded bundle from localScript when there is one, else the pinned
// release from a CDN.
func WriteRedocPage(w io.Writer, title, specURL, localScript string) error {
	script := "https://cdn.jsdelivr.net/npm/redoc@" + RedocVersion + "/bundles/redoc.standalone.js"
	if RedocBundle() != nil {
		script = localScript
	}
	return redocPage.Execute(w, struct{ Title, SpecURL, ScriptURL string }{title, specURL, script})
}
