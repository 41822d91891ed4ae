package codegen

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// NewTransport returns a net/http Transport tuned for a proxy that sends
// many requests to one API; NewTokenTransport, which a Client uses for each
// token's calls, is this with fewer idle connections:
//   - HTTP/2 to https upstreams that offer it (ForceAttemptHTTP2, since the
//     dialer is custom), HTTP/1.1 otherwise;
//   - the HTTP proxy the process environment names (HTTPS_PROXY,
//     HTTP_PROXY, NO_PROXY; never for loopback addresses); replace Proxy to
//     read another environment;
//   - 5-second connect and 10-second TLS handshake timeouts, and a
//     2-minute wait for an answer's headers: a backstop, since a Client's
//     Timeout (30 seconds by default) bounds each call first; raise it for
//     a longer one;
//   - 512 idle connections kept per host (net/http keeps 2 by default, far
//     too few for a proxy), closed after 50 seconds idle, before servers
//     typically close them.
//
// Its connections count what they receive, so that a Client can refuse an
// HTTP/1.1 answer whose bytes arrived before its request was sent (see
// staleCheck); keep DialContext wrapping them if you replace it.
//
// Each call returns a new Transport with its own connection pool.
func NewTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: c}, nil
		},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    512,
		IdleConnTimeout:        50 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  2 * time.Minute,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// countingConn counts the reads that returned data. It is safe for
// concurrent use, as net.Conn is.
type countingConn struct {
	net.Conn
	reads atomic.Uint64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.reads.Add(1)
	}
	return n, err
}

// staleCheck notices an HTTP/1.1 answer whose first byte was received
// before its request was sent, and refuses it. net/http's Transport puts a
// connection back in its pool as soon as an answer's body has been read, and
// only then looks for bytes past it; a request that takes the connection in
// between gets those bytes as its answer, so an upstream that sends a whole
// second answer past a Content-Length answers the next call with an earlier
// call's data. A connection is handed to a request (GotConn) before the
// request is written, so a real answer needs at least one read after it;
// when there was none, the answer was already buffered: staleCheck marks it
// stale and closes the connection, so no one else reads what follows.
//
// It catches only surplus bytes that arrived before the next request took
// the connection. A surplus answer that arrives later, in a TCP segment of
// its own, looks to the next request like its answer: HTTP/1.1 cannot tell
// which answer belongs to which request. What keeps such an answer from
// reaching another token's caller is that each token has connections of its
// own (see Client.Transport); it can still answer a later call of the same
// token with an earlier one's data.
//
// The zero value is ready; one staleCheck serves one call, and its hooks
// may run on the Transport's goroutines.
type staleCheck struct {
	conn  atomic.Pointer[countingConn] // the HTTP/1.1 connection of the current attempt
	reads atomic.Uint64                // conn's reads when it was handed over
	stale atomic.Bool
	trace httptrace.ClientTrace // in the same allocation
}

// withTrace returns ctx with s's hooks installed.
func (s *staleCheck) withTrace(ctx context.Context) context.Context {
	s.trace.GotConn, s.trace.GotFirstResponseByte = s.gotConn, s.gotFirstByte
	return httptrace.WithClientTrace(ctx, &s.trace)
}

func (s *staleCheck) gotConn(info httptrace.GotConnInfo) {
	c := info.Conn
	if tc, ok := c.(*tls.Conn); ok {
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			c = nil // HTTP/2 tells answers apart by stream
		} else {
			c = tc.NetConn()
		}
	}
	cc, _ := c.(*countingConn)
	if cc != nil {
		s.reads.Store(cc.reads.Load())
	}
	s.conn.Store(cc)
	s.stale.Store(false)
}

func (s *staleCheck) gotFirstByte() {
	if cc := s.conn.Load(); cc != nil && cc.reads.Load() == s.reads.Load() {
		s.stale.Store(true)
		cc.Close()
	}
}
