package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// TestAnswersOverTheBudgetAreServerBusy holds two upstream answers half
// read, which fill the client's MaxInFlightBytes, and checks that a third
// request is answered 503 server_busy with Retry-After.
func TestAnswersOverTheBudgetAreServerBusy(t *testing.T) {
	t.Parallel()
	run := `{"id":1,"status":"running","pad":"` + strings.Repeat("a", 900) + `"}`
	release := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(run)))
		if strings.HasSuffix(r.URL.Path, "/run/2") {
			io.WriteString(w, run)
			return
		}
		io.WriteString(w, run[:10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, run[10:])
		case <-r.Context().Done():
		}
	})
	// Each answer reserves its 936 bytes: two fit, three do not.
	proxy := newProxy(t, u, proxyOpts{client: func(c *codegen.Client) { c.MaxResponseBytes, c.MaxInFlightBytes = 1024, 2000 }})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // first, should the test fail with answers held
	held := make(chan int, 2)
	for range 2 {
		go func() {
			for { // until the answer is held: a probe may have had the room
				req, _ := http.NewRequest("GET", proxy+"/agent-runs/1", nil)
				req.Header.Set("Authorization", "Bearer "+secretToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					held <- 0
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					held <- resp.StatusCode
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := call(t, "GET", proxy+"/agent-runs/2", "")
		if resp.StatusCode == http.StatusServiceUnavailable {
			if e := decodeEnvelope(t, body); e.Code != "server_busy" || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("envelope %+v, Retry-After %q: want server_busy and 1", e, resp.Header.Get("Retry-After"))
			}
			break
		}
		if resp.StatusCode != http.StatusOK || body != run {
			t.Fatalf("probe: status %d: %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("no request was refused with two answers filling the budget")
		}
		time.Sleep(5 * time.Millisecond)
	}
	free()
	for range 2 {
		if status := <-held; status != http.StatusOK {
			t.Errorf("held request: status %d, want 200", status)
		}
	}
}

// TestAnswersKeepTheirBudgetUntilWritten has a client that reads the
// headers of a large answer and then stops: the answer's share of
// MaxInFlightBytes is kept while the proxy waits to write the rest (the
// call returned long before), so a second large answer is refused 503
// server_busy, and it is given back once the client has read it all.
func TestAnswersKeepTheirBudgetUntilWritten(t *testing.T) {
	t.Parallel()
	const size = 24 << 20 // more than loopback's socket buffers hold
	run := `{"id":1,"pad":"` + strings.Repeat("a", size-len(`{"id":1,"pad":""}`)) + `"}`
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(run)))
		io.WriteString(w, run)
	})
	// Each answer reserves its 24 MiB: one fits, two do not.
	proxy := newProxy(t, u, proxyOpts{client: func(c *codegen.Client) { c.MaxResponseBytes, c.MaxInFlightBytes = 32<<20, 40<<20 }})

	conn, err := net.Dial("tcp", strings.TrimPrefix(proxy, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "GET /agent-runs/1 HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer "+secretToken+"\r\n\r\n")
	br := bufio.NewReader(conn)
	slow, err := http.ReadResponse(br, nil) // the headers: the upstream call has returned
	if err != nil || slow.StatusCode != http.StatusOK {
		t.Fatalf("slow client: %v %v", slow, err)
	}

	resp, body := call(t, "GET", proxy+"/agent-runs/2", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a second answer while the first is being written: got %d (%d bytes), want 503 server_busy", resp.StatusCode, len(body))
	}
	if e := decodeEnvelope(t, body); e.Code != "server_busy" {
		t.Errorf("envelope %+v, want server_busy", e)
	}
	if n, err := io.Copy(io.Discard, slow.Body); err != nil || n != size {
		t.Fatalf("slow client read %d bytes, %v; want %d", n, err, size)
	}
	deadline := time.Now().Add(10 * time.Second)
	for { // the handler gives the budget back as it returns, just after the last write
		resp, body := call(t, "GET", proxy+"/agent-runs/2", "")
		if resp.StatusCode == http.StatusOK && len(body) == size {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("once the first answer is written: got %d, want 200", resp.StatusCode)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCachedAnswersKeepTheirBudgetUntilWritten is
// TestAnswersKeepTheirBudgetUntilWritten through the read cache, whose
// shared call returns before any caller writes: each caller holds its
// answer's bytes until written, whether it made the call (miss) or took a
// kept answer (hit).
func TestCachedAnswersKeepTheirBudgetUntilWritten(t *testing.T) {
	t.Parallel()
	const size = 24 << 20 // more than loopback's socket buffers hold
	run := `{"id":1,"pad":"` + strings.Repeat("a", size-len(`{"id":1,"pad":""}`)) + `"}`
	for _, tc := range []struct {
		name   string
		store  *cache.Memory
		second string
	}{
		{"miss", nil, "/agent-runs/2"}, // 24 MiB is over the default entry bound: never kept
		{"hit", &cache.Memory{MaxEntryBytes: 32 << 20}, "/agent-runs/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(run)))
				io.WriteString(w, run)
			}, tc.store)
			// Each answer holds its 24 MiB: one fits, two do not. Set
			// before the first call, which reads them.
			e.client.MaxResponseBytes, e.client.MaxInFlightBytes = 32<<20, 40<<20
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			io.WriteString(conn, "GET /agent-runs/1 HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer "+secretToken+"\r\n\r\n")
			slow, err := http.ReadResponse(bufio.NewReader(conn), nil) // the headers: the shared call has returned
			if err != nil || slow.StatusCode != http.StatusOK {
				t.Fatalf("slow client: %v %v", slow, err)
			}
			resp, body := call(t, http.MethodGet, e.url+tc.second, "")
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("%s while the first answer is unwritten: got %d (Cache-Status %q), want 503 server_busy",
					tc.second, resp.StatusCode, resp.Header.Get("Cache-Status"))
			}
			if env := decodeEnvelope(t, body); env.Code != "server_busy" {
				t.Errorf("envelope %+v, want server_busy", env)
			}
			if n, err := io.Copy(io.Discard, slow.Body); err != nil || n != size {
				t.Fatalf("slow client read %d bytes, %v; want %d", n, err, size)
			}
			deadline := time.Now().Add(10 * time.Second)
			for { // the handler gives the bytes back as it returns, just after the last write
				resp, body := call(t, http.MethodGet, e.url+tc.second, "")
				if resp.StatusCode == http.StatusOK && len(body) == size {
					break
				}
				if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
					t.Fatalf("once the first answer is written: got %d, want 200", resp.StatusCode)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
