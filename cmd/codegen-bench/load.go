package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/launchdarkly/eventsource"
)

// loadOpts configure `codegen-bench load`, the soak test: many open streams
// and a steady request load at once, against the proxy in sandbox mode.
type loadOpts struct {
	proxyBin string
	streams  int
	runs     int
	rate     int
	duration time.Duration
	dir      string
}

func parseLoadOpts(args []string) (loadOpts, error) {
	o := loadOpts{}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary to load")
	fs.IntVar(&o.streams, "streams", 1000, "SSE clients held open")
	fs.IntVar(&o.runs, "runs", 10, "runs the streams follow, each with its own token")
	fs.IntVar(&o.rate, "rate", 300, "requests per second besides the streams")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long the load lasts")
	return o, fs.Parse(args)
}

// sample is the proxy's state at one moment, read from /metrics and /proc.
type sample struct {
	rss, heap  int64
	goroutines int
	streams    int
	pollers    int
}

func takeSample(ctx context.Context, cp *proc) sample {
	s := sample{rss: cp.rss()}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+cp.addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "go_memstats_heap_inuse_bytes":
			s.heap = int64(n)
		case "go_goroutines":
			s.goroutines = int(n)
		case "codegen_proxy_sse_streams_open":
			s.streams = int(n)
		case "codegen_proxy_stream_pollers":
			s.pollers = int(n)
		}
	}
	return s
}

// runLoad starts the proxy in sandbox mode, opens the streams, sends the
// request load, and reports errors, latencies and the proxy's memory and
// goroutines before, during and after.
func runLoad(ctx context.Context, o loadOpts, w io.Writer) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cp, err := startProc(o.dir, "codegen-proxy-load", addr, []string{"PORT=" + strings.Split(addr, ":")[1],
		"SANDBOX_RATE_LIMITS=false", "SANDBOX_STEP=1s", "LOG_FORMAT=json", "PPROF_ADDR=" + pprofAddr,
		"UPSTREAM_BUDGET=false", "READ_CACHE=false"}, o.proxyBin, "--sandbox")
	if err != nil {
		return err
	}
	defer cp.stop()
	base := "http://" + cp.addr
	if err := waitHealthy(ctx, base+"/health"); err != nil {
		return err
	}
	before := takeSample(ctx, cp)

	// Runs long enough to outlast the load: 10 steps spread over it.
	step := o.duration / 8
	ids := make([]int64, o.runs)
	for i := range ids {
		if ids[i], err = createRun(ctx, base, fmt.Sprintf("load sandbox:logs=200 sandbox:step=%s", step)); err != nil {
			return err
		}
	}
	lctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var streamErrs, events atomic.Int64
	var wg sync.WaitGroup
	tr := &http.Transport{DisableKeepAlives: true}
	for i := range o.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := holdStream(lctx, tr, base, ids[i%o.runs], fmt.Sprintf("sk-load-%d", i%o.runs))
			events.Add(n)
			if err != nil && lctx.Err() == nil {
				streamErrs.Add(1)
			}
		}()
		if i%100 == 99 {
			time.Sleep(100 * time.Millisecond) // connect over a second, not all at once
		}
	}
	peakc := make(chan sample, 1)
	time.AfterFunc(o.duration-2*time.Second, func() { peakc <- takeSample(ctx, cp) })
	lat, reqErrs := openLoop(lctx, base, ids, o.rate)
	peak := <-peakc
	cancel()
	wg.Wait()
	time.Sleep(3 * time.Second) // pollers linger one second, then stop
	after := takeSample(ctx, cp)
	time.Sleep(55 * time.Second) // kept-alive upstream connections are closed after 50 s idle
	forceGC(ctx, pprofAddr)      // an idle process collects no garbage: measure what is live;
	forceGC(ctx, pprofAddr)      // twice, since one collection only moves sync.Pool contents aside
	settled := takeSample(ctx, cp)

	slices.Sort(lat)
	fmt.Fprintf(w, "\n%d SSE clients on %d runs (one token per run) and %d requests/s (GET a run 60%%, a list 30%%, logs 10%%) for %s, against the proxy in sandbox mode.\n\n",
		o.streams, o.runs, o.rate, o.duration)
	fmt.Fprintln(w, "| Requests | errors | p50 | p99 | max | stream errors | log events received |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %d | %d |\n\n", len(lat), reqErrs, fmtDur(pct(lat, 50)), fmtDur(pct(lat, 99)),
		fmtDur(pct(lat, 100)), streamErrs.Load(), events.Load())
	fmt.Fprintln(w, "| Proxy | RSS | heap in use | goroutines | open streams | pollers |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, s := range []struct {
		name string
		s    sample
	}{{"before", before}, {"under load (end)", peak}, {"after (3 s later)", after}, {"settled (1 min later, after a GC)", settled}} {
		fmt.Fprintf(w, "| %s | %.1f MiB | %.1f MiB | %d | %d | %d |\n", s.name, float64(s.s.rss)/(1<<20), float64(s.s.heap)/(1<<20),
			s.s.goroutines, s.s.streams, s.s.pollers)
	}
	return nil
}

// forceGC makes the proxy collect garbage: its heap profile endpoint runs a
// collection first when asked with gc=1.
func forceGC(ctx context.Context, pprofAddr string) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+pprofAddr+"/debug/pprof/heap?gc=1", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// holdStream reads a run's stream until ctx ends, counting log events.
func holdStream(ctx context.Context, tr http.RoundTripper, base string, id int64, tok string) (int64, error) {
	var n int64
	err := streamEvents(ctx, tr, base, id, tok, func(ev eventsource.Event) bool {
		if ev.Event() == "log" {
			n++
		}
		return true
	})
	return n, err
}

// openLoop sends rate requests per second until ctx ends, whatever the
// answers' pace, and returns each latency and the count of failures.
func openLoop(ctx context.Context, base string, ids []int64, rate int) ([]time.Duration, int) {
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections() // so that the proxy's count of goroutines afterwards is its own
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return lat, errs
		case <-tick.C:
		}
		id := ids[i%len(ids)]
		path := fmt.Sprintf("/agent-runs/%d", id)
		switch i % 10 {
		case 6, 7, 8:
			path = "/agent-runs?limit=20"
		case 9:
			path = fmt.Sprintf("/agent-runs/%d/logs?limit=50", id)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Authorization", fmt.Sprintf("Bearer sk-load-%d", i%len(ids)))
			start := time.Now()
			resp, err := client.Do(req)
			d := time.Since(start)
			failed := err != nil
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				failed = resp.StatusCode != 200
			}
			mu.Lock()
			lat = append(lat, d)
			if failed {
				errs++
			}
			mu.Unlock()
		}()
	}
}
