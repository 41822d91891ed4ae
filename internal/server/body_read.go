package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"golang.org/x/sync/semaphore"
)

// bodyLimits reads request bodies within two bounds: max bytes for one
// body, and the bytes all bodies being read or used hold at once, pool.
// Bytes are reserved from pool as they arrive, at most chunk at a time and
// before they are read, so that a body declared large but sent slowly
// holds only what it sent. Make it with newBodyLimits; it is safe for
// concurrent use.
type bodyLimits struct {
	pool  *semaphore.Weighted
	max   int64
	chunk int64
}

// newBodyLimits bounds one body to max bytes and all of them to inflight.
// A chunk is 1 MiB, or an eighth of max when that is less.
func newBodyLimits(max, inflight int64) *bodyLimits {
	return &bodyLimits{pool: semaphore.NewWeighted(inflight), max: max, chunk: min(1<<20, max/8+1)}
}

// read reads r's JSON body. release gives its bytes back to the pool: call
// it once the body, and whatever points into it, is no longer used. On
// failure nothing is held, and the error is an answer that names the
// problem: 415 for a body that is not declared JSON, 413 for one over max
// (refused unread when its Content-Length says so, before anything else),
// 503 server_busy when the pool has no room for its next chunk, 408 when
// it stops arriving (see guardBodies), 503 shutting_down when a shutdown
// interrupts it, 400 for one that cannot be read.
func (l *bodyLimits) read(w http.ResponseWriter, r *http.Request) (body []byte, release func(), err error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "request body must be JSON (Content-Type: application/json)"}
		}
	}
	if r.ContentLength > l.max {
		return nil, nil, tooLarge(l.max)
	}
	var held int64
	chunks, err := l.readChunks(w, r, &held)
	release = func() { l.pool.Release(held) }
	if err != nil {
		release()
		return nil, nil, err
	}
	return join(chunks), release, nil
}

// readJSON reads r's body as read does and decodes it into v, a pointer to
// a request struct whose rawJSON fields then point into the body; release
// is read's.
func (l *bodyLimits) readJSON(w http.ResponseWriter, r *http.Request, v any) (release func(), err error) {
	body, release, err := l.read(w, r)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(body, v); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// readChunks reads r's body in chunks, reserving each from l.pool before
// reading it, and adds what it reserved to *held.
func (l *bodyLimits) readChunks(w http.ResponseWriter, r *http.Request, held *int64) ([][]byte, error) {
	src := http.MaxBytesReader(w, r.Body, l.max)
	var chunks [][]byte
	for n := int64(0); r.ContentLength < 0 || n < r.ContentLength; {
		size := l.chunk
		if r.ContentLength >= 0 {
			size = min(size, r.ContentLength-n)
		}
		if !l.pool.TryAcquire(size) {
			return nil, &Error{Status: http.StatusServiceUnavailable, Code: "server_busy",
				Message: "the server is busy reading other requests' bodies: retry shortly", RetryAfter: "1"}
		}
		*held += size
		chunk := make([]byte, size)
		got, err := io.ReadFull(src, chunk)
		n += int64(got)
		chunks = append(chunks, chunk[:got])
		if r.ContentLength < 0 && (err == io.EOF || err == io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, readError(r, err)
		}
	}
	return chunks, nil
}

// readError is the answer to a body whose reading failed with err.
func readError(r *http.Request, err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(context.Cause(r.Context()), ErrShuttingDown):
		return fmt.Errorf("reading the body: %w", ErrShuttingDown)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// net/http cancels the request's context on any failed read.
		return &Error{Status: http.StatusRequestTimeout, Code: "request_timeout",
			Message: "request body stopped arriving: send it at once, with its Content-Length", Cause: fmt.Errorf("%w: %w", errBodyStalled, err)}
	case r.Context().Err() != nil:
		return context.Cause(r.Context()) // the caller has gone: no answer
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "request body could not be read", Cause: err}
}

// errBodyStalled is the cause of the answer to a body that stopped
// arriving: an answer written although net/http has cancelled the
// request's context, as the caller may still be reading.
var errBodyStalled = errors.New("server: request body stopped arriving")

// join returns chunks as one slice: the only chunk, or a copy of them all
// (each chunk is dropped once copied, for the collector to take back).
func join(chunks [][]byte) []byte {
	if len(chunks) == 1 {
		return chunks[0]
	}
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	body := make([]byte, 0, n)
	for i, c := range chunks {
		body = append(body, c...)
		chunks[i] = nil
	}
	return body
}

func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
		Message: fmt.Sprintf("request body is over the %d-byte limit", limit)}
}
