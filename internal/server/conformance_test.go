package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// routeTable returns every route the router serves as method -> patterns.
func routeTable(t *testing.T) map[string][]string {
	t.Helper()
	cfg, _ := config.Load(nil, func(string) string { return "" }, io.Discard)
	h := newHandler(t, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: &codegen.Client{BaseURL: "http://127.0.0.1:9"}})
	routes := map[string][]string{}
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes[route] = append(routes[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// concrete turns a route pattern into a path that matches it.
func concrete(pattern string) string {
	p := strings.ReplaceAll(pattern, "{id}", "12345")
	return strings.ReplaceAll(p, "/*", "/index.html")
}

// TestHeadWorksOnEveryGetRoute sends HEAD to every GET route and compares
// the answer with the GET's: same status and Content-Type, no body. HEAD of
// the stream opens no stream and calls no upstream.
func TestHeadWorksOnEveryGetRoute(t *testing.T) {
	t.Parallel()
	const answer = `{"id":12345,"organization_id":323,"status":"COMPLETE","items":[],"total":0,"page":1,"size":1,"pages":0,"logs":[],"total_logs":0}`
	u := newUpstream(t, jsonAnswer(200, answer))
	proxy := newProxy(t, u, proxyOpts{})
	var gets []string
	for pattern, methods := range routeTable(t) {
		if slices.Contains(methods, http.MethodGet) {
			gets = append(gets, pattern)
		}
	}
	if len(gets) < 10 {
		t.Fatalf("found %d GET routes: %v", len(gets), gets)
	}
	for _, pattern := range gets {
		t.Run(pattern, func(t *testing.T) {
			path := concrete(pattern)
			head, body := call(t, http.MethodHead, proxy+path, "")
			if body != "" {
				t.Errorf("HEAD %s sent a body: %q", path, body)
			}
			if strings.HasSuffix(pattern, "/stream") {
				if head.StatusCode != 200 || head.Header.Get("Content-Type") != "text/event-stream" {
					t.Errorf("HEAD %s: %d %q, want 200 text/event-stream", path, head.StatusCode, head.Header.Get("Content-Type"))
				}
				return
			}
			get, _ := call(t, http.MethodGet, proxy+path, "")
			if head.StatusCode != get.StatusCode || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
				t.Errorf("HEAD %s: %d %q; GET: %d %q", path, head.StatusCode, head.Header.Get("Content-Type"),
					get.StatusCode, get.Header.Get("Content-Type"))
			}
		})
	}
	t.Run("health", func(t *testing.T) {
		resp, body := call(t, http.MethodHead, proxy+"/health", "", "Authorization", "")
		if resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("HEAD /health: %d %q, want 200 and no body", resp.StatusCode, body)
		}
	})
	t.Run("stream calls no upstream", func(t *testing.T) {
		before := len(u.requests())
		if resp, _ := call(t, http.MethodHead, proxy+"/agent-runs/777/logs/stream", ""); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, r := range u.requests()[before:] {
			if strings.Contains(r.Path, "/777") {
				t.Errorf("HEAD of a stream called upstream: %+v", r)
			}
		}
		resp, body := call(t, http.MethodHead, proxy+"/agent-runs/+7/logs/stream", "")
		if resp.StatusCode != http.StatusBadRequest || body != "" {
			t.Errorf("HEAD of a stream with a bad id: %d %q, want 400 without a body", resp.StatusCode, body)
		}
		if resp, _ := call(t, http.MethodHead, proxy+"/agent-runs/7/logs/stream", "", "Authorization", ""); resp.StatusCode != 401 {
			t.Errorf("HEAD of a stream without a token: %d, want 401", resp.StatusCode)
		}
	})
}

