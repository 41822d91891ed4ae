package main

import (
	"log/slog"
	"strings"
)

// stdLogWriter is the output of the standard log package, which net/http's
// Transport writes to: "Unsolicited response received on idle HTTP channel
// starting with %q; err=%v" quotes bytes an upstream sent past an answer,
// which may belong to another caller. It logs each line as a warning
// through its logger, cut before "starting with", so the quoted bytes never
// reach the log. It is safe for concurrent use if its logger is.
type stdLogWriter struct{ logger *slog.Logger }

func (w stdLogWriter) Write(p []byte) (int, error) {
	line, _, _ := strings.Cut(strings.TrimSpace(string(p)), " starting with")
	w.logger.Warn("standard library log", "text", line)
	return len(p), nil
}
