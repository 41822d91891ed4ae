package cluster

import (
	"net"
	"strings"
	"sync"
	"testing"
)

// gate is a TCP proxy to a Redis that can be shut, as a network partition
// between one replica and Redis while the others still reach it: bytes
// stop flowing both ways, connections stay open, nothing answers.
type gate struct {
	ln    net.Listener
	mu    sync.Mutex
	open  chan struct{} // closed while the gate is open
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newGate proxies to the redis://host:port/db at target; its URL replaces
// the server's in a client's options. It is stopped when the test ends.
func newGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, open: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	close(g.open)
	addr := strings.TrimPrefix(target, "redis://")
	addr, _, _ = strings.Cut(addr, "/")
	g.wg.Add(1)
	go g.accept(addr)
	t.Cleanup(g.stop)
	return g
}

// URL is the gate's address as a REDIS_URL.
func (g *gate) URL() string { return "redis://" + g.ln.Addr().String() + "/0" }

// Shut stops every byte until Open.
func (g *gate) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

// Open lets bytes flow again.
func (g *gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

func (g *gate) opened() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

func (g *gate) accept(target string) {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		g.mu.Lock()
		g.conns[c], g.conns[u] = struct{}{}, struct{}{}
		g.mu.Unlock()
		g.wg.Add(2)
		go g.pipe(u, c)
		go g.pipe(c, u)
	}
}

// pipe copies src to dst, holding each read back while the gate is shut.
func (g *gate) pipe(dst, src net.Conn) {
	defer g.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		<-g.opened()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (g *gate) stop() {
	g.Open()
	g.ln.Close()
	g.mu.Lock()
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
}
