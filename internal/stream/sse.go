package stream

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// writeTimeout bounds each write to a client: one that reads slower than
// this is dropped.
const writeTimeout = 30 * time.Second

// Buffer bounds: events are queued up to writeAt bytes and then written out;
// a buffer that one large event grew past 2*writeAt is let go once written,
// and one larger than idleCap once flushed, so that a subscriber's memory
// follows neither a run's history nor its last burst.
const (
	writeAt = 16 << 10
	idleCap = 4 << 10
)

// Writer writes Server-Sent Events to one client and flushes them through
// every middleware wrapper (via http.ResponseController). It queues at most
// about writeAt bytes before writing. It is not safe for concurrent use: one
// subscriber owns it.
type Writer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	buf     []byte
	err     error // the first write error; later writes are skipped
	dirty   bool  // written since the last flush
	waiting bool  // the waiting comment is queued or sent
}

// NewWriter starts an event stream on w: it sends the SSE headers and a
// retry hint, lifts the server's read deadline (http.Server.ReadTimeout
// would otherwise end the request's context while the stream goes on:
// net/http's background read of the connection fails then), and flushes.
// Each write sets a write deadline of its own, so the server's
// WriteTimeout, which streams outlive, does not apply either.
func NewWriter(w http.ResponseWriter, retry time.Duration) (*Writer, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	sw := &Writer{w: w, rc: http.NewResponseController(w)}
	_ = sw.rc.SetReadDeadline(time.Time{}) // not every writer supports it; then there is none to lift
	sw.buf = append(sw.buf, "retry: "...)
	sw.buf = strconv.AppendInt(sw.buf, retry.Milliseconds(), 10)
	sw.buf = append(sw.buf, "\n\n"...)
	return sw, sw.Flush()
}

// Log queues a log event whose id is the entry's position in the run.
func (s *Writer) Log(pos int, data json.RawMessage) {
	s.buf = append(s.buf, "id: "...)
	s.buf = strconv.AppendInt(s.buf, int64(pos), 10)
	s.buf = append(s.buf, '\n')
	s.event("log", data)
}

// Event queues a control event (status, done, error, reset), or a runs
// feed's run event that carries no id. Control events carry no id, so a
// client's last event id is always a log position, or a feed's number.
func (s *Writer) Event(name string, data []byte) { s.event(name, data) }

// EventID queues an event whose id is id: a runs feed's run event, numbered
// by its poller.
func (s *Writer) EventID(name string, id int64, data []byte) {
	s.buf = append(s.buf, "id: "...)
	s.buf = strconv.AppendInt(s.buf, id, 10)
	s.buf = append(s.buf, '\n')
	s.event(name, data)
}

// Ping queues a heartbeat comment.
func (s *Writer) Ping() { s.Comment("ping") }

// Waiting queues the comment that says the stream waits for the upstream,
// once per stream.
func (s *Writer) Waiting() {
	if !s.waiting {
		s.waiting = true
		s.Comment("waiting for the upstream")
	}
}

// Comment queues an SSE comment, which clients ignore. text must be one line.
func (s *Writer) Comment(text string) {
	s.buf = append(s.buf, ": "...)
	s.buf = append(s.buf, text...)
	s.buf = append(s.buf, "\n\n"...)
}

func (s *Writer) event(name string, data []byte) {
	s.buf = append(s.buf, "event: "...)
	s.buf = append(s.buf, name...)
	s.buf = append(s.buf, "\ndata: "...)
	s.buf = appendOneLine(s.buf, data)
	s.buf = append(s.buf, "\n\n"...)
	if len(s.buf) >= writeAt {
		s.write()
	}
}

// appendOneLine appends JSON data, compacted if it spans lines, since a
// newline would end the SSE data field.
func appendOneLine(dst, data []byte) []byte {
	if bytes.IndexByte(data, '\n') < 0 && bytes.IndexByte(data, '\r') < 0 {
		return append(dst, data...)
	}
	var b bytes.Buffer
	if json.Compact(&b, data) == nil {
		return append(dst, b.Bytes()...)
	}
	return append(dst, bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r"), nil), []byte("\n"), []byte(" "))...)
}

// write hands what is queued to the connection, without flushing it.
func (s *Writer) write() {
	if s.err == nil && len(s.buf) > 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, s.err = s.w.Write(s.buf)
		s.dirty = true
	}
	s.buf = s.buf[:0]
	if cap(s.buf) > 2*writeAt {
		s.buf = nil
	}
}

// Flush sends what is queued and reports the first write error so far.
func (s *Writer) Flush() error {
	s.write()
	if cap(s.buf) > idleCap {
		s.buf = nil
	}
	if s.err != nil || !s.dirty {
		return s.err
	}
	s.dirty = false
	return s.rc.Flush()
}
