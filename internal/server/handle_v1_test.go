package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// arrival is one request as the recording upstream received it.
type arrival struct {
	method, uri string
	header      http.Header
	body        string
}

// recording is an upstream that keeps every request whole and answers with
// answer.
type recording struct {
	mu       sync.Mutex
	arrivals []arrival
}

func (rec *recording) got() []arrival {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]arrival(nil), rec.arrivals...)
}

// newRecording starts the recording upstream and a proxy in front of it.
func newRecording(t *testing.T, answer http.HandlerFunc, o proxyOpts) (*recording, string) {
	t.Helper()
	rec := &recording{}
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.arrivals = append(rec.arrivals, arrival{r.Method, r.RequestURI, r.Header.Clone(), string(b)})
		rec.mu.Unlock()
		answer(w, r)
	})
	return rec, newProxy(t, u, o)
}

func TestV1PassesRequestsThroughByteForByte(t *testing.T) {
	t.Parallel()
	rec, proxy := newRecording(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Set-Cookie", "upstream=1")
		h.Set("X-Internal-Trace", "abc")
		h.Set("ETag", `"e1"`)
		h.Set("X-RateLimit-Remaining", "59")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"from" : "upstream"}`)
	}, proxyOpts{})
	const body = "{\"prompt\" :\"é\\u00e9 x\",\n \"metadata\":{}}"
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			sent := ""
			if method != "GET" && method != "DELETE" {
				sent = body
			}
			path := "/v1/organizations/323/agent/run?x=%2F..%5C&y=a+b&y=2&z=%C3%A9"
			resp, got := call(t, method, proxy+path, sent, "Accept", "application/json", "If-None-Match", `"e0"`,
				"Cookie", "session=caller", "X-Forwarded-For", "10.1.1.1", "Connection", "X-Hop", "X-Hop", "1",
				"X-Codegen-Org-Id", "324", "Accept-Language", "fr")
			if resp.StatusCode != 200 || got != `{"from" : "upstream"}` {
				t.Fatalf("answer %d %q, want the upstream's 200 body as it came", resp.StatusCode, got)
			}
			for k, want := range map[string]string{"Etag": `"e1"`, "X-Ratelimit-Remaining": "59", "Set-Cookie": "",
				"X-Internal-Trace": "", "X-Content-Type-Options": "nosniff"} {
				if g := resp.Header.Get(k); g != want {
					t.Errorf("answer header %s = %q, want %q", k, g, want)
				}
			}
			all := rec.got()
			a := all[len(all)-1]
			if a.method != method || a.uri != path || a.body != sent {
				t.Errorf("upstream got %s %s %q, want %s %s %q", a.method, a.uri, a.body, method, path, sent)
			}
			for k, want := range map[string]string{"Authorization": "Bearer " + secretToken, "Accept": "application/json",
				"If-None-Match": `"e0"`, "Accept-Language": "fr", "X-Request-Id": resp.Header.Get("X-Request-ID"),
				"Cookie": "", "X-Forwarded-For": "", "X-Hop": "", "X-Codegen-Org-Id": ""} {
				if g := a.header.Get(k); g != want {
					t.Errorf("upstream header %s = %q, want %q", k, g, want)
				}
			}
			if ct := a.header.Get("Content-Type"); sent != "" && ct != "application/json" {
				t.Errorf("upstream Content-Type %q, want the caller's", ct)
			}
		})
	}
}

func TestV1PassesUpstreamErrorsAsTheyCame(t *testing.T) {
	t.Parallel()
	answers := map[string]struct {
		status  int
		body    string
		headers []string
	}{
		"/v1/limited":   {429, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`, []string{"Retry-After", "17", "RateLimit-Reset", "17"}},
		"/v1/invalid":   {422, `{"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]}`, nil},
		"/v1/forbidden": {403, `{"message":"You do not have access to this organization.","status_code":403}`, nil},
		"/v1/broken":    {500, `{"detail":"Internal Server Error"}`, nil},
		"/v1/down":      {503, `{"detail":"down"}`, []string{"Retry-After", "5"}},
	}
	_, proxy := newRecording(t, func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.URL.Path]
		for i := 0; i < len(a.headers); i += 2 {
			w.Header().Set(a.headers[i], a.headers[i+1])
		}
		jsonAnswer(a.status, a.body)(w, r)
	}, proxyOpts{})
	for path, a := range answers {
		resp, body := call(t, "GET", proxy+path, "")
		if resp.StatusCode != a.status || body != a.body {
			t.Errorf("%s: %d %s, want the upstream's %d %s", path, resp.StatusCode, body, a.status, a.body)
		}
		for i := 0; i < len(a.headers); i += 2 {
			if g := resp.Header.Get(a.headers[i]); g != a.headers[i+1] {
				t.Errorf("%s: %s = %q, want %q", path, a.headers[i], g, a.headers[i+1])
			}
		}
	}
}

