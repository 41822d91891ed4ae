// Command codegen-bench measures codegen-proxy: the cost of its hop against a
// direct upstream, a bare httputil.ReverseProxy and nginx, and the cost of
// log streams. `make bench` runs
// it; see docs/benchmarks.md for results and how to read them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "codegen-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: codegen-bench all|http|stream|waiters|cluster|load|conns|bodies|uiload|upstream|reverseproxy [flags]")
	}
	switch args[0] {
	case "upstream":
		return runUpstream(ctx, args[1:], stdout)
	case "reverseproxy":
		return runReverseProxy(ctx, args[1:], stdout)
	}
	dir, err := os.MkdirTemp("", "codegen-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	switch args[0] {
	case "http":
		o, err := parseHTTPOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runHTTP(o, stdout)
	case "stream":
		o, err := parseStreamOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runStream(ctx, o, stdout)
	case "waiters":
		o, err := parseWaitersOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runWaiters(ctx, o, stdout)
	case "all":
		return runAll(ctx, args[1:], dir, stdout)
	case "conns":
		o, err := parseConnsOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runConns(ctx, o, stdout)
	case "bodies":
		o, err := parseBodiesOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runBodies(ctx, o, stdout)
	case "cluster":
		o, err := parseClusterOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runCluster(ctx, o, stdout)
	case "uiload":
		o, err := parseUIOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runUILoad(ctx, o, stdout)
	case "load":
		o, err := parseLoadOpts(args[1:])
		if err != nil {
			return err
		}
		o.dir = dir
		return runLoad(ctx, o, stdout)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
