package codegen

import (
	"bufio"
	"context"
	"encoding/json"
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
	orgLate       = 6 // the answer, then lateDelay later a whole second answer, in a TCP segment of its own
)

// lateDelay is how long after its answer an orgLate request's surplus
// answer is sent: time enough for the caller to have its answer and for the
// next request on the connection to have been sent.
const lateDelay = 20 * time.Millisecond

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
		return u.write(c, response(body)+response(surplus(id, auth)))
	case orgLate:
		if !u.write(c, response(body)) {
			return false
		}
		time.Sleep(lateDelay) // the server's own pace, not a test's wait
		return u.write(c, response(surplus(id, auth)))
	case orgHuge:
		u.huge <- u.stream(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(hugeSize)+"\r\n\r\n", false)
		return false
	case orgEndless:
		u.huge <- u.stream(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", true)
		return false
	}
	return u.write(c, response(body))
}

// surplus is the extra answer that orgSurplus and orgLate send.
func surplus(id int64, auth string) string {
	return fmt.Sprintf(`{"id":%d,"auth":%q,"surplus":true}`, id, auth)
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

// hostileClient returns a Client of u with per-token pools of its own.
func hostileClient(t *testing.T, u *hostileUpstream) *Client {
	c := &Client{BaseURL: u.baseURL(), MaxResponseBytes: 1 << 20, Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// crossing calls c on behalf of a few tokens and checks every answer.
type crossing struct {
	c     *Client
	next  atomic.Int64 // the last run id asked for
	stale atomic.Int64 // answers of an earlier call of the same token
}

// call asks for a new run of token in mode org and checks the answer: it
// must carry token, whatever the mode; and unless tolerateStale, it must be
// the answer to this very call.
func (x *crossing) call(token string, org int64, tolerateStale bool) error {
	id := x.next.Add(1)
	got, err := x.c.GetRun(context.Background(), token, org, id)
	if err != nil {
		return fmt.Errorf("run %d (mode %d) of %s: %w", id, org, token, err)
	}
	var a struct {
		ID      int64  `json:"id"`
		Auth    string `json:"auth"`
		Surplus bool   `json:"surplus"`
	}
	if err := json.Unmarshal(got, &a); err != nil {
		return fmt.Errorf("run %d of %s: %s: %w", id, token, got, err)
	}
	switch {
	case a.Auth != "Bearer "+token:
		return fmt.Errorf("run %d (mode %d) of %s got %s: ANOTHER TOKEN'S ANSWER", id, org, token, got)
	case a.ID != id || a.Surplus:
		if !tolerateStale {
			return fmt.Errorf("run %d (mode %d) of %s got %s: an earlier call's answer", id, org, token, got)
		}
		x.stale.Add(1)
	}
	return nil
}

// TestHostileUpstreamNeverCrossesAnswers calls an upstream that sends
// 103 Early Hints before its answers, whole extra answers past their
// Content-Length in the same write, and (for the "late" tokens) an extra
// answer 20 ms after the real one, by which time the next request on the
// connection has been sent. No caller may ever get an answer carrying
// another token.
//
// The "exact" tokens never meet a late surplus: each of their callers must
// get the answer to its own call, as staleCheck refuses surplus bytes that
// were buffered before a request. A late surplus cannot be told from an
// answer (HTTP/1.1 does not say which request an answer belongs to), so a
// late token's call may get the answer of the same token's previous call;
// that is tolerated and counted. Another token's calls never see it, as
// each token has connections of its own.
//
// The calls alternate between an exact token and a late one, so that with
// one pool shared by all tokens every late surplus would be read by the
// next, exact-token call: the check fails at the first pair.
func TestHostileUpstreamNeverCrossesAnswers(t *testing.T) {
	t.Parallel()
	u := startHostile(t)
	x := &crossing{c: hostileClient(t, u)}
	exactModes := []int64{orgPlain, orgEarlyHints, orgSurplus, orgSurplus, orgEarlyHints}
	failed := 0
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		if failed++; failed == 5 {
			t.FailNow()
		}
	}
	for i := range 40 {
		if err := x.call(fmt.Sprintf("exact-%d", i%3), exactModes[i%len(exactModes)], false); err != nil {
			fail("sequential: %v", err)
		}
		if err := x.call(fmt.Sprintf("late-%d", i%3), orgLate, true); err != nil {
			fail("sequential: %v", err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16*60)
	for g := range 16 {
		wg.Go(func() {
			for i := range 60 {
				var err error
				if g%4 != 0 { // many calls of one token, to hand connections over between them
					err = x.call("exact-0", exactModes[(g+i)%len(exactModes)], false)
				} else {
					err = x.call(fmt.Sprintf("late-%d", g%3), []int64{orgLate, orgPlain}[i%2], true)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fail("concurrent: %v", err)
	}
	t.Logf("%d late-token calls got the same token's earlier answer", x.stale.Load())
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
			_, err := c.CreateRun(context.Background(), "tok", 1, CreateAgentRunInput{Prompt: json.RawMessage(`"x"`)})
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrUnreachable) {
			t.Errorf("err = %v, want ErrUnreachable", err)
		}
	}
}
