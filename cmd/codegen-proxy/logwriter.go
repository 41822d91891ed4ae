package main

import (
	"io"
	"sync"
	"time"
)

// logWriter buffers log lines and writes them out in batches: when the
// buffer passes a threshold, or every interval. An access log line per
// request otherwise costs a write syscall per request, a large share of a
// proxy hop that takes tens of microseconds. The price is that a crash loses
// at most one interval of lines; Close writes what is left. It is safe for
// concurrent use.
type logWriter struct {
	out      io.Writer
	limit    int
	interval time.Duration

	mu   sync.Mutex
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

// newLogWriter starts a logWriter that flushes to out every interval or
// once limit bytes are waiting.
func newLogWriter(out io.Writer, limit int, interval time.Duration) *logWriter {
	w := &logWriter{out: out, limit: limit, interval: interval, buf: make([]byte, 0, 2*limit),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// Write queues p, which slog hands over as whole lines.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) >= w.limit {
		w.flushLocked()
	}
	return len(p), nil
}

func (w *logWriter) loop() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.mu.Lock()
			w.flushLocked()
			w.mu.Unlock()
		case <-w.stop:
			return
		}
	}
}

// flushLocked writes the buffer out; w.mu is held, which keeps lines in
// order. A failed write drops the batch: there is nowhere left to report it.
func (w *logWriter) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	w.out.Write(w.buf) //nolint:errcheck // see above
	w.buf = w.buf[:0]
}

// Close stops the flusher and writes what is left.
func (w *logWriter) Close() {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}
