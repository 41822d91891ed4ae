package codegen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"golang.org/x/sync/semaphore"
)

// errTooLarge is wrapped by readBody when a body is over the limit.
var errTooLarge = errors.New("body over the size limit")

// readBody reads resp's body within MaxResponseBytes and the Client's
// MaxInFlightBytes budget, and returns how many bytes of the budget it
// holds, which the caller must release once it no longer needs the body
// (also when err is not nil). A body of known length is read into one
// buffer of that size, reserved before anything is read: net/http's
// Transport ends the body at its Content-Length, with EOF along with the
// last bytes, so the connection goes back to its pool. A body of unknown
// length (chunked) reserves its buffer as it grows. A reservation that does
// not fit fails with ErrBusy, the body unread.
func (c *Client) readBody(resp *http.Response) (body []byte, held int64, err error) {
	limit := c.maxResponseBytes()
	size := resp.ContentLength
	if size > limit {
		return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", errTooLarge, size, limit)
	}
	if size < 0 {
		return c.readChunked(resp.Body, limit)
	}
	if !c.answers.TryAcquire(size) {
		return nil, 0, busy(size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		return nil, size, err
	}
	return buf, size, nil
}

// readChunked reads a body of unknown length, doubling its buffer from
// 4 KiB as it fills and reserving each new buffer's size in the budget.
func (c *Client) readChunked(r io.Reader, limit int64) (body []byte, held int64, err error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			size := min(max(2*int64(cap(buf)), 4<<10), limit+1)
			if !c.answers.TryAcquire(size - held) {
				return nil, held, busy(size)
			}
			held = size
			next := make([]byte, len(buf), size)
			copy(next, buf)
			buf = next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return nil, held, fmt.Errorf("%w of %d bytes", errTooLarge, limit)
		case err == io.EOF:
			return buf, held, nil
		case err != nil:
			return nil, held, err
		}
	}
}

func busy(n int64) error {
	return fmt.Errorf("%w: no room for %d more bytes", ErrBusy, n)
}

func (c *Client) maxInFlightBytes() int64 {
	n := c.MaxInFlightBytes
	if n <= 0 {
		n = 256 << 20
	}
	return max(n, c.maxResponseBytes()+1) // +1: a chunked answer's buffer detects a body over the limit
}

// HoldAnswers returns a context whose calls keep their answers' share of a
// Client's MaxInFlightBytes after they return, until release is called: for
// a caller that holds an answer's bytes for a while, such as a handler that
// writes it out to a slow client. Only answers that a call returns are kept;
// a failed call's bytes are released at once. release must be called once
// the caller no longer needs the answers; calls made with the context after
// that release their bytes when they return. release is safe for
// concurrent use and may be called more than once.
func HoldAnswers(ctx context.Context) (context.Context, func()) {
	c := &holdCtx{Context: ctx}
	return c, c.hold.release
}

// HoldBytes reserves n bytes of c's MaxInFlightBytes for ctx's hold, until
// its release: for an answer that a caller writes out but that no call made
// with ctx read, such as one that coalesced reads share or one a cache
// kept. It fails with an error wrapping ErrBusy, reserving nothing, when
// the bytes do not fit. ctx must come from HoldAnswers: without a hold, or
// once it is released, HoldBytes reserves nothing. It is safe for
// concurrent use.
func (c *Client) HoldBytes(ctx context.Context, n int64) error {
	h, _ := ctx.Value(holdKey{}).(*hold)
	if h == nil || n <= 0 {
		return nil
	}
	c.setup()
	if !c.answers.TryAcquire(n) {
		return busy(n)
	}
	if !h.keep(c.answers, n) {
		c.answers.Release(n)
	}
	return nil
}

type holdKey struct{}

// holdCtx is the context HoldAnswers returns: its parent and its hold, as
// context.WithValue would make them, in one allocation. Value answers
// holdKey with the *hold.
type holdCtx struct {
	context.Context
	hold hold
}

func (c *holdCtx) Value(key any) any {
	if key == (holdKey{}) {
		return &c.hold
	}
	return c.Context.Value(key)
}

// hold is the budget that the calls of one HoldAnswers context keep. The
// first reservation is kept in place, so that the usual hold of one call's
// answer allocates nothing more. It is safe for concurrent use.
type hold struct {
	mu       sync.Mutex
	first    reservation // zero until a call keeps its bytes
	more     []reservation
	released bool
}

type reservation struct {
	sem *semaphore.Weighted
	n   int64
}

// keep adds n bytes of sem to h, and reports false when h is released.
func (h *hold) keep(sem *semaphore.Weighted, n int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.released:
		return false
	case h.first.sem == nil:
		h.first = reservation{sem, n}
	default:
		h.more = append(h.more, reservation{sem, n})
	}
	return true
}

func (h *hold) release() {
	h.mu.Lock()
	first, more := h.first, h.more
	h.first, h.more, h.released = reservation{}, nil, true
	h.mu.Unlock()
	if first.sem != nil {
		first.sem.Release(first.n)
	}
	for _, r := range more {
		r.sem.Release(r.n)
	}
}

// release gives back the n bytes of budget a call held, or hands them to
// ctx's hold when the call returns its answer.
func (c *Client) release(ctx context.Context, n int64, answered bool) {
	if h, _ := ctx.Value(holdKey{}).(*hold); answered && h != nil && n > 0 && h.keep(c.answers, n) {
		return
	}
	c.answers.Release(n)
}
