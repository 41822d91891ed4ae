package server

import (
	"net/http"
	"strings"
	"testing"
)

// An escaped letter (POST .../agent/%72un) is the same path to the API, which
// routes on the decoded path, but not to the proxy's budget classes and
// route labels: such a target is refused before it reaches the API, so no
// create slips past the create budget and no log read past the logs one.
func TestV1RefusesNonCanonicalPathsWithoutAnUpstreamCall(t *testing.T) {
	t.Parallel()
	rec, proxy := newRecording(t, jsonAnswer(200, `{}`), proxyOpts{})
	for _, c := range []struct{ method, target string }{
		{http.MethodPost, "/v1/organizations/323/agent/%72un"},
		{http.MethodPost, "/v1/organizations/323/agent/ru%6E?x=1"},
		{http.MethodGet, "/v1/%61lpha/organizations/323/agent/run/5/logs"},
		{http.MethodGet, "/v1/organizations/%33%32%33/users"},
	} {
		var headers []string
		if c.method == http.MethodPost {
			headers = []string{"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"}
		}
		resp, body := rawRequest(t, proxy, c.method, c.target, headers...)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "canonical") {
			t.Errorf("%s %s: %d %s, want 400 naming the non-canonical segment", c.method, c.target, resp.StatusCode, body)
		}
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the upstream was called: %+v", got)
	}
}

// Segments that decode once to neither "." nor "..", but that a server or
// proxy in front of the API may read as one, are refused before any call.
func TestV1RefusesDotLookalikesWithoutAnUpstreamCall(t *testing.T) {
	t.Parallel()
	rec, proxy := newRecording(t, jsonAnswer(200, `{}`), proxyOpts{})
	for _, target := range []string{
		"/v1/users/..;/organizations", "/v1/users/..%3B/organizations", "/v1/users/%252E%252E/organizations",
		"/v1/users/%EF%BC%8E%EF%BC%8E/organizations", "/v1/users/%C0%AE%C0%AE/organizations",
	} {
		if resp, body := rawRequest(t, proxy, http.MethodGet, target); resp.StatusCode != http.StatusBadRequest || decodeEnvelope(t, body).Code != "invalid_request" {
			t.Errorf("GET %s: %d %s, want 400 invalid_request", target, resp.StatusCode, body)
		}
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the upstream was called: %+v", got)
	}
}

// A "#" in the query would be cut off with the rest of the query as a
// fragment on the way to the API: it is refused, and "%23" goes on as sent.
func TestV1RefusesAHashInTheTarget(t *testing.T) {
	t.Parallel()
	rec, proxy := newRecording(t, jsonAnswer(200, `{}`), proxyOpts{})
	for _, target := range []string{"/v1/organizations/323/agent/runs?user_id=1#&source_type=API", "/v1/users/me#x"} {
		if resp, body := rawRequest(t, proxy, http.MethodGet, target); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "#") {
			t.Errorf("GET %s: %d %s, want 400 naming the #", target, resp.StatusCode, body)
		}
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the upstream was called: %+v", got)
	}
	const escaped = "/v1/organizations/323/agent/runs?user_id=1%23&source_type=API"
	if resp, body := rawRequest(t, proxy, http.MethodGet, escaped); resp.StatusCode != 200 {
		t.Errorf("GET %s: %d %s, want 200", escaped, resp.StatusCode, body)
	}
	if got := rec.got(); len(got) != 1 || got[0].uri != escaped {
		t.Errorf("the upstream got %+v, want one call to %s", got, escaped)
	}
}
