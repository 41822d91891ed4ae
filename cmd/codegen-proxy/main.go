// Command codegen-proxy is a gateway in front of the Codegen API. With no
// upstream configured it serves a built-in sandbox; see --help.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	// The standard logger is global, so main, not run (which tests call
	// concurrently), points it at stderr through stdLogWriter. It runs
	// before the settings are read, so its lines are in the text format
	// whatever LOG_FORMAT says; net/http rarely writes any.
	log.SetFlags(0)
	log.SetOutput(stdLogWriter{slog.New(slog.NewTextHandler(os.Stderr, nil))})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var cfgErr *config.Error
	switch {
	case err == nil, errors.Is(err, config.ErrHelp):
	case errors.As(err, &cfgErr):
		fmt.Fprintln(os.Stderr, "codegen-proxy:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "codegen-proxy:", err)
		os.Exit(1)
	}
}
