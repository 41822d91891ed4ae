package main

import (
	"log/slog"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// limitConnections resolves MAX_CONNECTIONS "auto" in cfg to a number and
// lowers cfg.StreamMax, with a warning, so that streams leave
// streamHeadroom of the connections to everything else: a stream is a busy
// connection, which the bound never closes to make room, so streams at the
// bound would leave even /health unanswered.
func limitConnections(cfg *config.Config, logger *slog.Logger) {
	cfg.MaxConnections = maxConnections(*cfg)
	if most := max(cfg.MaxConnections-streamHeadroom(cfg.MaxConnections), 1); cfg.StreamMax > most {
		logger.Warn("STREAM_MAX lowered to leave connections for other requests under MAX_CONNECTIONS",
			"stream_max", cfg.StreamMax, "lowered_to", most, "max_connections", cfg.MaxConnections)
		cfg.StreamMax = most
	}
}

// streamHeadroom is how many of bound connections streams leave to other
// requests: a quarter, at least 8.
func streamHeadroom(bound int) int { return max(bound/4, 8) }

// maxConnections is MAX_CONNECTIONS, or when it is "auto" a quarter of the
// open-file limit (a proxied request may hold a client connection, an
// upstream connection and, in sandbox mode, the sandbox's end of it; the
// rest is headroom), between 16 and 10000.
func maxConnections(cfg config.Config) int {
	if cfg.MaxConnections > 0 {
		return cfg.MaxConnections
	}
	limit, ok := openFileLimit()
	if !ok {
		return 10000
	}
	return int(min(max(limit/4, 16), 10000))
}