func TestV1BrokenOrSlowUpstreamIsTheEnvelope(t *testing.T) {
	t.Parallel()
	_, proxy := newRecording(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/slow":
			<-r.Context().Done()
		case "/v1/reset":
			c, _, _ := http.NewResponseController(w).Hijack()
			c.Close()
		case "/v1/redirect":
			http.Redirect(w, r, "https://elsewhere.invalid/", http.StatusFound)
		case "/v1/untyped":
			w.Header()["Content-Type"] = nil
			io.WriteString(w, `{"a":1}`)
		}
	}, proxyOpts{client: func(c *codegen.Client) { c.Timeout = 300 * time.Millisecond }})
	for path, want := range map[string]int{"/v1/slow": 504, "/v1/reset": 502, "/v1/redirect": 502} {
		resp, body := call(t, "GET", proxy+path, "")
		if e := decodeEnvelope(t, body); resp.StatusCode != want || e.StatusCode != want {
			t.Errorf("%s: %d %s, want %d in the envelope", path, resp.StatusCode, body, want)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%s: Location %q passed on", path, loc)
		}
	}
	resp, body := call(t, "GET", proxy+"/v1/untyped", "")
	if _, typed := resp.Header["Content-Type"]; resp.StatusCode != 200 || body != `{"a":1}` || typed {
		t.Errorf("an answer without Content-Type: %d %s %q, want it as it came, untyped", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
}

// rawRequest sends a request line as it is, which net/http's client would
// not, and returns the answer.
func rawRequest(t *testing.T, proxy, method, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	addr := strings.TrimPrefix(proxy, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n%s\r\n",
		method, target, addr, secretToken, strings.Join(headers, ""))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestV1RefusesHostilePathsWithoutAnUpstreamCall(t *testing.T) {
	t.Parallel()
	rec, proxy := newRecording(t, jsonAnswer(200, `{}`), proxyOpts{})
	addr := strings.TrimPrefix(proxy, "http://")
	for _, target := range []string{
		"/v1/../metrics", "/v1/organizations/..", "/v1/organizations/%2e%2E/x", "/v1/./users/me",
		"/v1/a%2Fb", "/v1/a%2fb", "/v1/a%5Cb", "/v1/a%5cb", `/v1/a\b`, "/v1//evil.invalid/x", "/v1/a%00b",
		"http://evil.invalid/v1/users/me", "http://" + addr + "/v1/users/me",
	} {
		resp, body := rawRequest(t, proxy, "GET", target)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", target, resp.StatusCode, body)
			continue
		}
		if e := decodeEnvelope(t, body); e.Code != "invalid_request" {
			t.Errorf("GET %s: code %q, want invalid_request", target, e.Code)
		}
	}
	// net/http itself refuses a target it cannot parse, before any handler.
	if resp, body := rawRequest(t, proxy, "GET", "/v1/a%zz"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /v1/a%%zz: %d %s, want 400", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", proxy+"/v1/users/me", "", "Authorization", ""); resp.StatusCode != 401 || decodeEnvelope(t, body).Code != "unauthorized" {
		t.Errorf("no token: %d %s, want 401 in the envelope", resp.StatusCode, body)
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the upstream was called: %+v", got)
	}
}

func TestV1BodiesAreBounded(t *testing.T) {
	t.Parallel()
	rec, proxy := newRecording(t, jsonAnswer(200, `{}`), proxyOpts{config: func(c *config.Config) { c.MaxBodyBytes = 64 }})
	big := `{"prompt":"` + strings.Repeat("x", 100) + `"}`
	if resp, body := call(t, "POST", proxy+"/v1/organizations/323/agent/run", big); resp.StatusCode != 413 || decodeEnvelope(t, body).Code != "body_too_large" {
		t.Errorf("large body: %d %s, want 413", resp.StatusCode, body)
	}
	if resp, body := call(t, "PUT", proxy+"/v1/x", "a=b", "Content-Type", "application/x-www-form-urlencoded"); resp.StatusCode != 415 {
		t.Errorf("form body: %d %s, want 415", resp.StatusCode, body)
	}
	if resp, body := call(t, "DELETE", proxy+"/v1/x", `{}`); resp.StatusCode != 400 {
		t.Errorf("DELETE with a body: %d %s, want 400", resp.StatusCode, body)
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the upstream was called: %+v", got)
	}
}

func TestV1RouteLabelIsTheAPIsPathTemplate(t *testing.T) {
	t.Parallel()
	_, proxy := newRecording(t, jsonAnswer(200, `{}`), proxyOpts{})
	call(t, "GET", proxy+"/v1/organizations/323/agent/run/12345", "")
	call(t, "GET", proxy+"/v1/organizations/324/agent/run/8765431", "")
	call(t, "GET", proxy+"/v1/users/me", "")
	call(t, "POST", proxy+"/v1/organizations/323/agent/run/ban", `{"agent_run_id":1}`)
	call(t, "PUT", proxy+"/v1/organizations/323/repos/check-suite-settings?repo_id=42", `{}`)
	call(t, "GET", proxy+"/v1/secret-path-4711/x", "")
	rawRequest(t, proxy, "GET", "/v1/../secret-dots-4712")
	_, body := call(t, "GET", proxy+"/metrics", "", "Authorization", "")
	for prefix, want := range map[string]string{
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="/v1/organizations/{org_id}/agent/run/{agent_run_id}",status="200"}`:   "2",
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="/v1/users/me",status="200"}`:                                          "1",
		`codegen_proxy_http_request_duration_seconds_count{method="POST",route="/v1/organizations/{org_id}/agent/run/ban",status="200"}`:             "1",
		`codegen_proxy_http_request_duration_seconds_count{method="PUT",route="/v1/organizations/{org_id}/repos/check-suite-settings",status="200"}`: "1",
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="/v1/*",status="200"}`:                                                 "1",
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="/v1/*",status="400"}`:                                                 "1",
	} {
		if got := metricLine(body, prefix); got != want {
			t.Errorf("%s = %q, want %q", prefix, got, want)
		}
	}
	for _, raw := range []string{"12345", "8765431", "secret-path", "secret-dots"} {
		if strings.Contains(body, raw) {
			t.Errorf("/metrics holds the raw path part %q", raw)
		}
	}
}

// TestV1WorksInSandboxMode drives the pass-through against the sandbox.
func TestV1WorksInSandboxMode(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, streamOpts{})
	resp, body := call(t, "GET", e.proxy+"/v1/organizations/323/users/1001", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":1001`) {
		t.Errorf("the current user: %d %s, want 200 and user 1001", resp.StatusCode, body)
	}
	resp, body = call(t, "GET", e.proxy+"/v1/organizations/323/agent/run/1", "")
	if resp.StatusCode != 404 || body != `{"message":"Agent run not found.","status_code":404}` {
		t.Errorf("a missing run: %d %s, want the API's own 404", resp.StatusCode, body)
	}
}
