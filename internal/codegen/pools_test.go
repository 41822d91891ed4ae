package codegen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// connUpstream is an upstream that records which tokens each connection
// carried and how many connections are open. A call with the token "slow"
// waits for release before it is answered.
type connUpstream struct {
	srv     *httptest.Server
	entered chan struct{} // a "slow" call arrived
	release chan struct{} // closed to answer the "slow" calls

	mu     sync.Mutex
	tokens map[string]map[string]bool // by remote address: the Authorization values seen
	open   int
	opened int
}

func startConnUpstream(t *testing.T) *connUpstream {
	t.Helper()
	u := &connUpstream{entered: make(chan struct{}, 16), release: make(chan struct{}), tokens: map[string]map[string]bool{}}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		u.mu.Lock()
		defer u.mu.Unlock()
		switch s {
		case http.StateNew:
			u.open++
			u.opened++
		case http.StateClosed, http.StateHijacked:
			u.open--
		}
	}
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

func (u *connUpstream) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	u.mu.Lock()
	if u.tokens[r.RemoteAddr] == nil {
		u.tokens[r.RemoteAddr] = map[string]bool{}
	}
	u.tokens[r.RemoteAddr][auth] = true
	u.mu.Unlock()
	if auth == "Bearer slow" {
		u.entered <- struct{}{}
		select {
		case <-u.release:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Query().Get("limit") == "1" { // no Content-Length: a chunked answer
		io.WriteString(w, `{"items":[`)
		w.(http.Flusher).Flush()
		io.WriteString(w, `]}`)
		return
	}
	io.WriteString(w, `{"auth":"`+auth+`"}`)
}

// counts returns the connections open now and opened so far.
func (u *connUpstream) counts() (open, opened int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.open, u.opened
}

// waitFor waits until cond holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after 10 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNoConnectionCarriesTwoTokens checks that calls of different tokens,
// sequential or concurrent, with pools kept or evicted, never share a
// connection.
func TestNoConnectionCarriesTwoTokens(t *testing.T) {
	t.Parallel()
	for _, maxPools := range []int{0, 2} {
		t.Run(fmt.Sprintf("MaxPools=%d", maxPools), func(t *testing.T) {
			t.Parallel()
			u := startConnUpstream(t)
			c := &Client{BaseURL: u.srv.URL, MaxPools: maxPools}
			t.Cleanup(c.CloseIdleConnections)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 30 {
						if _, err := c.CurrentUser(context.Background(), fmt.Sprintf("tok-%d", (g+i)%5)); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			u.mu.Lock()
			defer u.mu.Unlock()
			for addr, tokens := range u.tokens {
				if len(tokens) != 1 {
					t.Errorf("connection %s carried %d tokens' calls, want 1", addr, len(tokens))
				}
			}
			if n := c.pools.len(); maxPools > 0 && n > maxPools {
				t.Errorf("%d pools kept, want at most %d", n, maxPools)
			}
		})
	}
}

// TestCallsOfOneTokenReuseAConnection checks that answers are read to
// their end, so that their connection goes back to the token's pool, with
// a Content-Length and without one.
func TestCallsOfOneTokenReuseAConnection(t *testing.T) {
	t.Parallel()
	u := startConnUpstream(t)
	c := &Client{BaseURL: u.srv.URL}
	t.Cleanup(c.CloseIdleConnections)
	for i := range 20 {
		var err error
		if i%2 == 0 {
			_, err = c.CurrentUser(context.Background(), "tok")
		} else {
			_, err = c.Organizations(context.Background(), "tok", PageParams{Limit: 1})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, opened := u.counts(); opened != 1 {
		t.Errorf("20 sequential calls of one token opened %d connections, want 1", opened)
	}
}

// TestEvictedPoolsCloseTheirConnections checks that past MaxPools the least
// recently used token's pool is dropped and its connections closed: at
// once when it is idle, and when its last call ends when it is in use.
func TestEvictedPoolsCloseTheirConnections(t *testing.T) {
	t.Parallel()
	u := startConnUpstream(t)
	c := &Client{BaseURL: u.srv.URL, MaxPools: 2}
	t.Cleanup(c.CloseIdleConnections)
	get := func(token string) {
		t.Helper()
		if _, err := c.CurrentUser(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	get("a")
	get("b")
	get("c") // evicts a, idle
	waitFor(t, "a's idle connection to close", func() bool { open, _ := u.counts(); return open == 2 })

	slow := make(chan error, 1)
	go func() { _, err := c.CurrentUser(context.Background(), "slow"); slow <- err }() // evicts b, idle
	<-u.entered
	get("c")
	get("d") // evicts slow, in use
	close(u.release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	// Left: c's and d's connections; b's and slow's are closed.
	waitFor(t, "the evicted pools' connections to close", func() bool { open, _ := u.counts(); return open == 2 })
	if n := c.pools.len(); n != 2 {
		t.Errorf("%d pools kept, want 2", n)
	}
}
