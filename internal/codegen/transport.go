package codegen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Transport is an HTTP/1.1 http.RoundTripper that writes each request and
// reads its answer on the calling goroutine, over a pool of kept-alive
// connections per host. net/http's Transport runs two goroutines per
// connection and hands every request between them; for a proxy whose
// upstream answers in microseconds those hand-offs cost more than the call
// itself (docs/benchmarks.md has the numbers). Requests are written and
// answers parsed by net/http (Request.Write, ReadResponse).
//
// It speaks HTTP/1.1 over TCP, or over TLS for https URLs, and does not use
// HTTP proxies. The zero value is ready to use; fields must not change after
// the first request. A Transport is safe for concurrent use.
type Transport struct {
	// DialContext opens connections. If nil, a net.Dialer with a 5-second
	// timeout and 30-second keep-alives is used.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSClientConfig configures TLS for https URLs. If nil, the default
	// configuration is used.
	TLSClientConfig *tls.Config
	// MaxIdleConnsPerHost bounds the idle connections kept per host. If
	// zero, 512.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes connections idle for longer, since servers
	// close them too. If zero, 50 seconds.
	IdleConnTimeout time.Duration

	mu    sync.Mutex
	idle  map[string][]*persistConn // per scheme://host:port, least recently used first
	sweep *time.Timer               // pending pruneIdle, while connections are idle
}

// persistConn is one kept-alive connection.
type persistConn struct {
	net.Conn
	key    string
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

// aLongTimeAgo is a deadline in the past, to abort blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip sends req and returns the answer; its Body must be read and
// closed for the connection to be reused.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		req.Body.Close()
		return nil, errors.New("codegen: unsupported URL scheme " + req.URL.Scheme)
	}
	addr := canonicalAddr(req.URL.Scheme, req.URL.Host)
	key := req.URL.Scheme + "://" + addr
	for attempt := 0; ; attempt++ {
		if err := req.Context().Err(); err != nil { // nothing is sent for a caller that has gone
			return nil, err
		}
		pc, reused, err := t.getConn(req.Context(), key, addr, req)
		if err != nil {
			return nil, err
		}
		resp, err := t.roundTrip(pc, req)
		if err == nil {
			return resp, nil
		}
		pc.Close()
		// A kept-alive connection that the server closed meanwhile fails
		// before any answer: a GET may go again on a fresh connection.
		if reused && attempt == 0 && req.Method == http.MethodGet && req.Context().Err() == nil && errors.Is(err, errNoAnswer) {
			continue
		}
		return nil, err
	}
}

// errNoAnswer marks failures before any byte of an answer arrived.
var errNoAnswer = errors.New("connection closed before an answer")

func (t *Transport) roundTrip(pc *persistConn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	deadline, _ := ctx.Deadline()
	pc.SetDeadline(deadline) //nolint:errcheck // fails only on a closed conn, which the write reports
	stop := context.AfterFunc(ctx, func() { pc.SetDeadline(aLongTimeAgo) })
	if err := req.Write(pc.bw); err != nil {
		stop()
		return nil, ioError(ctx, errors.Join(errNoAnswer, err))
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, ioError(ctx, errors.Join(errNoAnswer, err))
	}
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		stop()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
			err = errors.Join(errNoAnswer, err)
		}
		return nil, ioError(ctx, err)
	}
	resp.Body = &body{ReadCloser: resp.Body, ctx: ctx, t: t, pc: pc, stop: stop, keep: !resp.Close && !req.Close}
	return resp, nil
}

// ioError explains an I/O failure. The only deadlines on a connection are
// the request context's (its deadline, or one in the past when it was
// cancelled), so a timeout means the context ended: wait the moment it takes
// to be marked done and report its error, as net/http does.
func ioError(ctx context.Context, err error) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	case <-t.C:
		return err
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// body returns its connection to the pool once fully read and closed.
type body struct {
	io.ReadCloser
	ctx    context.Context
	t      *Transport
	pc     *persistConn
	stop   func() bool
	keep   bool
	closed bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = ioError(b.ctx, err)
	}
	return n, err
}

