package codegen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The organization id of a request tells the hostile upstream how to
// misbehave.
const (
	orgPlain      = 1 // a well-formed answer
	orgEarlyHints = 2 // a 103 Early Hints answer, then the real one
	orgSurplus    = 3 // the answer, then a whole second answer past its Content-Length
	orgHuge       = 4 // a Content-Length of 200 MiB, then as much of it as the peer takes
	orgEndless    = 5 // a chunked body that goes on for 200 MiB
)

// hugeSize is the body an oversized answer declares or streams.
const hugeSize = 200 << 20

// hostileUpstream is a raw TCP server that answers with hand-written bytes,
// misbehaving as each request's organization id asks. Every answer echoes
// the request's run id and Authorization header, so a caller can tell its
// own answer from another's.
type hostileUpstream struct {
	ln      net.Listener
	huge    chan int64 // bytes of each oversized body written before the peer closed
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	written atomic.Int64 // bytes written on all connections, answers of every kind
}

func startHostile(t *testing.T) *hostileUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &hostileUpstream{ln: ln, huge: make(chan int64, 16), conns: map[net.Conn]struct{}{}}
	u.wg.Add(1)
	go u.accept()
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for c := range u.conns {
			c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *hostileUpstream) baseURL() string { return "http://" + u.ln.Addr().String() + "/v1" }

func (u *hostileUpstream) accept() {
	defer u.wg.Done()
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		u.conns[c] = struct{}{}
		u.mu.Unlock()
		u.wg.Add(1)
		go u.serve(c)
	}
}

// serve answers the requests on c until the peer closes it.
func (u *hostileUpstream) serve(c net.Conn) {
	defer u.wg.Done()
	defer func() {
		c.Close()
		u.mu.Lock()
		delete(u.conns, c)
		u.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		var org, id int64
		if _, err := fmt.Sscanf(req.URL.Path, "/v1/organizations/%d/agent/run/%d", &org, &id); err != nil {
			return
		}
		if !u.answer(c, org, id, req.Header.Get("Authorization")) {
			return
		}
	}
}

