package server

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// MaxBodyTime bounds the reading of one request: its headers and body
// together (http.Server.ReadTimeout, which guardBodies keeps for a body it
// times).
const MaxBodyTime = 2 * time.Minute

// guardBodies makes request bodies keep arriving, so that no connection
// waits on a body that never comes. A request with a body on a route that
// takes none (GET, HEAD, OPTIONS, DELETE, TRACE: the routes that take a
// body are POSTs, PATCHes and the pass-through's PUT) is answered 400 at
// once, its body unread and its connection closed. Any other body must bring new bytes every idle (else reading it
// fails with a timeout, which readBody answers 408) and end within
// MaxBodyTime of the request's start; a shutdown that cancels the request
// interrupts the read. An error answer to a request whose body has not
// been read to its end closes the connection without reading the rest (see
// dropBody): net/http would otherwise wait for it before answering. An
// idle of zero bounds a body by MaxBodyTime alone.
func guardBodies(idle time.Duration) func(http.Handler) http.Handler {
	if idle <= 0 {
		idle = MaxBodyTime
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength == 0 {
				next.ServeHTTP(w, r)
				return
			}
			b := &timedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: idle, end: time.Now().Add(MaxBodyTime)}
			r = r.WithContext(r.Context()) // a copy: handlers must not change the request they are given
			r.Body = b
			switch r.Method {
			case http.MethodPost, http.MethodPatch, http.MethodPut:
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete, http.MethodTrace:
				writeError(w, r, badRequest("this route takes no request body"))
				return
			default: // no route takes it: the router's 405 or 404, which drops the body too
				next.ServeHTTP(w, r)
				return
			}
			b.rc.SetReadDeadline(b.next())
			stop := context.AfterFunc(r.Context(), b.interrupt) // a shutdown, say
			defer stop()
			next.ServeHTTP(w, r)
		})
	}
}

// dropBody, for an error answer, closes r's connection after the answer
// when r's body has not been read to its end, and stops any wait for the
// rest of it.
func dropBody(w http.ResponseWriter, r *http.Request) {
	if b, ok := r.Body.(*timedBody); ok && b.unread() {
		w.Header().Set("Connection", "close") // net/http then leaves the rest unread
		b.interrupt()                         // and does not wait for it when it closes the body
	}
}

// timedBody is a request body whose connection's read deadline moves on
// with each Read that brings bytes, to idle from then but never past end.
// Once read to its end, the deadline is end, as http.Server.ReadTimeout
// would have it. It is safe for the concurrent use of Read and interrupt.
type timedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	end  time.Time

	mu      sync.Mutex
	eof     bool // read to its end
	stopped bool // interrupted: the deadline stays past
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.stopped:
	case err == io.EOF:
		b.eof = true
		b.rc.SetReadDeadline(b.end)
	case n > 0:
		b.rc.SetReadDeadline(b.next())
	}
	return n, err
}

// next is the read deadline for the next bytes.
func (b *timedBody) next() time.Time {
	d := time.Now().Add(b.idle)
	if d.After(b.end) {
		return b.end
	}
	return d
}

// interrupt fails the Read under way, and those to come, at once, unless
// the body was read to its end.
func (b *timedBody) interrupt() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.eof && !b.stopped {
		b.stopped = true
		b.rc.SetReadDeadline(time.Now())
	}
}

func (b *timedBody) unread() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.eof
}
