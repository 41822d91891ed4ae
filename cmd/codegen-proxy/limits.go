package main

import "github.com/codegen-proxy/codegen-proxy/internal/config"

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
