package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// keepIdle opens a connection, makes one request without a token on it
// (401), reads the answer and leaves the connection open and idle, as the
// clients that exhausted the file descriptors did.
func keepIdle(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a server that never answers fails the test
	defer c.SetReadDeadline(time.Time{})
	fmt.Fprintf(c, "GET /agent-runs/12345 HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("request without a token: status %d, want 401", resp.StatusCode)
	}
	return c
}

// getNew makes a request on a connection of its own.
func getNew(url, token string) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestIdleConnectionsAtTheBoundLeaveRoomForOthers fills MAX_CONNECTIONS
// with idle keep-alive connections and more: the longest idle are closed,
// and /health and a request with a token are still answered.
func TestIdleConnectionsAtTheBoundLeaveRoomForOthers(t *testing.T) {
	const bound = 20
	s := start(t, map[string]string{"MAX_CONNECTIONS": fmt.Sprint(bound), "SANDBOX_RATE_LIMITS": "false"})
	closed := make(chan struct{}, bound+5)
	for range bound + 5 {
		c := keepIdle(t, s.url)
		go func() { // the server sends nothing unasked: a read ends when it closes c
			if _, err := c.Read(make([]byte, 1)); err == io.EOF {
				closed <- struct{}{}
			}
		}()
	}
	select { // past the bound, idle connections made room
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Errorf("%d idle connections against a bound of %d: none was closed", bound+5, bound)
	}
	for _, tt := range []struct{ path, token string }{{"/health", ""}, {"/agent-runs/12345", "sandbox"}} {
		if code, err := getNew(s.url+tt.path, tt.token); err != nil || code != http.StatusOK {
			t.Errorf("GET %s with %d idle connections at the bound: %d, %v; want 200", tt.path, bound, code, err)
		}
	}
}

// TestRequestsRunningAtTheShutdownDeadlineAreAnswered stops the server while
// a request waits on an upstream that will not answer within the grace: the
// request gets 503 shutting_down in the error envelope, and run returns nil.
func TestRequestsRunningAtTheShutdownDeadlineAreAnswered(t *testing.T) {
	arrived := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // until the proxy gives up
	}))
	defer hung.Close()
	s := start(t, map[string]string{
		"CODEGEN_BASE_URL": hung.URL, "CODEGEN_ORG_ID": "1", "SHUTDOWN_TIMEOUT": "2s", "UPSTREAM_TIMEOUT": "5m",
		"LOG_FORMAT": "json",
	})
	type result struct {
		status int
		env    map[string]any
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
		defer resp.Body.Close()
		var env map[string]any
		err = json.NewDecoder(resp.Body).Decode(&env)
		got <- result{status: resp.StatusCode, env: env, err: err}
	}()
	<-arrived
	s.stop(t) // fails the test unless run returns nil
	r := <-got
	if r.err != nil || r.status != http.StatusServiceUnavailable || r.env["code"] != "shutting_down" || r.env["request_id"] == "" {
		t.Errorf("in-flight request at the deadline: status %d, body %v, err %v; want 503 shutting_down", r.status, r.env, r.err)
	}
	if !strings.Contains(s.stderr.String(), `"grace":"2s"`) {
		t.Errorf("the shutdown grace is not logged as a duration string:\n%s", s.stderr)
	}
}

// TestPprofServesNoCommandLine: /debug/pprof/cmdline would show a token
// given as --api-token.
func TestPprofServesNoCommandLine(t *testing.T) {
	s := start(t, map[string]string{"PPROF_ADDR": "127.0.0.1:0"})
	m := regexp.MustCompile(`msg="serving profiles" addr=(\S+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no pprof address in the log:\n%s", s.stderr)
	}
	for path, want := range map[string]int{"": 200, "heap?debug=1": 200, "cmdline": 404} {
		if code, err := getNew(m[1]+path, ""); err != nil || code != want {
			t.Errorf("GET %s%s: %d, %v; want %d", m[1], path, code, err, want)
		}
	}
}

// TestPprofListenerIsWhereTheCheckSaid listens where config.Load's check
// cannot see (a name resolves at listen time): a listener that did not end
// up on loopback is refused unless PPROF_ALLOW_REMOTE, which is then named
// in the warning. Nothing is served on it.
func TestPprofListenerIsWhereTheCheckSaid(t *testing.T) {
	tests := []struct {
		addr        string
		allowRemote bool
		wantErr     string // empty: the listener is returned
		wantLog     string
	}{
		{"127.0.0.1:0", false, "", `level=INFO msg="serving profiles"`},
		{"127.0.0.1:0", true, "", `level=INFO msg="serving profiles"`},
		{"0.0.0.0:0", false, "use 127.0.0.1:PORT", ""},
		{"0.0.0.0:0", true, "", `level=WARN msg="serving profiles off loopback because PPROF_ALLOW_REMOTE=true`},
	}
	for _, tt := range tests {
		var log lockedBuffer
		ln, err := pprofListener(tt.addr, tt.allowRemote, slog.New(slog.NewTextHandler(&log, nil)))
		if ln != nil {
			ln.Close()
		}
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s, allow remote %v: err %v, want one saying %q", tt.addr, tt.allowRemote, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(log.String(), tt.wantLog) {
			t.Errorf("%s, allow remote %v: err %v, log %q; want a listener and %q", tt.addr, tt.allowRemote, err, log.String(), tt.wantLog)
		}
	}
}

