package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/launchdarkly/eventsource"

	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
)

// streamOpts configure `codegen-bench stream`.
type streamOpts struct {
	proxyBin string
	ks       []int
	step     time.Duration
	logs     int
	lateLogs int // if positive, measure late joiners of a run this long instead
	dir      string
}

func parseStreamOpts(args []string) (streamOpts, error) {
	o := streamOpts{}
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary to measure")
	ks := fs.String("subscribers", "1,10,100,1000", "subscriber counts to measure")
	fs.DurationVar(&o.step, "step", 1300*time.Millisecond, "time between the run's steps")
	fs.IntVar(&o.logs, "logs", 26, "log entries the run writes (over 10 steps)")
	fs.IntVar(&o.lateLogs, "late", 0, "instead: memory per subscriber when each joins a PAUSED run of this many logs from the start (e.g. 5000)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*ks, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k < 1 {
			return o, fmt.Errorf("-subscribers: %q", s)
		}
		o.ks = append(o.ks, k)
	}
	return o, nil
}

// countingSandbox is the upstream: the sandbox on the real clock, counting
// the log reads and run reads it serves.
type countingSandbox struct {
	sb         http.Handler
	logs, runs atomic.Int64
}

func (c *countingSandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/logs"):
		c.logs.Add(1)
	case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/agent/run/"):
		c.runs.Add(1)
	}
	c.sb.ServeHTTP(w, r)
}

// streamResult is what one subscriber count measured.
type streamResult struct {
	k                    int
	connected, completed int
	logReadsPerSec       float64
	runReads             int64
	rssPerSub            float64 // bytes
	delays               []time.Duration
	duration             time.Duration
}

// runStream measures log streams for each subscriber count on one live run
// each, through a codegen-proxy process, and writes a Markdown table.
func runStream(ctx context.Context, o streamOpts, w io.Writer) error {
	if o.lateLogs > 0 {
		return runLateJoin(ctx, o, w)
	}
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
	cp, err := startProc(o.dir, "codegen-proxy-stream", addr, []string{"PORT=" + strings.Split(addr, ":")[1],
		"CODEGEN_BASE_URL=http://" + ln.Addr().String() + "/v1", "CODEGEN_ORG_ID=323", "LOG_FORMAT=json",
		"STREAM_MAX_PER_TOKEN=100000"}, o.proxyBin) // every subscriber uses one token: that is what is measured
	if err != nil {
		return err
	}
	defer cp.stop()

	fmt.Fprintf(w, "\nOne live run per row: %d log entries over 10 steps of %s; STREAM_POLL_INTERVAL 2 s (the default); all subscribers share one token, with STREAM_MAX_PER_TOKEN lifted.\n\n", o.logs, o.step)
	fmt.Fprintln(w, "| Subscribers | connected / got done | upstream log reads per s | run reads | proxy memory per subscriber | delay p50 | delay p99 | delay max |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	var first float64
	for _, k := range o.ks {
		r, err := measureStreams(ctx, o, cp, up, k)
		if err != nil {
			return err
		}
		if first == 0 {
			first = r.logReadsPerSec
		}
		slices.Sort(r.delays)
		fmt.Fprintf(w, "| %d | %d / %d | %.2f (%.2fx) | %d | %.1f KiB | %s | %s | %s |\n", k, r.connected, r.completed,
			r.logReadsPerSec, r.logReadsPerSec/first, r.runReads, r.rssPerSub/1024,
			fmtDur(pct(r.delays, 50)), fmtDur(pct(r.delays, 99)), fmtDur(pct(r.delays, 100)))
	}
	return nil
}

// measureStreams starts a run, subscribes k clients to it, and follows the
// run to its end.
func measureStreams(ctx context.Context, o streamOpts, cp *proc, up *countingSandbox, k int) (streamResult, error) {
	res := streamResult{k: k}
	base := "http://" + cp.addr
	id, err := createRun(ctx, base, fmt.Sprintf("bench sandbox:logs=%d sandbox:step=%s", o.logs, o.step))
	if err != nil {
		return res, err
	}
	time.Sleep(500 * time.Millisecond) // let the proxy settle before measuring its memory
	rss0 := cp.rss()
	logs0, runs0, start := up.logs.Load(), up.runs.Load(), time.Now()

	var (
		mu        sync.Mutex
		connected sync.WaitGroup
		done      sync.WaitGroup
		completed atomic.Int32
		got       atomic.Int32
	)
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	sctx, cancel := context.WithTimeout(ctx, 12*o.step+30*time.Second)
	defer cancel()
	gate := make(chan struct{}, 100) // dial at most 100 at once
	for range k {
		connected.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			gate <- struct{}{}
			var once sync.Once
			connect := func(ok bool) {
				once.Do(func() {
					<-gate
					if ok {
						got.Add(1)
					}
					connected.Done()
				})
			}
			delays, finished, _ := subscribe(sctx, tr, base, id, func() { connect(true) })
			connect(false) // if it never connected
			if finished {
				completed.Add(1)
			}
			mu.Lock()
			res.delays = append(res.delays, delays...)
			mu.Unlock()
		}()
	}
	connected.Wait()
	time.Sleep(time.Second) // buffers settle
	res.connected = int(got.Load())
	res.rssPerSub = float64(cp.rss()-rss0) / float64(k)
	done.Wait()
	res.completed = int(completed.Load())
	res.duration = time.Since(start)
	res.logReadsPerSec = float64(up.logs.Load()-logs0) / res.duration.Seconds()
	res.runReads = up.runs.Load() - runs0
	time.Sleep(2 * time.Second) // the poller lingers, then stops
	return res, nil
}

