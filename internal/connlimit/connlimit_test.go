package connlimit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs h behind a Listener of bound n on a loopback port.
func serve(t *testing.T, n int, h http.Handler) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, n)
	srv := &http.Server{Handler: h, ConnState: l.ConnState, ReadHeaderTimeout: time.Minute}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l, ln.Addr().String()
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// idleConn opens a connection, makes one keep-alive request on it and
// leaves it idle.
func idleConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c
}

// silentConn opens a connection and sends nothing on it.
func silentConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get makes a request on a new connection.
func get(addr string) (string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// closures reports on the channel each connection of conns the server
// closes. The server sends nothing unasked, so a read ends only then (or
// when the test closes the connection at cleanup).
func closures(conns []net.Conn) <-chan net.Conn {
	ch := make(chan net.Conn, len(conns))
	for _, c := range conns {
		go func() {
			if _, err := c.Read(make([]byte, 1)); err == io.EOF {
				ch <- c
			}
		}()
	}
	return ch
}

// waitClosure waits up to 10 s for the server to close one of conns.
func waitClosure(ch <-chan net.Conn) bool {
	select {
	case <-ch:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

func TestIdleConnectionsMakeRoomForNewOnes(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(*testing.T, string) net.Conn
	}{
		{"keep-alive after a request", idleConn},
		{"nothing sent", silentConn},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const bound = 5
			l, addr := serve(t, bound, ok)
			var conns []net.Conn
			for range bound {
				conns = append(conns, tt.open(t, addr))
			}
			closed := closures(conns)
			if body, err := get(addr); err != nil || body != "ok" {
				t.Fatalf("with %d idle connections at the bound: %q, %v; want ok", bound, body, err)
			}
			if !waitClosure(closed) {
				t.Errorf("no idle connection was closed to make room")
			}
			if l.Evicted() < 1 {
				t.Errorf("Evicted() = %d, want at least 1", l.Evicted())
			}
			if n := l.Open(); n > bound {
				t.Errorf("Open() = %d, over the bound %d", n, bound)
			}
		})
	}
}

func TestBusyConnectionsAreNeverClosedToMakeRoom(t *testing.T) {
	const bound = 3
	release := make(chan struct{})
	arrived := make(chan struct{}, bound+1)
	l, addr := serve(t, bound, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "ok")
	}))
	var wg sync.WaitGroup
	errs := make(chan error, bound+1)
	for range bound {
		wg.Go(func() {
			if body, err := get(addr); err != nil || body != "ok" {
				errs <- fmt.Errorf("busy request: %q, %v", body, err)
			}
		})
	}
	for range bound {
		<-arrived
	}
	wg.Go(func() { // waits for a slot
		if body, err := get(addr); err != nil || body != "ok" {
			errs <- fmt.Errorf("request past the bound: %q, %v", body, err)
		}
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if l.Evicted() != 0 {
		t.Errorf("Evicted() = %d with only busy connections, want 0", l.Evicted())
	}
}

func TestCloseEndsAWaitingAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, 1)
	first := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); first <- c }()
	c1 := silentConn(t, ln.Addr().String())
	held := <-first // not served: never idle, so never evicted
	defer held.Close()
	errc := make(chan error, 1)
	go func() { _, err := l.Accept(); errc <- err }()
	c2 := silentConn(t, ln.Addr().String())
	_, _ = c1, c2
	l.Close()
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Accept after Close: %v, want a closed error", err)
	}
}
