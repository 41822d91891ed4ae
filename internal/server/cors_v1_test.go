package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// A script in a browser can read every rate-limit header the pass-through
// passes back (the IETF RateLimit field included), and may send no header
// the pass-through does not send on, such as Idempotency-Key.
func TestV1CORSMatchesTheForwardedHeaders(t *testing.T) {
	t.Parallel()
	_, proxy := newRecording(t, jsonAnswer(200, `{}`), proxyOpts{})
	resp, _ := call(t, http.MethodGet, proxy+"/v1/users/me", "", "Origin", "https://app.example")
	var exposed []string
	for _, h := range strings.Split(resp.Header.Get("Access-Control-Expose-Headers"), ",") {
		exposed = append(exposed, strings.ToLower(strings.TrimSpace(h)))
	}
	safelisted := []string{"content-type", "content-language", "cache-control", "expires", "last-modified", "vary"} // or not for scripts
	for _, h := range codegen.ForwardedAnswerHeaders() {
		if h := strings.ToLower(h); !slices.Contains(safelisted, h) && !slices.Contains(exposed, h) {
			t.Errorf("Expose-Headers %v lacks %s, which /v1 passes back", exposed, h)
		}
	}
	resp, _ = call(t, http.MethodOptions, proxy+"/v1/organizations/323/agent/run", "", "Origin", "https://app.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "idempotency-key")
	if got := resp.Header.Get("Access-Control-Allow-Headers"); strings.Contains(strings.ToLower(got), "idempotency-key") {
		t.Errorf("preflight allows %q, want no Idempotency-Key: the proxy never sends it on", got)
	}
}
