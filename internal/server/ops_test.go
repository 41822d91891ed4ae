package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// metricLine returns the value of the sample whose line starts with prefix,
// or "" when there is none.
func metricLine(body, prefix string) string {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			return strings.TrimPrefix(line, prefix+" ")
		}
	}
	return ""
}

func TestMetricsCountByRoutePatternAndNeverHoldSecrets(t *testing.T) {
	t.Parallel()
	var limited atomic.Bool
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if limited.Load() {
			w.Header().Set("Retry-After", "3")
			jsonAnswer(429, `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`)(w, r)
			return
		}
		jsonAnswer(200, `{"id":1,"organization_id":323}`)(w, r)
	})
	proxy := newProxy(t, u, proxyOpts{})
	call(t, "GET", proxy+"/agent-runs/1", "")
	call(t, "GET", proxy+"/agent-runs/2", "")
	call(t, "GET", proxy+"/no/such/route", "")
	call(t, "GET", proxy+"/agent-runs/3", "", "Authorization", "")
	limited.Store(true)
	call(t, "GET", proxy+"/agent-runs/4", "")

	resp, body := call(t, "GET", proxy+"/metrics", "", "Authorization", "")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for prefix, want := range map[string]string{
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="/agent-runs/{id}",status="200"}`: "2",
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="/agent-runs/{id}",status="401"}`: "1",
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="/agent-runs/{id}",status="429"}`: "1",
		`codegen_proxy_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}`:        "1",
		`codegen_proxy_upstream_request_duration_seconds_count{op="get_run",status="200"}`:                      "2",
		`codegen_proxy_upstream_rate_limited_total{op="get_run"}`:                                               "1",
		`codegen_proxy_sse_streams_open`: "0",
		`codegen_proxy_stream_pollers`:   "0",
	} {
		if got := metricLine(body, prefix); got != want {
			t.Errorf("%s = %q, want %q", prefix, got, want)
		}
	}
	if !strings.Contains(body, `codegen_proxy_build_info{go_version="go`) || !strings.Contains(body, "process_resident_memory_bytes") {
		t.Error("build info or process metrics missing")
	}
	hash := sha256.Sum256([]byte(secretToken))
	for _, secret := range []string{"/agent-runs/1", secretToken, hex.EncodeToString(hash[:])} {
		if strings.Contains(body, secret) {
			t.Errorf("metrics contain %q", secret)
		}
	}
}

func TestStreamMetricsFollowTheHub(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323,"status":"PAUSED","logs":[],"total_logs":0}`))
	proxy := newProxy(t, u, proxyOpts{})
	req, _ := http.NewRequest("GET", proxy+"/agent-runs/1/logs/stream?access_token=x", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		_, body = call(t, "GET", proxy+"/metrics", "", "Authorization", "")
		if metricLine(body, "codegen_proxy_sse_streams_open") == "1" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if metricLine(body, "codegen_proxy_sse_streams_open") != "1" || metricLine(body, "codegen_proxy_stream_pollers") != "1" ||
		metricLine(body, "codegen_proxy_stream_upstream_polls_total") == "0" {
		t.Errorf("with one stream open: streams %q, pollers %q, polls %q", metricLine(body, "codegen_proxy_sse_streams_open"),
			metricLine(body, "codegen_proxy_stream_pollers"), metricLine(body, "codegen_proxy_stream_upstream_polls_total"))
	}
}

func TestReadyProbesTheUpstreamAndCachesTheAnswer(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(401)
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		jsonAnswer(int(status.Load()), `{"message":"x","status_code":401}`)(w, r)
	})
	proxy := newProxy(t, u, proxyOpts{})
	resp, body := call(t, "GET", proxy+"/ready", "", "Authorization", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"ready"`) || !strings.Contains(body, `"status_code":401`) {
		t.Errorf("upstream answering 401: %d %s, want 200 ready", resp.StatusCode, body)
	}
	call(t, "GET", proxy+"/ready", "", "Authorization", "")
	if n := len(u.requests()); n != 1 {
		t.Errorf("two /ready calls within 5 s probed upstream %d times, want 1", n)
	}
	if got := u.requests()[0]; got.Path != "/v1/users/me" || got.Auth != "" {
		t.Errorf("probe %+v, want GET /v1/users/me without a token (none configured)", got)
	}
}

func TestReadyIs503WhenTheUpstreamFails(t *testing.T) {
	t.Parallel()
	failing := newUpstream(t, jsonAnswer(503, `oops`))
	proxy := newProxy(t, failing, proxyOpts{})
	if resp, body := call(t, "GET", proxy+"/ready", "", "Authorization", ""); resp.StatusCode != 503 || !strings.Contains(body, `"status":"unavailable"`) {
		t.Errorf("upstream 503: %d %s, want 503 unavailable", resp.StatusCode, body)
	}
	gone := newUpstream(t, jsonAnswer(200, `{}`))
	proxy = newProxy(t, gone, proxyOpts{})
	gone.Close()
	if resp, body := call(t, "GET", proxy+"/ready", "", "Authorization", ""); resp.StatusCode != 503 || !strings.Contains(body, `"reachable":false`) {
		t.Errorf("upstream down: %d %s, want 503 unreachable", resp.StatusCode, body)
	}
}