func (b *body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	err := b.ReadCloser.Close() // drains what is left, so the connection is at a message boundary
	if b.stop() && b.keep && err == nil {
		b.t.putIdle(b.pc)
	} else {
		b.pc.Close()
	}
	return err
}

// getConn returns an idle connection to key, or a new one.
func (t *Transport) getConn(ctx context.Context, key, addr string, req *http.Request) (pc *persistConn, reused bool, err error) {
	for {
		pc = t.popIdle(key)
		if pc == nil {
			break
		}
		// Before a request that must not be sent twice, make sure the
		// server has not closed the connection: a readable idle connection
		// is one that was closed (or sent garbage).
		if req.Method != http.MethodGet && !pc.quiet() {
			pc.Close()
			continue
		}
		return pc, true, nil
	}
	pc, err = t.dial(ctx, key, addr, req.URL)
	return pc, false, err
}

// quiet reports whether nothing is waiting to be read on an idle
// connection: no buffered bytes, no EOF.
func (pc *persistConn) quiet() bool {
	return pc.br.Buffered() == 0 && !idleConnClosed(pc.Conn)
}

// dial opens a connection to addr for u, with TLS when u is https.
func (t *Transport) dial(ctx context.Context, key, addr string, u *url.URL) (*persistConn, error) {
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if t.TLSClientConfig != nil {
			cfg = t.TLSClientConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	return &persistConn{Conn: conn, key: key, br: bufio.NewReaderSize(conn, 16<<10), bw: bufio.NewWriterSize(conn, 4<<10)}, nil
}

func (t *Transport) popIdle(key string) *persistConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.idle[key]
	if len(list) == 0 {
		return nil
	}
	for len(list) > 0 {
		pc := list[len(list)-1]
		list = list[:len(list)-1]
		if time.Since(pc.idleAt) < t.idleTimeout() {
			t.idle[key] = list
			return pc
		}
		pc.Close() // expired; older ones below it are too
		for _, old := range list {
			old.Close()
		}
		list = list[:0]
	}
	t.idle[key] = list
	return nil
}

func (t *Transport) putIdle(pc *persistConn) {
	pc.SetDeadline(time.Time{}) //nolint:errcheck // set again before use
	pc.idleAt = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = map[string][]*persistConn{}
	}
	list := t.pruneLocked(pc.key, pc.idleAt)
	if len(list) >= t.maxIdle() {
		pc.Close()
		return
	}
	t.idle[pc.key] = append(list, pc)
	if t.sweep == nil {
		t.sweep = time.AfterFunc(t.idleTimeout(), t.pruneIdle)
	}
}

// pruneLocked closes key's connections idle for longer than the timeout,
// which the server has likely closed, and returns what is left. Under
// steady load only the most recent connections are reused, so the older
// ones would otherwise stay open for good. t.mu is held.
func (t *Transport) pruneLocked(key string, now time.Time) []*persistConn {
	list := t.idle[key]
	n := 0
	for n < len(list) && now.Sub(list[n].idleAt) >= t.idleTimeout() {
		list[n].Close()
		n++
	}
	if n > 0 {
		list = append(list[:0], list[n:]...)
		t.idle[key] = list
	}
	return list
}

// pruneIdle runs while connections are idle, every idle timeout, so that a
// pool nobody uses still closes its expired connections.
func (t *Transport) pruneIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, left := time.Now(), 0
	for key := range t.idle {
		left += len(t.pruneLocked(key, now))
	}
	t.sweep = nil
	if left > 0 {
		t.sweep = time.AfterFunc(t.idleTimeout(), t.pruneIdle)
	}
}

// CloseIdleConnections closes every idle connection.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sweep != nil {
		t.sweep.Stop()
		t.sweep = nil
	}
	for key, list := range t.idle {
		for _, pc := range list {
			pc.Close()
		}
		delete(t.idle, key)
	}
}

func (t *Transport) maxIdle() int {
	if t.MaxIdleConnsPerHost > 0 {
		return t.MaxIdleConnsPerHost
	}
	return 512
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleConnTimeout > 0 {
		return t.IdleConnTimeout
	}
	return 50 * time.Second
}

// canonicalAddr adds the scheme's default port to a host without one.
func canonicalAddr(scheme, host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(host, "443")
	}
	return net.JoinHostPort(host, "80")
}
