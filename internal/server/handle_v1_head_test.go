package server

import (
	"net/http"
	"testing"
)

// A HEAD answer says what a GET's would: the upstream's Content-Length, not
// none or 0.
func TestV1HeadKeepsTheUpstreamsContentLength(t *testing.T) {
	t.Parallel()
	_, proxy := newRecording(t, jsonAnswer(200, `{"id":1001}`), proxyOpts{})
	resp, body := rawRequest(t, proxy, http.MethodHead, "/v1/users/me")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != "11" || body != "" {
		t.Errorf("HEAD: %d Content-Length %q %q, want 200, 11 and no body", resp.StatusCode, resp.Header.Get("Content-Length"), body)
	}
}
