package codegen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestForwardSendsTheRequestAsItCameAndOnlyAllowedHeaders(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r, must(io.ReadAll(r.Body))
		h := w.Header()
		h.Set("Content-Type", "application/problem+json")
		h.Set("Retry-After", "7")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("ETag", `"v1"`)
		h.Set("Set-Cookie", "session=upstream")
		h.Set("Location", "https://elsewhere.invalid/")
		h.Set("Connection", "close")
		h.Set("X-Internal", "secret")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"message":"slow down","status_code":429}`)
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL + "/v1", RequestID: func(context.Context) string { return "req-9" }}
	in := http.Header{
		"Accept": {"application/json"}, "Content-Type": {"application/json; charset=utf-8"}, "If-None-Match": {`"v0"`},
		"Cookie": {"session=caller"}, "Authorization": {"Bearer someone-else"}, "Connection": {"X-Hop"}, "X-Hop": {"1"},
		"X-Forwarded-For": {"10.0.0.1"}, "X-Request-Id": {"callers-own"}, "Proxy-Authorization": {"Basic eA=="},
	}
	target := "/organizations/1/agent/run/5?a=%2F&b=x+y&c=%C3%A9"
	f, err := c.Forward(context.Background(), "tok", http.MethodPost, target, in, []byte(`{"a": 1 }`))
	if err != nil {
		t.Fatal(err)
	}
	if got.RequestURI != "/v1"+target || string(gotBody) != `{"a": 1 }` || got.Method != http.MethodPost {
		t.Errorf("upstream got %s %s %q, want POST /v1%s and the body byte for byte", got.Method, got.RequestURI, gotBody, target)
	}
	want := map[string]string{"Authorization": "Bearer tok", "Accept": "application/json", "Content-Type": "application/json; charset=utf-8",
		"If-None-Match": `"v0"`, "X-Request-Id": "req-9", "Cookie": "", "X-Hop": "", "X-Forwarded-For": "", "Proxy-Authorization": ""}
	for k, v := range want {
		if g := got.Header.Get(k); g != v {
			t.Errorf("upstream header %s = %q, want %q", k, g, v)
		}
	}
	if f.Status != http.StatusTooManyRequests || string(f.Body) != `{"message":"slow down","status_code":429}` {
		t.Errorf("answer %d %s, want the upstream's 429 as it came", f.Status, f.Body)
	}
	for k, v := range map[string]string{"Retry-After": "7", "X-Ratelimit-Remaining": "0", "Etag": `"v1"`,
		"Content-Type": "application/problem+json", "Set-Cookie": "", "Location": "", "Connection": "", "X-Internal": ""} {
		if g := f.Header.Get(k); g != v {
			t.Errorf("answer header %s = %q, want %q", k, g, v)
		}
	}
}

func TestForwardRetriesGetsOnlyAndPassesTheLastAnswer(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-RateLimit-Remaining", "3")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"detail":"down"}`)
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL + "/v1", Retries: 2}
	for _, tc := range []struct {
		method string
		calls  int32
	}{{http.MethodGet, 3}, {http.MethodPost, 1}, {http.MethodPut, 1}} {
		calls.Store(0)
		f, err := c.Forward(context.Background(), "t", tc.method, "/x", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Status != 503 || string(f.Body) != `{"detail":"down"}` || f.Header.Get("X-RateLimit-Remaining") != "3" || calls.Load() != tc.calls {
			t.Errorf("%s: %d %s after %d calls, want 503 as it came after %d", tc.method, f.Status, f.Body, calls.Load(), tc.calls)
		}
	}
}

// A 502, 503 or 504 with Retry-After is the API asking to be left alone
// for a while: a GET is not sent again at once, and the answer goes back
// with its Retry-After, so the caller waits as the API asks.
func TestForwardDoesNotRetryAnAnswerWithRetryAfter(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(status)
			io.WriteString(w, `{"detail":"down for maintenance"}`)
		}))
		t.Cleanup(srv.Close)
		c := &Client{BaseURL: srv.URL + "/v1", Retries: 2}
		f, err := c.Forward(context.Background(), "t", http.MethodGet, "/users/me", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := calls.Load(); n != 1 || f.Status != status || f.Header.Get("Retry-After") != "30" || string(f.Body) != `{"detail":"down for maintenance"}` {
			t.Errorf("%d with Retry-After: %d %v %s after %d calls, want it as it came after 1", status, f.Status, f.Header, f.Body, n)
		}
	}
}