// TestStreamsLeaveConnectionsForOtherRequests sets STREAM_MAX above what
// MAX_CONNECTIONS can hold beside a headroom of 8: STREAM_MAX is lowered
// with a warning, the stream past it is refused with 503, and /health and a
// request with a token are answered while the streams are open.
func TestStreamsLeaveConnectionsForOtherRequests(t *testing.T) {
	const bound, streams = 12, 4 // 12 connections less a headroom of 8
	s := start(t, map[string]string{"MAX_CONNECTIONS": fmt.Sprint(bound), "STREAM_MAX": "100", "SANDBOX_RATE_LIMITS": "false"})
	if !strings.Contains(s.stderr.String(), fmt.Sprintf(`level=WARN msg="STREAM_MAX lowered to leave connections for other requests under MAX_CONNECTIONS" stream_max=100 lowered_to=%d max_connections=%d`, streams, bound)) {
		t.Errorf("no warning that STREAM_MAX was lowered in:\n%s", s.stderr)
	}
	req, _ := http.NewRequest("POST", s.url+"/agent-runs", strings.NewReader(`{"prompt":"wait sandbox:PAUSED"}`))
	req.Header.Set("Authorization", "Bearer sandbox")
	req.Header.Set("Content-Type", "application/json")
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var run struct{ ID int64 }
	json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || run.ID == 0 {
		t.Fatalf("creating a run: status %d, id %d", resp.StatusCode, run.ID)
	}
	for i := range streams + 1 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/agent-runs/%d/logs/stream", s.url, run.ID), nil)
		req.Header.Set("Authorization", "Bearer sandbox")
		resp, err := testClient().Do(req) // headers come before the first event
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if want := map[bool]int{true: 200, false: 503}[i < streams]; resp.StatusCode != want {
			t.Errorf("stream %d of at most %d: status %d, want %d", i+1, streams, resp.StatusCode, want)
		}
	}
	for _, tt := range []struct{ path, token string }{{"/health", ""}, {"/agent-runs/12345", "sandbox"}} {
		if code, err := getNew(s.url+tt.path, tt.token); err != nil || code != http.StatusOK {
			t.Errorf("GET %s with %d streams open: %d, %v; want 200", tt.path, streams, code, err)
		}
	}
}

// stallBody opens a connection and sends a create whose declared body never
// comes: the headers and one byte of 100. It returns once the server asks
// for the body (100 Continue): the connection is then busy, never evicted.
func stallBody(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "POST /agent-runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sandbox\r\nContent-Type: application/json\r\n"+
		"Expect: 100-continue\r\nContent-Length: 100\r\n\r\n{")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue as the server begins to read the body: %v %v", resp, err)
	}
	return c, br
}

// readFinal reads an answer and its envelope on br.
func readFinal(br *bufio.Reader) (*http.Response, map[string]any, error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var env map[string]any
	err = json.NewDecoder(resp.Body).Decode(&env)
	return resp, env, err
}

// TestStalledBodiesAtTheBoundLeaveRoomForOthers fills MAX_CONNECTIONS with
// creates whose bodies stop arriving, which are busy and never evicted:
// each is answered 408 request_timeout once BODY_READ_TIMEOUT passes, its
// connection closed, and /health is answered then (until then a new
// connection waits in Accept: every slot is busy).
func TestStalledBodiesAtTheBoundLeaveRoomForOthers(t *testing.T) {
	const bound = 10
	s := start(t, map[string]string{"MAX_CONNECTIONS": fmt.Sprint(bound), "SANDBOX_RATE_LIMITS": "false", "BODY_READ_TIMEOUT": "300ms"})
	readers := make([]*bufio.Reader, bound)
	for i := range readers {
		_, readers[i] = stallBody(t, s.url)
	}
	deadline := time.Now().Add(15 * time.Second)
	for { // until /health gets through, well before the 2-minute ReadTimeout
		if code, err := getNew(s.url+"/health", ""); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health never answered with %d stalled bodies at the bound", bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, br := range readers {
		resp, env, err := readFinal(br)
		if err != nil || resp.StatusCode != http.StatusRequestTimeout || env["code"] != "request_timeout" || !resp.Close {
			t.Errorf("stalled body %d: %v %v %v; want 408 request_timeout with Connection: close", i, resp, env, err)
		}
	}
}

// TestBodiesBeingReadAtShutdownAreAnswered stops the server while a create
// is sending its body (BODY_READ_TIMEOUT is longer than the grace): the
// read is interrupted and the request gets 503 shutting_down.
func TestBodiesBeingReadAtShutdownAreAnswered(t *testing.T) {
	s := start(t, map[string]string{"SHUTDOWN_TIMEOUT": "2s", "BODY_READ_TIMEOUT": "1m", "SANDBOX_RATE_LIMITS": "false"})
	_, br := stallBody(t, s.url)
	s.stop(t)
	resp, env, err := readFinal(br)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || env["code"] != "shutting_down" {
		t.Errorf("body being read at shutdown: %v %v %v; want 503 shutting_down", resp, env, err)
	}
}
