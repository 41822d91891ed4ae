package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// rawExchange sends request on a new connection to the proxy at addr and
// reads the answer; closed reports whether the server then closed the
// connection. The connection gives up after 10 s, long before any timeout
// of the server's but BODY_READ_TIMEOUT set by the test.
func rawExchange(t *testing.T, addr, request string) (resp *http.Response, body string, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, err = br.ReadByte()
	return resp, string(b), err == io.EOF
}

// TestRequestsWithABodyThatNeverComesAreAnsweredAtOnce declares bodies it
// never sends: on a route that takes none (400), on a route the method is
// not allowed on (405), and on a body route without a token (401). Each is
// answered at once, its connection closed, rather than after the server
// has waited for the body.
func TestRequestsWithABodyThatNeverComesAreAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.BodyReadTimeout = time.Minute }})
	addr := strings.TrimPrefix(proxy, "http://")
	for _, tt := range []struct {
		name, request string
		want          int
		message       string
	}{
		{"GET /health", "GET /health HTTP/1.1\r\nHost: p\r\nContent-Length: 100\r\n\r\n", 400, "this route takes no request body"},
		{"GET a run", "GET /agent-runs/1 HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer " + secretToken + "\r\nContent-Length: 100\r\n\r\n{", 400, "this route takes no request body"},
		{"HEAD /health", "HEAD /health HTTP/1.1\r\nHost: p\r\nContent-Length: 1\r\n\r\n", 400, ""},
		{"POST /health", "POST /health HTTP/1.1\r\nHost: p\r\nContent-Length: 100\r\n\r\n", 405, "POST is not allowed"},
		{"POST a run without a token", "POST /agent-runs HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", 401, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body, closed := rawExchange(t, addr, tt.request)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, body, tt.want)
			}
			if tt.message != "" && !strings.Contains(decodeEnvelope(t, body).Error, tt.message) {
				t.Errorf("got %s, want a message with %q", body, tt.message)
			}
			if !resp.Close || !closed {
				t.Errorf("Connection: close %v, connection closed %v: want both", resp.Close, closed)
			}
		})
	}
	if n := len(u.requests()); n != 0 {
		t.Errorf("upstream saw %d requests, want none", n)
	}
}

// TestBodiesMustKeepArriving sends bodies with BODY_READ_TIMEOUT at 1 s:
// one that stops arriving is answered 408 request_timeout and its
// connection closed; one whose bytes keep coming, each well within the
// timeout, is read whole however long it takes in all.
func TestBodiesMustKeepArriving(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.BodyReadTimeout = 3 * time.Second }})
	addr := strings.TrimPrefix(proxy, "http://")
	head := "POST /agent-runs HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer " + secretToken + "\r\nContent-Type: application/json\r\n"

	resp, body, closed := rawExchange(t, addr, head+"Content-Length: 100\r\n\r\n"+`{"prompt":"x`)
	if e := decodeEnvelope(t, body); resp.StatusCode != http.StatusRequestTimeout || e.Code != "request_timeout" {
		t.Fatalf("a stalled body: got %d %s, want 408 request_timeout", resp.StatusCode, body)
	}
	if !resp.Close || !closed {
		t.Errorf("a stalled body: Connection: close %v, connection closed %v: want both", resp.Close, closed)
	}

	// 8 pieces, one every 500 ms: 4 s in all, over the 3 s timeout, with
	// 2.5 s to spare between pieces for a loaded machine (a 1 s timeout
	// against a 100 ms pace once failed under CI's load).
	const slowBody = `{"prompt":"xxxxxxxxxxxxxxxxxxx"}` // 32 bytes
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(slowBody); i += 4 {
			time.Sleep(500 * time.Millisecond) // paces the sender; nothing is asserted after it
			pw.Write([]byte(slowBody[i : i+4]))
		}
		pw.Close()
	}()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", proxy+"/agent-runs", pr)
	req.ContentLength = int64(len(slowBody))
	req.Header.Set("Authorization", "Bearer "+secretToken)
	req.Header.Set("Content-Type", "application/json")
	slow, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(slow.Body)
	slow.Body.Close()
	if slow.StatusCode != http.StatusOK {
		t.Errorf("a body that keeps arriving: got %d %s, want 200", slow.StatusCode, b)
	}
}