// net/http's Transport sends a request again by itself, when a kept-alive
// connection dies after it was written, if it thinks it replayable, and it
// thinks so of any request with an Idempotency-Key: a POST that reached the
// API must never go twice, so the API (which documents no such header)
// never sees one.
func TestForwardNeverSendsAPostTwice(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "Idempotency-Key", "X-Idempotency-Key"} {
		var posts atomic.Int32
		var keys atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Idempotency-Key") != "" || r.Header.Get("X-Idempotency-Key") != "" {
				keys.Add(1)
			}
			if r.Method == http.MethodPost && posts.Add(1) == 1 {
				io.Copy(io.Discard, r.Body)
				if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
					c.Close() // the whole request arrived, and no answer
				}
				return
			}
			io.WriteString(w, `{"id":1}`)
		}))
		t.Cleanup(srv.Close)
		c := &Client{BaseURL: srv.URL + "/v1", Retries: 2}
		if _, err := c.Forward(context.Background(), "t", http.MethodGet, "/users/me", nil, nil); err != nil {
			t.Fatal(err) // leaves a kept-alive connection, which the POST reuses
		}
		h := http.Header{"Content-Type": {"application/json"}}
		if key != "" {
			h.Set(key, "k-1")
		}
		f, err := c.Forward(context.Background(), "t", http.MethodPost, "/organizations/1/agent/run", h, []byte(`{"prompt":"once"}`))
		if n := posts.Load(); n != 1 || !errors.Is(err, ErrUnreachable) {
			t.Errorf("with %q: the API got the POST %d times (%+v, %v), want once and ErrUnreachable", key, n, f, err)
		}
		if n := keys.Load(); n != 0 {
			t.Errorf("with %q: the API got an idempotency key %d times, want never", key, n)
		}
	}
}

func TestForwardFailuresAreErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/redirect":
			http.Redirect(w, r, "https://elsewhere.invalid/", http.StatusFound)
		case "/v1/not-modified":
			w.Header().Set("ETag", `"e"`)
			w.WriteHeader(http.StatusNotModified)
		case "/v1/large":
			w.Write(make([]byte, 2048))
		case "/v1/slow":
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL + "/v1", MaxResponseBytes: 1024, Timeout: 200 * time.Millisecond, Retries: -1}
	for path, want := range map[string]error{"/redirect": ErrBadResponse, "/large": ErrBadResponse, "/slow": ErrTimeout, "/../x": ErrBadTarget} {
		if _, err := c.Forward(context.Background(), "t", http.MethodGet, path, nil, nil); !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", path, err, want)
		}
	}
	f, err := c.Forward(context.Background(), "t", http.MethodGet, "/not-modified", nil, nil)
	if err != nil || f.Status != http.StatusNotModified || f.Header.Get("ETag") != `"e"` || len(f.Body) != 0 {
		t.Errorf("304: %+v %v, want it passed on with its ETag", f, err)
	}
	srv.Close()
	if _, err := c.Forward(context.Background(), "t", http.MethodGet, "/x", nil, nil); !errors.Is(err, ErrUnreachable) {
		t.Errorf("closed upstream: %v, want ErrUnreachable", err)
	}
}

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	for target, ok := range map[string]bool{
		"/organizations/1/agent/run/5":         true,
		"/organizations?skip=0&x=%2F..%5C":     true, // the query may hold anything escaped
		"/organizations/":                      true,
		"/":                                    true,
		"":                                     false,
		"organizations":                        false,
		"//evil.invalid/x":                     false,
		"/a//b":                                false,
		"/a/../b":                              false,
		"/a/..":                                false,
		"/a/./b":                               false,
		"/a/%2e%2E/b":                          false,
		"/a/%2E/b":                             false,
		"/a%2Fb":                               false,
		"/a%2fb":                               false,
		"/a%5cb":                               false,
		`/a\b`:                                 false,
		"/a#b":                                 false,
		"/a?b=1#&c=2":                          false, // a fragment would cut the query short
		"/a?b=%23":                             true,
		"/a%00b":                               false,
		"/a%zz":                                false,
		"/a b":                                 false,
		"/a\x7fb":                              false,
		"/é":                                   false,
		"/users/me?x=1 HTTP/1.1\r\nHost: evil": false,
	} {
		if err := CheckTarget(target); (err == nil) != ok {
			t.Errorf("CheckTarget(%q) = %v, want ok %v", target, err, ok)
		}
	}
}

