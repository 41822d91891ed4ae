// Command codegen-sandbox serves only the Codegen API look-alike that
// codegen-proxy uses in sandbox mode, for web UI developers who want a fake
// upstream (paths start with /v1, as on api.codegen.com). Browsers may call
// it from any origin, without credentials. See --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/cors"

	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "codegen-sandbox:", err)
		os.Exit(2)
	}
}

// run serves the sandbox until ctx ends. --help prints the usage to stdout
// and returns flag.ErrHelp; a bad flag returns an error naming it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("codegen-sandbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	step := fs.Duration("step", 1200*time.Millisecond, "time between a run's steps")
	limits := fs.Bool("rate-limits", true, "apply the Codegen API's documented rate limits")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "codegen-sandbox: a look-alike of the Codegen API for web UI developers (any bearer token works).")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: withCORS(sandbox.New(sandbox.Options{Step: *step, RateLimits: *limits})), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "codegen-sandbox: serving a Codegen API look-alike at http://%s/v1 (any bearer token works)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc
	return err
}

// withCORS lets browser apps on any origin call the sandbox, without
// credentials, as codegen-proxy does when no origins are configured: the
// web UI developers it is for run their app on another port.
func withCORS(h http.Handler) http.Handler {
	return cors.Handler(cors.Options{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowedHeaders: []string{"Authorization", "Content-Type", "X-Request-ID"},
		ExposedHeaders: []string{"Retry-After", "X-Request-ID"},
		MaxAge:         600,
	})(h)
}