func createRun(ctx context.Context, base, prompt string) (int64, error) {
	body, _ := json.Marshal(map[string]string{"prompt": prompt})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/agent-runs", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer sk-bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var run struct{ ID int64 }
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != 200 {
		return 0, fmt.Errorf("creating a run: %d %v", resp.StatusCode, err)
	}
	return run.ID, nil
}

// subscribe reads the stream of run id until its done event, calling
// onConnect when the first event arrives, and returns for each log the
// delay from its creation upstream (its created_at) to its arrival.
func subscribe(ctx context.Context, tr http.RoundTripper, base string, id int64, onConnect func()) (delays []time.Duration, finished bool, err error) {
	connected := false
	err = streamEvents(ctx, tr, base, id, "sk-bench", func(ev eventsource.Event) bool {
		if !connected {
			connected = true
			onConnect()
		}
		switch ev.Event() {
		case "log":
			var entry struct {
				CreatedAt string `json:"created_at"`
			}
			if json.Unmarshal([]byte(ev.Data()), &entry) == nil {
				if t, err := time.Parse("2006-01-02T15:04:05.000000", entry.CreatedAt); err == nil {
					delays = append(delays, time.Since(t))
				}
			}
		case "done":
			finished = true
			return false
		}
		return true
	})
	return delays, finished, err
}

// streamEvents reads the event stream of run id as tok, decoding it with
// launchdarkly/eventsource, and calls fn with each named event until fn
// returns false or the stream ends. (The Decoder hands over the block that
// holds only the retry hint as an unnamed event; it is skipped.) It returns
// nil at the stream's end or when fn stops it, else the error that ended
// it. It reads until the Decoder's reading goroutine has ended, which it
// does only on a read error, so that none is left behind.
func streamEvents(ctx context.Context, tr http.RoundTripper, base string, id int64, tok string, fn func(eventsource.Event) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/agent-runs/%d/logs/stream", base, id), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	dec := eventsource.NewDecoder(resp.Body)
	stopped := false
	for {
		ev, err := dec.Decode()
		switch {
		case err == io.EOF || err != nil && stopped:
			return nil
		case err != nil:
			return err
		case !stopped && ev.Event() != "" && !fn(ev):
			stopped = true
			cancel() // the read fails, and the Decoder's goroutine ends
		}
	}
}

// pct returns the p-th percentile of sorted ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := (len(ds) - 1) * p / 100
	return ds[i]
}
