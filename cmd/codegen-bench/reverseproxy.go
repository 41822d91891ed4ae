package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// benchOrg is the organization the benchmark's requests are for.
const benchOrg = "323"

// reverseProxy returns a bare httputil.ReverseProxy that maps codegen-proxy's
// routes onto the Codegen API's paths, as codegen-proxy does, with the same
// tuned Transport and nothing else: no checks, logging or metrics. It is
// the generic net/http proxy, a floor for codegen-proxy's cost.
func reverseProxy(upstream string) http.Handler {
	tr := codegen.NewTransport()
	route := func(path func(r *http.Request) string) http.Handler {
		return &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", upstream, ""
				pr.Out.URL.Path, pr.Out.URL.RawPath = path(pr.In), ""
			},
			Transport: tr,
		}
	}
	runs := "/v1/organizations/" + benchOrg + "/agent/run"
	mux := http.NewServeMux()
	mux.Handle("GET /agent-runs", route(func(*http.Request) string { return runs + "s" }))
	mux.Handle("POST /agent-runs", route(func(*http.Request) string { return runs }))
	mux.Handle("GET /agent-runs/{id}", route(func(r *http.Request) string { return runs + "/" + r.PathValue("id") }))
	mux.Handle("POST /agent-runs/{id}/resume", route(func(*http.Request) string { return runs + "/resume" }))
	mux.Handle("GET /agent-runs/{id}/logs", route(func(r *http.Request) string {
		return "/v1/alpha/organizations/" + benchOrg + "/agent/run/" + r.PathValue("id") + "/logs"
	}))
	mux.Handle("GET /users/me", route(func(*http.Request) string { return "/v1/users/me" }))
	return mux
}

// runReverseProxy is `codegen-bench reverseproxy`: serve reverseProxy until
// ctx ends.
func runReverseProxy(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("reverseproxy", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	upstream := fs.String("upstream", "", "host:port of the Codegen API look-alike")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *upstream == "" || strings.Contains(*upstream, "/") {
		return fmt.Errorf("-upstream: want host:port, got %q", *upstream)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reverse proxy listening on http://%s\n", ln.Addr())
	return serveUntilDone(ctx, ln, reverseProxy(*upstream))
}
