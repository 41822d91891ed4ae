package server

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/codegen-proxy/codegen-proxy/docs"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// specOperations returns "METHOD /path" for every operation of the served
// OpenAPI document.
func specOperations(t *testing.T, spec []byte) []string {
	t.Helper()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("served spec is OpenAPI %q, want 3.x", doc.OpenAPI)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// TestEveryRouteIsDocumentedAndNothingElse walks the router and compares its
// routes with the spec's operations, both ways.
func TestEveryRouteIsDocumentedAndNothingElse(t *testing.T) {
	t.Parallel()
	cfg, _ := config.Load(nil, func(string) string { return "" }, io.Discard)
	h := newHandler(t, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: &codegen.Client{BaseURL: "http://127.0.0.1:9"}})
	var routes []string
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*", "/{path}") // chi's catch-all is the spec's {path}
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(routes)
	ops := specOperations(t, docs.OpenAPI)
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("route %s is not in docs/openapi.json (annotate it and run make docs)", r)
		}
	}
	for _, o := range ops {
		if !slices.Contains(routes, o) {
			t.Errorf("docs/openapi.json documents %s, which the router does not serve", o)
		}
	}
}

func TestDocumentationIsServed(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.Title, c.APIVersion = "Team Codegen API", "9.9.9" }})

	resp, body := call(t, "GET", proxy+"/openapi.json", "", "Authorization", "")
	var spec struct {
		OpenAPI string `json:"openapi"`
		Info    struct{ Title, Version string }
	}
	if err := json.Unmarshal([]byte(body), &spec); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/openapi.json: %d %v", resp.StatusCode, err)
	}
	if spec.Info.Title != "Team Codegen API" || spec.Info.Version != "9.9.9" || !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Errorf("spec info %+v (openapi %s), want the configured title and version", spec.Info, spec.OpenAPI)
	}
	if got, want := specOperations(t, []byte(body)), specOperations(t, docs.OpenAPI); !slices.Equal(got, want) {
		t.Errorf("served operations differ from docs/openapi.json")
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/docs":          "/docs/index.html",
		"/docs/":         "/docs/index.html",
		"/docs/doc.json": "/openapi.json", // http-swagger's default spec URL
		"/redoc/":        "/redoc",
	} {
		resp, err := noRedirect.Get(proxy + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 301 || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %s", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for path, want := range map[string]string{
		"/docs/index.html":           `url: "\/openapi.json"`, // html/template escapes the slash
		"/docs/swagger-ui-bundle.js": "SwaggerUIBundle",
		"/redoc":                     "<redoc spec-url=\"/openapi.json\">",
		"/redoc/redoc.standalone.js": "Redoc",
	} {
		if strings.HasPrefix(path, "/redoc") && !web.HasRedoc() {
			continue // checked by TestRedocPagePicksItsScript
		}
		resp, body := call(t, "GET", proxy+path, "", "Authorization", "")
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: status %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	resp, _ = call(t, "GET", proxy+"/redoc/other.js", "", "Authorization", "")
	if resp.StatusCode != 404 {
		t.Errorf("/redoc/other.js: status %d, want 404", resp.StatusCode)
	}
	resp, body = call(t, "GET", proxy+"/docs/nothing.js", "", "Authorization", "")
	if e := decodeEnvelope(t, body); resp.StatusCode != 404 || e.Code != "not_found" {
		t.Errorf("/docs/nothing.js: status %d, %+v; want the 404 envelope", resp.StatusCode, e)
	}
}

func TestRedocPagePicksItsScript(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	resp, page := call(t, "GET", proxy+"/redoc", "", "Authorization", "")
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "http") {
		t.Errorf("/redoc's CSP allows another host: %s", csp)
	}
	if strings.Contains(page, "https://") {
		t.Errorf("/redoc loads something off this server:\n%s", page)
	}
	resp, _ = call(t, "GET", proxy+"/redoc/redoc.standalone.js", "", "Authorization", "")
	if web.HasRedoc() {
		if !strings.Contains(page, `src="/redoc/redoc.standalone.js"`) || resp.StatusCode != 200 {
			t.Errorf("bundled build: page %q, script status %d", page, resp.StatusCode)
		}
		return
	}
	if !strings.Contains(page, "make web") || !strings.Contains(page, `href="/docs"`) || resp.StatusCode != 404 {
		t.Errorf("unbundled build: page %q, script status %d; want a page naming make web and linking /docs, and 404", page, resp.StatusCode)
	}
}

// docsTimeout bounds each browser step on the docs pages.
const docsTimeout = 30 * time.Second
