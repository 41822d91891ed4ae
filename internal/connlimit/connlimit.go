// Package connlimit bounds the connections an http.Server holds open at once
// without letting idle clients lock everyone else out.
//
// netutil.LimitListener alone stops accepting at the bound, so clients that
// open connections and send nothing, or keep them alive between requests,
// hold every slot until their timeouts fire, and even /health goes
// unanswered. Here a connection that arrives at the bound takes the slot of
// the connection that has waited longest without a request in progress
// (http.StateNew or http.StateIdle); only when every connection is busy
// does Accept wait for one to close.
package connlimit

import (
	"container/list"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener that keeps at most a fixed number of accepted
// connections open. Its ConnState method must be the http.Server's
// ConnState hook, or every connection counts as busy. It is safe for
// concurrent use.
//
// Closing an idle connection races, as an IdleTimeout does, with a client
// that is sending its next request on it at that moment; HTTP clients retry
// idempotent requests that fail that way.
type Listener struct {
	net.Listener
	max int

	mu      sync.Mutex
	open    int
	waiting list.List // *conn waiting for a request (new or idle), longest first

	changed   chan struct{} // a slot was freed or a connection became idle
	closed    chan struct{}
	closeOnce sync.Once
	evicted   atomic.Int64
}

// New returns a Listener accepting from ln and keeping at most n
// connections (at least 1) open.
func New(ln net.Listener, n int) *Listener {
	return &Listener{Listener: ln, max: max(n, 1), changed: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Accept waits for a connection and for a slot for it: a free one, or one
// taken from the longest-waiting idle connection, which is closed.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := l.admit(); err != nil {
		c.Close()
		return nil, err
	}
	return &conn{Conn: c, l: l}, nil
}

// admit takes a slot, evicting an idle connection if there is none, or
// waits until one frees or the listener closes.
func (l *Listener) admit() error {
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return nil
		}
		var victim *conn
		if front := l.waiting.Front(); front != nil {
			victim = front.Value.(*conn)
			l.waiting.Remove(front)
			victim.elem = nil
		}
		l.mu.Unlock()
		if victim != nil {
			l.evicted.Add(1)
			victim.Close() // frees its slot
			continue
		}
		select {
		case <-l.changed:
		case <-l.closed:
			return net.ErrClosed
		}
	}
}

// Close closes the listener and ends a wait in Accept. Open connections are
// left to their server.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// ConnState tracks which connections wait for a request; set it as the
// http.Server's ConnState.
func (l *Listener) ConnState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	l.mu.Lock()
	switch state {
	case http.StateNew, http.StateIdle:
		if c.elem == nil && !c.done {
			c.elem = l.waiting.PushBack(c)
		}
	default: // active, hijacked or closed: not a candidate
		if c.elem != nil {
			l.waiting.Remove(c.elem)
			c.elem = nil
		}
	}
	l.mu.Unlock()
	if state == http.StateNew || state == http.StateIdle {
		l.signal()
	}
}

// Open returns how many accepted connections are open.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Evicted returns how many idle connections were closed to make room.
func (l *Listener) Evicted() int64 { return l.evicted.Load() }

func (l *Listener) signal() {
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// release frees c's slot, once.
func (l *Listener) release(c *conn) {
	l.mu.Lock()
	if c.done {
		l.mu.Unlock()
		return
	}
	c.done = true
	l.open--
	if c.elem != nil {
		l.waiting.Remove(c.elem)
		c.elem = nil
	}
	l.mu.Unlock()
	l.signal()
}

// conn is an accepted connection holding a slot until it is closed. elem
// and done are guarded by the Listener's mutex.
type conn struct {
	net.Conn
	l    *Listener
	elem *list.Element // in l.waiting while it waits for a request
	done bool          // its slot has been released
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.l.release(c)
	return err
}