// An escaped letter would put a call in another budget class (and route
// label) than the API, which routes on the decoded path, gives it: only the
// one spelling url.PathEscape gives is accepted.
func TestCheckTargetAcceptsOnlyCanonicalSegments(t *testing.T) {
	t.Parallel()
	for target, ok := range map[string]bool{
		"/organizations/323/agent/run":                true,
		"/organizations/323/agent/%72un":              false, // %72 is r: a create the proxy would class general
		"/organizations/323/agent/ru%6E?x=1":          false,
		"/%61lpha/organizations/323/agent/run/5/logs": false, // a log read
		"/organizations/323/agent/run/%35":            false, // 5
		"/organizations/323/agent/run/5%2D6":          false, // -
		"/a/%7Eb":                                     false, // ~
		"/a/b%3Ac":                                    false, // : need not be escaped
		"/a/b:c@d=e&f+$":                              true,
		"/a/b%20c":                                    true,
		"/a/b%20c?q=%72":                              true,  // the query is not the path
		"/a/b%2c":                                     false, // lower-case hex: %2C is the one spelling
		"/a/b%2C":                                     true,
		"/a/b,c":                                      false, // , must be escaped
		"/a/b!c":                                      false,
	} {
		err := CheckTarget(target)
		if (err == nil) != ok {
			t.Errorf("CheckTarget(%q) = %v, want ok %v", target, err, ok)
		}
		if err == nil && ClassOf(http.MethodPost, target) != ClassOf(http.MethodPost, must(url.PathUnescape(target))) {
			t.Errorf("CheckTarget accepts %q, whose class differs from its decoded path's", target)
		}
	}
}

// Segments that a server or proxy in front of the API may read as "." or
// "..", though they decode once to neither: a path parameter, a double
// escape, a fullwidth dot (NFKC) and an overlong, invalid UTF-8 dot, in
// lower-case hex (not canonical) and upper-case (canonical) alike.
func TestCheckTargetRefusesDotLookalikes(t *testing.T) {
	t.Parallel()
	for _, target := range []string{
		"/a/..;/organizations", "/a/..%3B/organizations", "/a/x;y", "/a/%3B",
		"/a/%252e%252e/organizations", "/a/%252E%252E/organizations", "/a/%25",
		"/a/%ef%bc%8e%ef%bc%8e/organizations", "/a/%EF%BC%8E%EF%BC%8E/organizations",
		"/a/%c0%ae%c0%ae/organizations", "/a/%C0%AE%C0%AE/organizations",
		"/a/%C3%A9", "/a/%FF",
	} {
		if err := CheckTarget(target); !errors.Is(err, ErrBadTarget) {
			t.Errorf("CheckTarget(%q) = %v, want ErrBadTarget", target, err)
		}
	}
}

func TestPathTemplatesAreTheSpecsAndTheBetaStop(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../api/codegen-openapi3.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	want := []string{"/v1/beta/organizations/{org_id}/agent/run/stop"}
	for p := range spec.Paths {
		want = append(want, p)
	}
	slices.Sort(want)
	if got := PathTemplates(); !slices.Equal(got, want) {
		t.Errorf("PathTemplates() = %v,\nwant the spec's paths and the beta stop %v", got, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
