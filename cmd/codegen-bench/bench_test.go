package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Outputs captured from wrk 4.1.0 and hey on this project's machines.
const wrkOutput = `Running 1s test @ http://127.0.0.1:19001/v1/organizations/323/agent/run/1
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   102.50us  239.28us   4.08ms   95.03%
    Req/Sec    32.93k     3.56k   42.48k    81.82%
  Latency Distribution
     50%   49.00us
     75%   75.00us
     90%  136.00us
     99%    1.30ms
  71974 requests in 1.10s, 44.41MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  65490.21
Transfer/sec:     40.41MB
`

const heyOutput = `
Summary:
  Total:	10.0051 secs
  Requests/sec:	99.9492

Latency distribution:
  10% in 0.0003 secs
  50% in 0.0005 secs
  99% in 0.0012 secs

Status code distribution:
  [200]	990 responses
  [502]	9 responses

Error distribution:
  [1]	Post "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 65490.21 || r.p50 != 49*time.Microsecond || r.p99 != 1300*time.Microsecond || r.errors != 15 {
		t.Errorf("got %+v, want 65490.21 req/s, p50 49us, p99 1.3ms, 15 errors", r)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("a failed run parsed")
	}
}

// TestParseWrkLongLatencies reads the units wrk switches to past a second
// and past a minute, which the parser once did not know (p99 read as 0).
func TestParseWrkLongLatencies(t *testing.T) {
	out := "Latency Distribution\n     50%    1.50s \n     99%    1.05m \nRequests/sec:     12.00\n"
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.p50 != 1500*time.Millisecond || r.p99 != 63*time.Second {
		t.Errorf("got p50 %v, p99 %v; want 1.5s and 1m3s", r.p50, r.p99)
	}
}

func TestParseHey(t *testing.T) {
	r, err := parseHey(heyOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 99.9492 || r.p50 != 500*time.Microsecond || r.p99 != 1200*time.Microsecond || r.errors != 10 {
		t.Errorf("got %+v, want 99.9492 req/s, p50 0.5ms, p99 1.2ms, 10 errors (9 non-2xx, 1 transport)", r)
	}
}

func TestMedianAndPercentiles(t *testing.T) {
	m := median([]result{{rps: 3, errors: 1}, {rps: 1}, {rps: 2, errors: 2}})
	if m.rps != 2 || m.errors != 3 {
		t.Errorf("median %+v, want rps 2 and errors summed to 3", m)
	}
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if pct(ds, 50) != 5 || pct(ds, 100) != 10 || pct(nil, 99) != 0 {
		t.Errorf("percentiles %v %v", pct(ds, 50), pct(ds, 100))
	}
}

func TestReplaceResultsKeepsTheHandWrittenParts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	doc := "# Benchmarks\n\nAnalysis.\n\n" + beginResults + "\nold numbers\n" + endResults + "\n\nMore analysis.\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceResults(path, "new numbers"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# Benchmarks\n\nAnalysis.\n\n" + beginResults + "\nnew numbers\n" + endResults + "\n\nMore analysis.\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Without markers the results become the whole file, markers included.
	if err := replaceResults(path+".new", "fresh"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path + ".new"); string(got) != beginResults+"\nfresh\n"+endResults+"\n" {
		t.Errorf("new file: %q", got)
	}
}

// TestReverseProxyRewritesRoutesAsTheProxyDoes checks the ReverseProxy leg
// sends each codegen-proxy route to the API path codegen-proxy calls.
func TestReverseProxyRewritesRoutesAsTheProxyDoes(t *testing.T) {
	var got atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("Authorization"))
		io.WriteString(w, `{}`)
	}))
	defer api.Close()
	rp := httptest.NewServer(reverseProxy(strings.TrimPrefix(api.URL, "http://")))
	defer rp.Close()
	tests := []struct{ method, path, want string }{
		{"GET", "/agent-runs/12345", "GET /v1/organizations/323/agent/run/12345"},
		{"GET", "/agent-runs?limit=10", "GET /v1/organizations/323/agent/runs?limit=10"},
		{"POST", "/agent-runs", "POST /v1/organizations/323/agent/run"},
		{"POST", "/agent-runs/7/resume", "POST /v1/organizations/323/agent/run/resume"},
		{"GET", "/agent-runs/7/logs?limit=5", "GET /v1/alpha/organizations/323/agent/run/7/logs?limit=5"},
		{"GET", "/users/me", "GET /v1/users/me"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, rp.URL+tt.path, strings.NewReader(createBody))
		req.Header.Set("Authorization", "Bearer sk-bench")
		resp, err := rp.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if g, _ := got.Load().(string); resp.StatusCode != 200 || g != tt.want+" Bearer sk-bench" {
			t.Errorf("%s %s: status %d, upstream saw %q, want %q", tt.method, tt.path, resp.StatusCode, g, tt.want+" Bearer sk-bench")
		}
	}
}

func TestTallyCountsMissingAndRepeatedPositions(t *testing.T) {
	for _, c := range []struct {
		name              string
		ids               []int
		missing, repeated int
	}{
		{"exact", []int{0, 1, 2, 3}, 0, 0},
		{"gap", []int{0, 1, 3}, 1, 0},
		{"duplicate", []int{0, 1, 1, 2, 3}, 0, 1},
		{"resent after a resume", []int{0, 1, 2, 1, 2, 3}, 0, 2},
		{"none", nil, 4, 0},
	} {
		if m, r := tally(c.ids, 4); m != c.missing || r != c.repeated {
			t.Errorf("%s: tally(%v) = %d missing, %d repeated; want %d, %d", c.name, c.ids, m, r, c.missing, c.repeated)
		}
	}
}
