package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// started is a run() going in the background.
type started struct {
	url    string
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// start calls run with args and env (sandbox mode unless env says
// otherwise), waits until /health answers, and stops it at cleanup.
func start(t *testing.T, env map[string]string, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() {
		s.done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] },
			io.Discard, io.MultiWriter(s.stderr, pw))
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(\S+)|"msg":"listening","addr":"([^"]+)"`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1] + m[2]
			}
		}
	}()
	select {
	case s.url = <-addr:
	case err := <-s.done:
		t.Fatalf("run returned before listening: %v\n%s", err, s.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("no listening line:\n%s", s.stderr)
	}
	t.Cleanup(func() { s.stop(t) })
	waitHealthy(t, s.url)
	return s
}

// stop cancels run's context, as SIGTERM does, and checks it returns nil
// within the 10 s grace.
func (s *started) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v after shutdown", err)
		}
		s.done <- nil // later stops see a clean exit
	case <-time.After(12 * time.Second):
		t.Errorf("run did not stop within the grace period")
	}
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := (&http.Client{Timeout: time.Second}).Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/health never answered 200", url)
}

// testClient returns an HTTP client whose requests give up after 30 s, so
// that a server that never answers fails the test rather than hanging it.
func testClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

// lockedBuffer is a bytes.Buffer safe for concurrent use: run's log output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunStartsInSandboxModeAndStopsCleanly(t *testing.T) {
	s := start(t, nil)
	if !strings.Contains(s.stderr.String(), "SANDBOX MODE") {
		t.Errorf("no sandbox notice in:\n%s", s.stderr)
	}
	req, _ := http.NewRequest("GET", s.url+"/agent-runs/12345", nil)
	req.Header.Set("Authorization", "Bearer sandbox")
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("seed run: status %d, want 200", resp.StatusCode)
	}
	s.stop(t)
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("no clean stop in:\n%s", s.stderr)
	}
}

// TestShutdownFinishesInFlightRequests stops the server while a request
// waits on a slow upstream: the request still gets its answer, and new
// connections are refused.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	arrived := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, `{"id":7,"organization_id":1}`)
	}))
	defer slow.Close()
	s := start(t, map[string]string{"CODEGEN_BASE_URL": slow.URL, "CODEGEN_ORG_ID": "1"})

	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.url+"/agent-runs/7", nil)
		req.Header.Set("Authorization", "Bearer x")
		resp, err := testClient().Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	<-arrived
	s.stop(t)
	if r := <-got; r.err != nil || r.status != 200 {
		t.Errorf("in-flight request: status %d, err %v; want 200", r.status, r.err)
	}
	if _, err := testClient().Get(s.url + "/health"); err == nil {
		t.Errorf("server still accepts connections after shutdown")
	}
}

// TestEgressProxyIsUsedWhenConfigured runs the proxy behind an HTTP egress
// proxy, as HTTP_PROXY names one, and checks the upstream call went through
// it.
func TestEgressProxyIsUsedWhenConfigured(t *testing.T) {
	var seen atomic.Value
	egress := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.String()) // a proxied request carries the absolute URL
		io.WriteString(w, `{"id":5,"organization_id":1}`)
	}))
	defer egress.Close()
	s := start(t, map[string]string{
		"CODEGEN_BASE_URL": "http://api.codegen.invalid/v1", "CODEGEN_ORG_ID": "1", "HTTP_PROXY": egress.URL,
	})
	req, _ := http.NewRequest("GET", s.url+"/agent-runs/5", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, _ := seen.Load().(string); resp.StatusCode != 200 || got != "http://api.codegen.invalid/v1/organizations/1/agent/run/5" {
		t.Errorf("status %d; the egress proxy saw %q", resp.StatusCode, got)
	}
	if _, viaProxy := upstreamPools(func(string) string { return "" }, time.Second); viaProxy {
		t.Error("an egress proxy was reported with none configured")
	}
	newPool, viaProxy := upstreamPools(func(k string) string { return map[string]string{"https_proxy": "http://p:3128"}[k] }, time.Second)
	tr := newPool()
	req, _ = http.NewRequest("GET", "https://api.codegen.com/v1/users/me", nil)
	if u, err := tr.Proxy(req); !viaProxy || err != nil || u == nil || u.Host != "p:3128" {
		t.Errorf("lower-case https_proxy: proxy %v, %v (reported: %v), want p:3128", u, err, viaProxy)
	}
	req, _ = http.NewRequest("GET", "https://127.0.0.1:8001/v1/users/me", nil) // the sandbox's address
	if u, err := tr.Proxy(req); u != nil || err != nil {
		t.Errorf("loopback went through the egress proxy %v (%v)", u, err)
	}
}
