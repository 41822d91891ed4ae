package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// TestConsoleAtRootAndJSONForAPIClients asks for / with the Accept headers
// browsers and API clients send: browsers get the page with its security
// headers, a client asking for JSON only gets the 404 envelope.
func TestConsoleAtRootAndJSONForAPIClients(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tc := range []struct {
		name, accept string
		page         bool
	}{
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"no Accept", "", true},
		{"anything", "*/*", true},
		{"JSON and HTML", "application/json, text/html;q=0.1", true},
		{"JSON", "application/json", false},
		{"JSON with parameters", "application/json; charset=utf-8;q=1", false},
		{"JSON or text", "application/json, text/plain", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, "GET", proxy+"/", "", "Authorization", "", "Accept", tc.accept)
			if got := resp.Header.Values("Vary"); !strings.Contains(strings.Join(got, ","), "Accept") {
				t.Errorf("Vary %v, want Accept among them", got)
			}
			if !tc.page {
				if resp.StatusCode != 404 || decodeEnvelope(t, body).Code != "not_found" {
					t.Errorf("got %d %s, want the 404 envelope", resp.StatusCode, body)
				}
				return
			}
			h := resp.Header
			if resp.StatusCode != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(body, `<script type="module" src="/console/app.js">`) {
				t.Fatalf("got %d %q %.80s, want the console's page", resp.StatusCode, h.Get("Content-Type"), body)
			}
			for name, want := range map[string]string{
				"Content-Security-Policy": web.ConsoleCSP, "X-Content-Type-Options": "nosniff",
				"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
			} {
				if h.Get(name) != want {
					t.Errorf("%s: %q, want %q", name, h.Get(name), want)
				}
			}
		})
	}
	if len(u.requests()) != 0 {
		t.Errorf("serving the console called upstream: %v", u.requests())
	}
}

// TestConsoleCSPIsStrict checks the policy's directives one by one.
func TestConsoleCSPIsStrict(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, d := range strings.Split(web.ConsoleCSP, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		got[name] = value
	}
	for name, want := range map[string]string{
		"default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
		"connect-src": "'self'", "base-uri": "'none'", "form-action": "'none'", "frame-ancestors": "'none'",
	} {
		if got[name] != want {
			t.Errorf("CSP %s is %q, want %q", name, got[name], want)
		}
	}
	if strings.Contains(web.ConsoleCSP, "unsafe") {
		t.Errorf("CSP allows something unsafe: %s", web.ConsoleCSP)
	}
}

// TestConsoleAssets serves the console's assets with their headers, and the
// 404 envelope for a name that is none (the page itself among them).
func TestConsoleAssets(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tc := range []struct {
		path, ctype string
	}{
		{"/console/app.js", "text/javascript; charset=utf-8"},
		{"/console/console.css", "text/css; charset=utf-8"},
	} {
		resp, body := call(t, "GET", proxy+tc.path, "", "Authorization", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || body == "" {
			t.Errorf("%s: %d %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") != web.ConsoleCSP {
			t.Errorf("%s lacks the security headers: %v", tc.path, resp.Header)
		}
		again, _ := call(t, "GET", proxy+tc.path, "", "Authorization", "", "If-None-Match", resp.Header.Get("ETag"))
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", tc.path, again.StatusCode)
		}
	}
	for _, path := range []string{"/console/", "/console/index.html", "/console/nope.js", "/console/../go.mod", "/console/%2e%2e/go.mod"} {
		resp, body := call(t, "GET", proxy+path, "", "Authorization", "")
		if resp.StatusCode != 404 || decodeEnvelope(t, body).Code != "not_found" {
			t.Errorf("%s: %d %s, want the 404 envelope", path, resp.StatusCode, body)
		}
	}
}
