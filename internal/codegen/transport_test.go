package codegen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer counts the connections a test server accepts.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// get sends a GET with tr and returns the body.
func get(t *testing.T, tr http.RoundTripper, ctx context.Context, url string) (string, error) {
	t.Helper()
	return send(t, tr, ctx, "GET", url, "")
}

func send(t *testing.T, tr http.RoundTripper, ctx context.Context, method, url, body string) (string, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, rd)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestTransportReusesConnections(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	for i := range 20 {
		got, err := get(t, tr, context.Background(), fmt.Sprintf("%s/%d", srv.URL, i))
		if err != nil || got != fmt.Sprintf("/%d", i) {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d connections, want 1", n)
	}
}

func TestTransportChunkedAndConnectionClose(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		for i := range 3 { // no Content-Length: chunked
			fmt.Fprintf(w, "part%d;", i)
			http.NewResponseController(w).Flush()
		}
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	for _, path := range []string{"/a", "/close", "/b", "/c"} {
		if got, err := get(t, tr, context.Background(), srv.URL+path); err != nil || got != "part0;part1;part2;" {
			t.Fatalf("%s: %q, %v", path, got, err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("connections = %d, want 2 (a new one after Connection: close)", n)
	}
}

// staleServer closes every connection once it has sent one answer and
// gone idle, as servers with short keep-alive timeouts do, and counts the
// requests it got.
func staleServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateIdle {
			c.Close()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestTransportRecoversFromStaleConnections(t *testing.T) {
	t.Parallel()
	srv, requests := staleServer(t)
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	for i := range 5 {
		if got, err := get(t, tr, context.Background(), srv.URL); err != nil || got != "ok" {
			t.Fatalf("GET %d on a stale connection: %q, %v", i, got, err)
		}
		time.Sleep(10 * time.Millisecond) // let the server close the idle connection
		if got, err := send(t, tr, context.Background(), "POST", srv.URL, "x"); err != nil || got != "ok" {
			t.Fatalf("POST %d on a stale connection: %q, %v", i, got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := requests.Load(); n != 10 {
		t.Errorf("server got %d requests for 10 sent: a request went twice or not at all", n)
	}
}

func TestTransportCancellationAndDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			io.WriteString(w, strings.Repeat("x", 100))
			http.NewResponseController(w).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := &Transport{}
	defer tr.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := get(t, tr, ctx, srv.URL+"/slow-head"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow headers: %v, want DeadlineExceeded", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := get(t, tr, ctx, srv.URL+"/slow-body"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow body: %v, want DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if _, err := get(t, tr, ctx, srv.URL+"/slow-head"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want Canceled", err)
	}
	tr.mu.Lock()
	n := len(tr.idle[srv.URL]) // the pool key is scheme://host:port, which srv.URL is
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections went back to the pool after failed requests", n)
	}
}

func TestTransportEarlyCloseDropsTheConnection(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("y", 64<<10))
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close() // drains the rest, so the connection stays usable
	if got, err := get(t, tr, context.Background(), srv.URL); err != nil || len(got) != 64<<10 {
		t.Fatalf("after an early close: %d bytes, %v", len(got), err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("connections = %d, want 1: a drained body keeps its connection", n)
	}
}

func TestTransportTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %v", r.Proto, r.TLS != nil)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate case is logged as a handshake error
	srv.StartTLS()
	defer srv.Close()
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	tr := &Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	for range 3 {
		if got, err := get(t, tr, context.Background(), srv.URL); err != nil || got != "HTTP/1.1 true" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	bad := &Transport{TLSClientConfig: &tls.Config{}} // does not trust the test certificate
	if _, err := get(t, bad, context.Background(), srv.URL); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
}

func TestTransportIdleLimitsAndExpiry(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := &Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 50 * time.Millisecond}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for range 6 { // six at once need six connections; only two may stay idle
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(t, tr, context.Background(), srv.URL)
		}()
	}
	wg.Wait()
	key := "http://" + srv.Listener.Addr().String()
	tr.mu.Lock()
	idle := len(tr.idle[key])
	tr.mu.Unlock()
	if idle > 2 {
		t.Errorf("%d idle connections kept, want at most 2", idle)
	}
	before := conns.Load()
	time.Sleep(80 * time.Millisecond)
	get(t, tr, context.Background(), srv.URL)
	if conns.Load() != before+1 {
		t.Errorf("an expired idle connection was reused")
	}
}

// TestTransportClosesIdleConnectionsNobodyUses checks that connections left
// idle are closed after the idle timeout even with no further request, and
// that old ones are closed while newer ones keep being reused.
func TestTransportClosesIdleConnectionsNobodyUses(t *testing.T) {
	t.Parallel()
	var open atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(20 * time.Millisecond)
		}
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := &Transport{IdleConnTimeout: 100 * time.Millisecond}
	defer tr.CloseIdleConnections()

	var wg sync.WaitGroup
	for range 5 { // a burst: five connections
		wg.Add(1)
		go func() { defer wg.Done(); get(t, tr, context.Background(), srv.URL+"/slow") }()
	}
	wg.Wait()
	for range 15 { // steady use of one: the other four grow old
		get(t, tr, context.Background(), srv.URL)
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n > 2 {
		t.Errorf("%d connections open after the old ones expired under steady use, want 1 or 2", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections still open long after the idle timeout with no requests", n)
	}
}

func TestTransportUnderConcurrency(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, r.URL.Query().Get("n"))
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	var failures atomic.Int32
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				n := fmt.Sprint(g*1000 + i)
				method := "GET"
				if i%5 == 0 {
					method = "POST"
				}
				if got, err := send(t, tr, context.Background(), method, srv.URL+"/?n="+n, "body"); err != nil || got != n {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of 800 concurrent requests failed or got another's answer", f)
	}
	if n := conns.Load(); n > 16 {
		t.Errorf("16 concurrent callers opened %d connections", n)
	}
}
