package server

import (
	"context"
	"net/http"
	"time"
)

// statusClientClosed is reported for requests whose caller left before the
// answer, after nginx's convention; it is never sent.
const statusClientClosed = 499

// outcome is what one request came to, as observe saw it once the handler
// had returned.
type outcome struct {
	status     int    // the status sent; statusClientClosed if the caller left first
	bytes      int64  // body bytes written
	cause      error  // the error writeError answered, if any
	route      string // the route pattern that served the request (see routePattern)
	start, end time.Time
}

// observe is the only middleware that watches answers. It wraps the response
// in a recorder, gives the request a place where the error writer leaves the
// cause of an error answer (see noteCause), and once the handler has returned
// hands each report, in order, the request and its outcome. Reports run on
// the request's goroutine and must not keep the request. Put observe right
// after requestID, outside recoverer, so that it sees every answer, panics'
// 500s included.
func observe(reports ...func(*http.Request, outcome)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ob := &observation{rec: responseRecorder{ResponseWriter: w}, ctx: causeCtx{Context: r.Context()}}
			rec := &ob.rec
			start := time.Now()
			next.ServeHTTP(rec, r.WithContext(&ob.ctx))
			o := outcome{status: rec.status, bytes: rec.bytes, cause: ob.ctx.note.err, start: start, end: time.Now(),
				route: routePattern(r)}
			if o.status == 0 { // nothing written: net/http sends 200, unless the caller has gone
				o.status = http.StatusOK
				if r.Context().Err() != nil {
					o.status = statusClientClosed
				}
			}
			for _, report := range reports {
				report(r, o)
			}
		})
	}
}

// observation is what observe keeps for one request, in one allocation: the
// recorder of its answer and the context holding its causeNote.
type observation struct {
	rec responseRecorder
	ctx causeCtx
}

// causeKey is the context key of a request's *causeNote; only observe sets it.
type causeKey struct{}

// causeCtx is the context observe gives a request: its parent and the
// request's causeNote, which Value answers causeKey with. The context itself
// never changes; only the note does, through noteCause.
type causeCtx struct {
	context.Context
	note causeNote
}

func (c *causeCtx) Value(key any) any {
	if key == (causeKey{}) {
		return &c.note
	}
	return c.Context.Value(key)
}

// causeNote is where writeError leaves the cause of an error answer for
// observe, which made the note and reads it once the handler has returned.
// The context holds a pointer that never changes; only noteCause writes
// through it, on the request's goroutine, before the handler returns.
type causeNote struct{ err error }

// noteCause leaves err for observe to report, if observe runs for the request
// whose context ctx is.
func noteCause(ctx context.Context, err error) {
	if n, ok := ctx.Value(causeKey{}).(*causeNote); ok {
		n.err = err
	}
}

// responseRecorder notes the status and size of an answer. It
// keeps streaming working through Unwrap (for http.ResponseController) and
// Flush (for code that type-asserts). Only observe reads it.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseRecorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *responseRecorder) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
