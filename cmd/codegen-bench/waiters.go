package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/launchdarkly/eventsource"

	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
)

// waitersOpts configure `codegen-bench waiters`.
type waitersOpts struct {
	proxyBin string
	waiters  int
	step     time.Duration
	logs     int
	dir      string
}

func parseWaitersOpts(args []string) (waitersOpts, error) {
	o := waitersOpts{}
	fs := flag.NewFlagSet("waiters", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary to measure")
	fs.IntVar(&o.waiters, "waiters", 1000, "waiters on the one run")
	fs.DurationVar(&o.step, "step", 500*time.Millisecond, "time between the run's steps")
	fs.IntVar(&o.logs, "logs", 26, "log entries the run writes (over 10 steps)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.waiters < 1 {
		return o, fmt.Errorf("-waiters: want at least 1")
	}
	return o, nil
}

// waitersResult is what one row measured.
type waitersResult struct {
	clients, answered  int
	logReads, runReads int64
	duration           time.Duration
}

// runWaiters measures the upstream calls of o.waiters GET /agent-runs/{id}/wait
// on one live run against those of one log stream on another, alike, run,
// through a codegen-proxy process, and writes a Markdown table.
func runWaiters(ctx context.Context, o waitersOpts, w io.Writer) error {
	up := &countingSandbox{sb: sandbox.New(sandbox.Options{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: up, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cp, err := startProc(o.dir, "codegen-proxy-waiters", addr, []string{"PORT=" + strings.Split(addr, ":")[1],
		"CODEGEN_BASE_URL=http://" + ln.Addr().String() + "/v1", "CODEGEN_ORG_ID=323", "LOG_FORMAT=json",
		"MAX_CONNECTIONS=8192", "STREAM_MAX=100000", "STREAM_MAX_PER_TOKEN=100000"}, o.proxyBin) // one token: that is what is measured
	if err != nil {
		return err
	}
	defer cp.stop()
	base := "http://" + cp.addr
	prompt := fmt.Sprintf("bench sandbox:logs=%d sandbox:step=%s", o.logs, o.step)

	stream, err := measureOneStream(ctx, base, prompt, up)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // the stream's poller lingers, then stops
	waiters, err := measureWaiters(ctx, base, prompt, up, o.waiters)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nOne live run per row: %d log entries over 10 steps of %s; STREAM_POLL_INTERVAL 2 s (the default); one token, STREAM_MAX_PER_TOKEN lifted. A waiter answers when the run is COMPLETE; the stream ends after its last log.\n\n", o.logs, o.step)
	fmt.Fprintln(w, "| Clients on the run | answered | upstream log reads | upstream run reads | upstream calls | calls per client | duration |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range []struct {
		name string
		r    waitersResult
	}{{"1 log stream", stream}, {fmt.Sprintf("%d waiters", o.waiters), waiters}} {
		calls := r.r.logReads + r.r.runReads
		fmt.Fprintf(w, "| %s | %d / %d | %d | %d | %d | %.3f | %s |\n", r.name, r.r.answered, r.r.clients, r.r.logReads, r.r.runReads,
			calls, float64(calls)/float64(r.r.clients), r.r.duration.Round(10*time.Millisecond))
	}
	return nil
}

// measureOneStream follows a new run's log stream to its done event.
func measureOneStream(ctx context.Context, base, prompt string, up *countingSandbox) (waitersResult, error) {
	res := waitersResult{clients: 1}
	id, err := createRun(ctx, base, prompt)
	if err != nil {
		return res, err
	}
	logs0, runs0, start := up.logs.Load(), up.runs.Load(), time.Now()
	err = streamEvents(ctx, http.DefaultTransport, base, id, "sk-bench", func(ev eventsource.Event) bool {
		if ev.Event() == "done" {
			res.answered = 1
			return false
		}
		return true
	})
	res.duration = time.Since(start)
	res.logReads, res.runReads = up.logs.Load()-logs0, up.runs.Load()-runs0
	return res, err
}

// measureWaiters starts n waiters on a new run and waits for their answers.
func measureWaiters(ctx context.Context, base, prompt string, up *countingSandbox, n int) (waitersResult, error) {
	res := waitersResult{clients: n}
	id, err := createRun(ctx, base, prompt)
	if err != nil {
		return res, err
	}
	logs0, runs0, start := up.logs.Load(), up.runs.Load(), time.Now()
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/agent-runs/%d/wait?timeout=120", base, id), nil)
			req.Header.Set("Authorization", "Bearer sk-bench")
			resp, err := tr.RoundTrip(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode == 200 && resp.Header.Get("X-Wait-Timed-Out") == "" && strings.Contains(string(body), `"COMPLETE"`) {
				mu.Lock()
				res.answered++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.duration = time.Since(start)
	res.logReads, res.runReads = up.logs.Load()-logs0, up.runs.Load()-runs0
	return res, nil
}
