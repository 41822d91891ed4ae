package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// TestReadyKeepsUpstreamDetailsInTheLog: /ready is unauthenticated, so it
// must not show the upstream's internal address or the raw dial error.
func TestReadyKeepsUpstreamDetailsInTheLog(t *testing.T) {
	t.Parallel()
	gone := httptest.NewServer(http.NotFoundHandler())
	upstreamAddr := strings.TrimPrefix(gone.URL, "http://")
	gone.Close()
	client := &codegen.Client{BaseURL: gone.URL + "/v1", Retries: -1}
	hub := &stream.Hub{Client: client}
	logs := &syncBuffer{}
	proxy := httptest.NewServer(newHandler(t, Deps{Logger: newTestLogger(logs), Client: client, Streams: hub, Version: "test", Started: time.Now()}))
	t.Cleanup(func() { hub.Shutdown(); proxy.Close(); hub.Close() })

	resp, err := http.Get(proxy.URL + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"reachable":false`) {
		t.Errorf("upstream down: %d %s, want 503 unreachable", resp.StatusCode, body)
	}
	for _, secret := range []string{upstreamAddr, "dial", "refused", "127.0.0.1"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("/ready shows %q to an unauthenticated caller: %s", secret, body)
		}
	}
	if !strings.Contains(logs.String(), upstreamAddr) {
		t.Errorf("the log lacks the probe's cause (%s):\n%s", upstreamAddr, logs)
	}
}

// TestCORSNeverReflectsAWildcardWithCredentials: with "https://*" in the
// list, go-chi/cors reflected any https origin with Allow-Credentials.
func TestCORSNeverReflectsAWildcardWithCredentials(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.CORSOrigins = []string{"https://*", "https://ui.example"} }})
	for origin, want := range map[string]string{"https://evil.example": "", "https://ui.example": "https://ui.example"} {
		resp, _ := call(t, "GET", proxy+"/agent-runs/1", "", "Origin", origin)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("Origin %s: Allow-Origin %q, want %q", origin, got, want)
		}
		if want == "" && resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("Origin %s: Allow-Credentials sent", origin)
		}
	}
}
