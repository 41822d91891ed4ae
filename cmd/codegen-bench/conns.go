package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// connsOpts configure `codegen-bench conns`: /health latency while idle
// clients hold every connection the proxy allows.
type connsOpts struct {
	proxyBin string
	bound    int
	extra    int
	probes   int
	dir      string
}

func parseConnsOpts(args []string) (connsOpts, error) {
	o := connsOpts{}
	fs := flag.NewFlagSet("conns", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary")
	fs.IntVar(&o.bound, "bound", 2000, "the proxy's MAX_CONNECTIONS; this many idle keep-alive connections are opened")
	fs.IntVar(&o.extra, "extra", 200, "silent connections (nothing sent) opened past the bound")
	fs.IntVar(&o.probes, "probes", 300, "GET /health requests measured in each phase, each on a new connection")
	return o, fs.Parse(args)
}

// connsPhase is the /health latency of one phase.
type connsPhase struct {
	name    string
	lat     []time.Duration
	errors  int
	tokenOK bool
}

// runConns starts the proxy in sandbox mode with MAX_CONNECTIONS=bound,
// measures /health, fills the bound with idle keep-alive connections (each
// made one request without a token, as the clients that exhausted the file
// descriptors did) and silent ones past it, and measures /health again.
func runConns(ctx context.Context, o connsOpts, w io.Writer) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cp, err := startProc(o.dir, "codegen-proxy-conns", addr, []string{"PORT=" + strings.Split(addr, ":")[1],
		"SANDBOX_RATE_LIMITS=false", "LOG_LEVEL=warn", fmt.Sprintf("MAX_CONNECTIONS=%d", o.bound)}, o.proxyBin, "--sandbox")
	if err != nil {
		return err
	}
	defer cp.stop()
	base := "http://" + cp.addr
	if err := waitHealthy(ctx, base+"/health"); err != nil {
		return err
	}
	before := probeHealth(ctx, "no idle connections", base, o.probes)

	var (
		held          []net.Conn
		closedByProxy atomic.Int64
	)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	start := time.Now()
	for i := range o.bound + o.extra {
		c, err := net.DialTimeout("tcp", cp.addr, 5*time.Second)
		if err != nil {
			return fmt.Errorf("idle connection %d: %w", i, err)
		}
		held = append(held, c)
		if i < o.bound {
			if err := idleRequest(c); err != nil {
				return fmt.Errorf("idle connection %d: %w", i, err)
			}
		}
		go func() { // the server sends nothing more: a read ends when it closes c
			c.Read(make([]byte, 1))
			closedByProxy.Add(1)
		}()
	}
	opened := time.Since(start)
	after := probeHealth(ctx, fmt.Sprintf("%d idle + %d silent connections held", o.bound, o.extra), base, o.probes)
	closed := closedByProxy.Load()

	fmt.Fprintf(w, "\nGET /health on a new connection each time, %d probes per phase, against the proxy in sandbox mode with MAX_CONNECTIONS=%d.\n", o.probes, o.bound)
	fmt.Fprintf(w, "Opening %d idle keep-alive connections (one 401 each) and %d silent ones took %s; the proxy closed %d of them to make room.\n\n",
		o.bound, o.extra, opened.Round(time.Millisecond), closed)
	fmt.Fprintln(w, "| phase | p50 | p99 | max | errors | request with a token |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	for _, p := range []connsPhase{before, after} {
		slices.Sort(p.lat)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %v |\n", p.name, ms(pct(p.lat, 50)), ms(pct(p.lat, 99)), ms(pct(p.lat, 100)), p.errors, p.tokenOK)
	}
	return nil
}

// idleRequest makes one request without a token on c and reads the 401,
// leaving c idle.
func idleRequest(c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "GET /agent-runs/12345 HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// probeHealth times n GET /health requests, each on a new connection, and
// checks that a request with a token is answered too.
func probeHealth(ctx context.Context, name, base string, n int) connsPhase {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	p := connsPhase{name: name}
	for range n {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/health", nil)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			p.errors++
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			p.errors++
			continue
		}
		p.lat = append(p.lat, time.Since(t0))
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/agent-runs/12345", nil)
	req.Header.Set("Authorization", "Bearer sandbox")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		p.tokenOK = resp.StatusCode == 200
	}
	return p
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
