package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

// sharedState reads /ready's shared report and /metrics' degraded gauge.
func sharedState(t *testing.T, url string) (status string, code int, gauge string) {
	t.Helper()
	resp, err := testClient().Get(url + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Shared struct{ Status string } }
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	m, err := testClient().Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(m.Body)
	m.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "codegen_proxy_cluster_degraded "); ok {
			gauge = v
		}
	}
	return ready.Shared.Status, resp.StatusCode, gauge
}

func TestRedisURLSharesAndReportsDegradedWithoutFailingReady(t *testing.T) {
	srv := redistest.Start(t)
	s := start(t, map[string]string{"REDIS_URL": srv.URL(), "REDIS_TIMEOUT": "500ms"})
	if st, code, gauge := sharedState(t, s.url); st != "shared" || code != http.StatusOK || gauge != "0" {
		t.Errorf("with Redis up: /ready %d shared %q, degraded gauge %q; want 200, shared, 0", code, st, gauge)
	}
	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, code, gauge := sharedState(t, s.url)
		if st == "degraded" {
			if code != http.StatusOK || gauge != "1" {
				t.Errorf("with Redis down: /ready %d, degraded gauge %q; want 200 and 1", code, gauge)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ready still says %q 10 s after Redis stopped", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for !strings.Contains(s.stderr.String(), "redis lost") { // the log writer flushes every 100 ms
		if time.Now().After(deadline) {
			t.Fatalf("no log line says Redis was lost:\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Restart()
	deadline = time.Now().Add(10 * time.Second)
	for st, _, _ := sharedState(t, s.url); st != "shared"; st, _, _ = sharedState(t, s.url) {
		if time.Now().After(deadline) {
			t.Fatalf("/ready still says %q 10 s after Redis came back", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
