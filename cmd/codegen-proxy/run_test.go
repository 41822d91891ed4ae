package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
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
		resp, err := http.Get(url + "/health")
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
	resp, err := http.DefaultClient.Do(req)
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
		resp, err := http.DefaultClient.Do(req)
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
	if _, err := http.Get(s.url + "/health"); err == nil {
		t.Errorf("server still accepts connections after shutdown")
	}
}

func TestInvalidConfigurationIsAConfigError(t *testing.T) {
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"CODEGEN_ORG_ID": "not-a-number"}[k]
	}, io.Discard, io.Discard)
	var cfgErr *config.Error
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "CODEGEN_ORG_ID") {
		t.Errorf("err = %v, want a config error naming CODEGEN_ORG_ID", err)
	}
}

func TestVersionAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	version = "1.2.3-test"
	defer func() { version = "" }()
	if err := run(context.Background(), []string{"--version"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != "codegen-proxy 1.2.3-test\n" {
		t.Errorf("--version printed %q", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, &errOut)
	if !errors.Is(err, config.ErrHelp) || !strings.Contains(out.String(), "CODEGEN_BASE_URL") || errOut.Len() != 0 {
		t.Errorf("--help: err %v, stdout:\n%s\nstderr:\n%s\nwant the usage on stdout only", err, out.String(), errOut.String())
	}
}

// TestReadmeCurlExamplesWork runs every block of curl commands in README.md
// against a sandbox-mode server, so the examples cannot rot.
func TestReadmeCurlExamplesWork(t *testing.T) {
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal(tool + " is not installed")
			}
			t.Skip(tool + " is not installed")
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := curlBlocks(string(readme))
	if n := strings.Count(strings.Join(blocks, ""), "curl "); n < 8 {
		t.Fatalf("found %d curl examples in README.md, want at least 8", n)
	}
	// Short steps: the examples stream runs they create until they end.
	s := start(t, map[string]string{"SANDBOX_RATE_LIMITS": "false", "SANDBOX_STEP": "50ms"})
	// Each command must succeed: a wrapper adds --fail-with-body and a bound.
	const wrapper = "curl() { command curl -sS --fail-with-body --max-time 30 \"$@\"; echo; }\n"
	fixedRun := regexp.MustCompile(`/agent-runs/[0-9]+`)
	for _, b := range blocks {
		// A block that creates a run and then reads one must read the run it
		// created, not a seed run that is long finished.
		if strings.Contains(b, "-X POST") && fixedRun.MatchString(b) && !strings.Contains(b, "/resume") {
			t.Errorf("README example creates a run but reads %s:\n%s", fixedRun.FindString(b), b)
		}
		script := wrapper + strings.ReplaceAll(b, "http://localhost:8000", s.url)
		// pipefail: a failed curl whose output jq reads fails the block too.
		out, err := exec.Command("bash", "-e", "-o", "pipefail", "-c", script).CombinedOutput()
		if err != nil {
			t.Errorf("README example failed: %v\n%s\n%s", err, b, out)
		}
		if strings.Contains(b, "/logs/stream") && !strings.Contains(string(out), "event: done") {
			t.Errorf("README stream example did not end with event: done:\n%s\n%s", b, out)
		}
	}
}

// curlBlocks returns the sh code blocks of a Markdown text that start with a
// curl command, or with one whose output a variable takes (run=$(curl ...).
func curlBlocks(md string) []string {
	var out []string
	startsWithCurl := regexp.MustCompile(`^(\w+=\$\()?curl `)
	for _, m := range regexp.MustCompile("(?s)```(?:sh|bash)\n(.*?)```").FindAllStringSubmatch(md, -1) {
		if startsWithCurl.MatchString(strings.TrimSpace(m[1])) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestExitCodes runs the built binary: help and version exit 0, an invalid
// setting exits 2 with a message naming it.
func TestExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "codegen-proxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0") // an address the binary cannot take
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		args     []string
		env      string
		wantCode int
		wantOut  string
	}{
		{[]string{"--version"}, "", 0, "codegen-proxy "},
		{[]string{"--help"}, "", 0, "STREAM_LOGS_BUDGET"},
		{nil, "CODEGEN_ORG_ID=acme", 2, "CODEGEN_ORG_ID"},
		{[]string{"--log-format", "xml"}, "", 2, "log-format"},
		{nil, "PPROF_ADDR=:0", 2, "PPROF_ALLOW_REMOTE"},
		{nil, "CORS_ALLOWED_ORIGINS=https://*", 2, `"https://*"`},
		{[]string{"--addr", busy.Addr().String()}, "", 1, "listening on " + busy.Addr().String()},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a server that started would never exit
		cmd := exec.CommandContext(ctx, bin, tt.args...)
		cmd.Env = []string{tt.env}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		cancel()
		want := &stderr // errors go to stderr, what was asked for to stdout
		if tt.wantCode == 0 {
			want = &stdout
		}
		if code := cmd.ProcessState.ExitCode(); code != tt.wantCode || !strings.Contains(want.String(), tt.wantOut) {
			t.Errorf("%v %s: exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, tt.env, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut)
		}
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
	resp, err := http.DefaultClient.Do(req)
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