// TestEvery405CarriesAllow tries every method the router does not serve on
// every route: 405 with an Allow header naming exactly the methods it does
// serve (HEAD with GET, OPTIONS everywhere). A plain OPTIONS gets 204 with
// Allow; a path that is no route is 404 whatever the method.
func TestEvery405CarriesAllow(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	for pattern, methods := range routeTable(t) {
		path := concrete(pattern)
		var want []string
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if slices.Contains(methods, m) || m == "OPTIONS" || m == "HEAD" && slices.Contains(methods, "GET") {
				want = append(want, m)
			}
		}
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE", "BREW"} {
			if slices.Contains(want, m) {
				continue
			}
			resp, body := call(t, m, proxy+path, "")
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", m, path, resp.StatusCode)
				continue
			}
			if got := resp.Header.Get("Allow"); got != strings.Join(want, ", ") {
				t.Errorf("%s %s: Allow %q, want %q", m, path, got, strings.Join(want, ", "))
			}
			if m != "HEAD" && decodeEnvelope(t, body).Code != "method_not_allowed" {
				t.Errorf("%s %s: body %s", m, path, body)
			}
		}
		resp, body := call(t, http.MethodOptions, proxy+path, "", "Authorization", "")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != strings.Join(want, ", ") || body != "" {
			t.Errorf("OPTIONS %s: %d Allow %q %q, want 204 Allow %q", path, resp.StatusCode, resp.Header.Get("Allow"), body, strings.Join(want, ", "))
		}
	}
	for _, m := range []string{"GET", "HEAD", "DELETE", "OPTIONS", "BREW"} {
		if resp, _ := call(t, m, proxy+"/agent-runz", ""); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Allow") != "" {
			t.Errorf("%s of no route: %d Allow %q, want 404 without Allow", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

// TestTransferEncodingIsRefusedAndTheConnectionClosed speaks raw HTTP/1.1:
// a request with both Content-Length and Transfer-Encoding (RFC 9112 §6.1),
// or with Transfer-Encoding alone, gets 400 and then the connection ends.
// A request with a Content-Length alone is served and the connection kept.
func TestTransferEncodingIsRefusedAndTheConnectionClosed(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{})
	addr := strings.TrimPrefix(proxy, "http://")
	const body = `{"prompt":"x"}`
	head := "POST /agent-runs HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer " + secretToken + "\r\nContent-Type: application/json\r\n"
	chunked := "e\r\n" + body + "\r\n0\r\n\r\n"
	tests := []struct {
		name, request string
		want          int
		wantClose     bool
	}{
		{"both, Content-Length first", head + "Content-Length: 14\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked, 400, true},
		{"both, Transfer-Encoding first", head + "Transfer-Encoding: chunked\r\nContent-Length: 25\r\n\r\n" + chunked, 400, true},
		{"Transfer-Encoding alone", head + "Transfer-Encoding: chunked\r\n\r\n" + chunked, 400, true},
		{"Transfer-Encoding on a GET", "GET /health HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"Content-Length alone", head + "Content-Length: 14\r\n\r\n" + body, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
			if !tt.wantClose {
				// The connection is kept: a second request on it is answered.
				io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: proxy\r\n\r\n")
				if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
					t.Errorf("second request on the connection: %v %v", resp, err)
				}
				return
			}
			if e := decodeEnvelope(t, string(b)); !strings.Contains(e.Error, "Transfer-Encoding is not accepted: send the body with a Content-Length") {
				t.Errorf("error %q", e.Error)
			}
			if !resp.Close {
				t.Errorf("the answer does not say Connection: close: %v", resp.Header)
			}
			if n, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the 400 the connection gave %q, %v; want EOF", n, err)
			}
		})
	}
	t.Cleanup(func() {
		for _, r := range u.requests() {
			if r.Body != `{"prompt":"x"}` {
				t.Errorf("upstream got %+v", r)
			}
		}
	})
}

// TestHTTP10RequestsCloseTheirConnection checks that a chunked "body" sent
// with HTTP/1.0, whose Transfer-Encoding net/http deletes unread, is never
// served as the connection's next request.
func TestHTTP10RequestsCloseTheirConnection(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1}`))
	proxy := newProxy(t, u, proxyOpts{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(proxy, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	smuggled := "GET /users/me HTTP/1.0\r\nAuthorization: Bearer " + secretToken + "\r\n\r\n"
	io.WriteString(conn, "POST /agent-runs HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: Bearer "+secretToken+
		"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"+smuggled)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !resp.Close {
		t.Errorf("status %d, close %v; want 400 and Connection: close", resp.StatusCode, resp.Close)
	}
	if resp, err := http.ReadResponse(br, nil); err == nil {
		t.Errorf("the smuggled request was answered: %d", resp.StatusCode)
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("upstream got %+v, want nothing", got)
	}
}