// answer writes the answer org asks for and reports whether the connection
// may carry another request.
func (u *hostileUpstream) answer(c net.Conn, org, id int64, auth string) bool {
	body := fmt.Sprintf(`{"id":%d,"auth":%q}`, id, auth)
	switch org {
	case orgEarlyHints:
		return u.write(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"+response(body))
	case orgSurplus:
		stale := fmt.Sprintf(`{"id":%d,"auth":%q,"surplus":true}`, id, auth)
		return u.write(c, response(body)+response(stale))
	case orgHuge:
		u.huge <- u.stream(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(hugeSize)+"\r\n\r\n", false)
		return false
	case orgEndless:
		u.huge <- u.stream(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", true)
		return false
	}
	return u.write(c, response(body))
}

// response frames body as a 200 answer with a Content-Length.
func response(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func (u *hostileUpstream) write(c net.Conn, s string) bool {
	n, err := io.WriteString(c, s)
	u.written.Add(int64(n))
	return err == nil
}

// stream writes head and then up to hugeSize bytes of a JSON string, in
// chunked framing if chunked, until the peer stops taking them, and returns
// how many body bytes it wrote.
func (u *hostileUpstream) stream(c net.Conn, head string, chunked bool) int64 {
	if !u.write(c, head) {
		return 0
	}
	block := []byte(`"` + strings.Repeat("a", 64<<10-2) + `"`)
	var sent int64
	for sent < hugeSize {
		frame := block
		if chunked {
			frame = []byte(fmt.Sprintf("%x\r\n%s\r\n", len(block), block))
		}
		n, err := c.Write(frame)
		sent += int64(n)
		if err != nil {
			return sent
		}
	}
	if chunked {
		io.WriteString(c, "0\r\n\r\n")
	}
	return sent
}

// want is the answer the hostile upstream gives to run id called with token.
func want(id int64, token string) string {
	return fmt.Sprintf(`{"id":%d,"auth":"Bearer %s"}`, id, token)
}

// hostileClient returns a Client of u with a Transport of its own.
func hostileClient(t *testing.T, u *hostileUpstream) *Client {
	tr := NewTransport()
	t.Cleanup(tr.CloseIdleConnections)
	return &Client{BaseURL: u.baseURL(), Transport: tr, MaxResponseBytes: 1 << 20, Timeout: 10 * time.Second}
}

var hostileModes = []int64{orgPlain, orgEarlyHints, orgSurplus, orgPlain, orgSurplus, orgEarlyHints}

// TestHostileUpstreamNeverCrossesAnswers sends calls with different tokens
// to an upstream that sends 103 Early Hints before its answers and whole
// extra answers past their Content-Length, one after another and then many
// at once, and checks that every caller gets its own answer and never
// another request's.
func TestHostileUpstreamNeverCrossesAnswers(t *testing.T) {
	t.Parallel()
	u := startHostile(t)
	c := hostileClient(t, u)
	modes := hostileModes
	var next atomic.Int64
	call := func(g int) error {
		id := next.Add(1)
		token := fmt.Sprintf("tok-%d-%d", g, id)
		got, err := c.GetRun(context.Background(), token, modes[id%int64(len(modes))], id)
		if err != nil {
			return fmt.Errorf("run %d (mode %d): %w", id, modes[id%int64(len(modes))], err)
		}
		if string(got) != want(id, token) {
			return fmt.Errorf("run %d with %s got %s: another request's answer", id, token, got)
		}
		return nil
	}
	failed := 0
	for range 60 {
		if err := call(0); err != nil {
			t.Errorf("sequential: %v", err)
			if failed++; failed == 5 {
				t.FailNow()
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16*40)
	for g := 1; g <= 16; g++ {
		wg.Go(func() {
			for range 40 {
				if err := call(g); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent: %v", err)
	}
}

// TestOversizedAnswersCloseTheirConnection checks that an answer over
// MaxResponseBytes fails the call and that its connection is closed, not
// drained: the upstream gets to write only a small part of the 200 MiB.
func TestOversizedAnswersCloseTheirConnection(t *testing.T) {
	t.Parallel()
	u := startHostile(t)
	c := hostileClient(t, u)
	for _, org := range []int64{orgHuge, orgEndless} {
		_, err := c.GetRun(context.Background(), "tok-big", org, 7)
		if !errors.Is(err, ErrBadResponse) {
			t.Errorf("org %d: err = %v, want ErrBadResponse", org, err)
		}
		select {
		case n := <-u.huge:
			if n > 32<<20 {
				t.Errorf("org %d: the upstream wrote %d MiB of a %d MiB answer over a 1 MiB limit: the body was drained, not closed",
					org, n>>20, hugeSize>>20)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("org %d: the upstream was still writing 20 s after the call failed: its connection was kept open", org)
		}
		// The connection is gone; the next call works on a fresh one.
		if got, err := c.GetRun(context.Background(), "tok-after", orgPlain, 8); err != nil || string(got) != want(8, "tok-after") {
			t.Errorf("org %d: the next call got %s, %v", org, got, err)
		}
	}
}

// TestUnsupportedSchemeIsAnError checks that a base URL that is not http or
// https fails the call instead of panicking.
func TestUnsupportedSchemeIsAnError(t *testing.T) {
	t.Parallel()
	c := &Client{BaseURL: "ftp://127.0.0.1:9/v1", Retries: -1}
	for _, call := range []func() error{
		func() error { _, err := c.GetRun(context.Background(), "tok", 1, 2); return err },
		func() error {
			_, err := c.CreateRun(context.Background(), "tok", 1, CreateAgentRunInput{Prompt: "x"})
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrUnreachable) {
			t.Errorf("err = %v, want ErrUnreachable", err)
		}
	}
}
