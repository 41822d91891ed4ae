package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// The console is the web page served at /: plain HTML, CSS and JavaScript
// modules written for this project, embedded whole. Its assets are served
// under ConsolePrefix. Every file in console/ is part of its first view.
//
//go:embed console
var consoleFS embed.FS

// ConsolePrefix is the path under which the console's assets are served.
const ConsolePrefix = "/console/"

// ConsoleCSP is the Content-Security-Policy of every console answer: the
// page may load scripts, styles and data only from this server, run no
// inline script or style, and be framed by no one. Untrusted text (logs,
// results, prompts) is put in the page as text, never as HTML, and this
// policy is the second line of defence.
const ConsoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// consoleFile is one embedded file, ready to serve.
type consoleFile struct {
	body  []byte
	etag  string
	ctype string
}

// Console serves the web console's page and assets from the binary. Make
// one with NewConsole; it is read-only and safe for concurrent use.
type Console struct {
	files map[string]consoleFile // by name under console/, "index.html" the page
}

// NewConsole returns the console with its embedded files. Reading an
// embedded file cannot fail, so none is ever missing; the package's tests
// check that each file the page names is served.
func NewConsole() *Console {
	c := &Console{files: map[string]consoleFile{}}
	_ = fs.WalkDir(consoleFS, "console", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := consoleFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, ".js") { // some systems' mime tables say text/plain
			ctype = "text/javascript; charset=utf-8"
		}
		c.files[strings.TrimPrefix(p, "console/")] = consoleFile{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
		return nil
	})
	return c
}

// FirstViewBytes returns the bytes a browser fetches for the console's
// first view, uncompressed: the page and every asset, since the page's
// modules import one another.
func (c *Console) FirstViewBytes() int {
	n := 0
	for _, f := range c.files {
		n += len(f.body)
	}
	return n
}

// Names returns the names of the console's files; "index.html" is the page.
func (c *Console) Names() []string {
	names := make([]string, 0, len(c.files))
	for name := range c.files {
		names = append(names, name)
	}
	return names
}

// ServePage answers with the console's page.
func (c *Console) ServePage(w http.ResponseWriter, r *http.Request) {
	c.serve(w, r, c.files["index.html"])
}

// ServeAsset answers with the asset called name and reports true, or
// reports false, writing nothing, when there is none. The page itself is
// served only at /, not as an asset.
func (c *Console) ServeAsset(w http.ResponseWriter, r *http.Request, name string) bool {
	f, ok := c.files[name]
	if !ok || name == "index.html" {
		return false
	}
	c.serve(w, r, f)
	return true
}

func (c *Console) serve(w http.ResponseWriter, r *http.Request, f consoleFile) {
	h := w.Header()
	SecureHeaders(h)
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	// Revalidated on each load (a 304 when unchanged), so a new build's
	// page never runs with an old build's modules.
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// SecureHeaders sets the console's security headers on h.
func SecureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ConsoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}
