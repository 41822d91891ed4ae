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

// uiOpts configures the UI workload: K browser tabs of one token, each
// polling the run list and one run, with that run's log stream open.
type uiOpts struct {
	dir, proxyBin       string
	ks                  []int
	replicas            int // if above 1, the shared mode through a balancer: see runUICluster
	duration            time.Duration
	listEvery, runEvery time.Duration
}

func parseUIOpts(args []string) (uiOpts, error) {
	o := uiOpts{}
	fs := flag.NewFlagSet("uiload", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary")
	ks := fs.String("tabs", "1,5,20", "comma list of tab counts")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long each tab count runs")
	fs.DurationVar(&o.listEvery, "list-every", 5*time.Second, "each tab's run list poll interval")
	fs.DurationVar(&o.runEvery, "run-every", 3*time.Second, "each tab's run poll interval")
	fs.IntVar(&o.replicas, "replicas", 0, "if above 1: compare one replica with this many sharing a redis-server behind nginx")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*ks, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k < 1 {
			return o, fmt.Errorf("-tabs: %q", s)
		}
		o.ks = append(o.ks, k)
	}
	return o, nil
}

// startLimitedSandbox serves a limitedSandbox on a loopback listener
// until stop is called.
func startLimitedSandbox() (*limitedSandbox, net.Listener, func(), error) {
	up := &limitedSandbox{sb: sandbox.New(sandbox.Options{RateLimits: true}), calls: map[string]int{}, tooMany: map[string]int{},
		logReads: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	srv := &http.Server{Handler: up, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // closed by stop
	return up, ln, func() { srv.Close() }, nil
}

// limitedSandbox is the upstream: the sandbox with the API's documented
// per-token limits, counting calls and 429s per token.
type limitedSandbox struct {
	sb       http.Handler
	mu       sync.Mutex
	calls    map[string]int // by token
	tooMany  map[string]int
	logReads map[string]int
}

func (s *limitedSandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.sb.ServeHTTP(rec, r)
	tok := r.Header.Get("Authorization")
	s.mu.Lock()
	s.calls[tok]++
	if strings.HasSuffix(r.URL.Path, "/logs") {
		s.logReads[tok]++
	}
	if rec.status == http.StatusTooManyRequests {
		s.tooMany[tok]++
	}
	s.mu.Unlock()
}

func (s *limitedSandbox) counts(tok string) (calls, tooMany int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls["Bearer "+tok], s.tooMany["Bearer "+tok]
}

func (s *limitedSandbox) logReadsOf(tok string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logReads["Bearer "+tok]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// uiResult is what one target measured for one tab count.
type uiResult struct {
	requests        atomic.Int64
	mu              sync.Mutex
	nonOK           map[int]int
	events          []int // log events per tab
	maxAge          int   // largest Age header seen, seconds
	upCalls, up429s int
}

// runUILoad runs the UI workload for each tab count through codegen-proxy
// and through nginx (REST only), against the rate-limited sandbox, and
// writes a Markdown table.
func runUILoad(ctx context.Context, o uiOpts, w io.Writer) error {
	if o.replicas > 1 {
		return runUICluster(ctx, o, w)
	}
	up, ln, stop, err := startLimitedSandbox()
	if err != nil {
		return err
	}
	defer stop()
	upURL := "http://" + ln.Addr().String()
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cp, err := startProc(o.dir, "codegen-proxy-ui", addr, []string{"PORT=" + strings.Split(addr, ":")[1],
		"CODEGEN_BASE_URL=" + upURL + "/v1", "CODEGEN_ORG_ID=323", "LOG_FORMAT=json"}, o.proxyBin)
	if err != nil {
		return err
	}
	defer cp.stop()
	ng, err := startNginx(o.dir, ln.Addr().String())
	if err != nil {
		return err
	}
	defer ng.stop()

	fmt.Fprintf(w, "\nUI workload: K tabs of one token, each polling the run list every %s and one live run every %s, with that run's log stream open (codegen-proxy only); %s per row; the upstream is the sandbox with the documented per-token limits.\n\n",
		o.listEvery, o.runEvery, o.duration)
	fmt.Fprintln(w, "| Tabs | Through | client requests | client non-2xx | stream log events per tab (min-max of want) | largest Age | upstream calls/min | upstream 429s |")
	fmt.Fprintln(w, "|---:|---|---:|---|---|---:|---:|---:|")
	for _, k := range o.ks {
		var wg sync.WaitGroup
		results := map[string]*uiResult{}
		for _, target := range []string{"codegen-proxy", "nginx"} {
			tok := fmt.Sprintf("bench-ui-%s-%d-%d", target, k, time.Now().UnixNano())
			base, prefix := "http://"+cp.addr, ""
			if target == "nginx" {
				base, prefix = "http://"+ng.addr, "/v1/organizations/323"
			}
			res := &uiResult{nonOK: map[int]int{}}
			results[target] = res
			wg.Go(func() {
				if err := uiRound(ctx, o, upURL, base, prefix, tok, k, target == "codegen-proxy", res); err != nil {
					fmt.Fprintln(w, "round failed:", target, k, err)
				}
				res.upCalls, res.up429s = up.counts(tok)
			})
		}
		wg.Wait()
		for _, target := range []string{"codegen-proxy", "nginx"} {
			writeUIRow(w, o, k, target, results[target])
		}
	}
	return nil
}

// uiLogs is how many log entries the live run writes.
const uiLogs = 40

func writeUIRow(w io.Writer, o uiOpts, k int, target string, r *uiResult) {
	fmt.Fprintln(w, "| "+strings.Join(uiCells(o, k, target, r), " | ")+" |")
}

// uiCells are a row's cells: tabs, target, requests, non-2xx, events, Age,
// upstream calls a minute and upstream 429s.
func uiCells(o uiOpts, k int, target string, r *uiResult) []string {
	var codes []string
	for code, n := range r.nonOK {
		codes = append(codes, fmt.Sprintf("%d: %d", code, n))
	}
	slices.Sort(codes)
	nonOK, events := "none", "n/a"
	if len(codes) > 0 {
		nonOK = strings.Join(codes, ", ")
	}
	if len(r.events) > 0 {
		events = fmt.Sprintf("%d-%d of %d", slices.Min(r.events), slices.Max(r.events), uiLogs)
	}
	return []string{strconv.Itoa(k), target, strconv.FormatInt(r.requests.Load(), 10), nonOK, events,
		fmt.Sprintf("%d s", r.maxAge), fmt.Sprintf("%.1f", float64(r.upCalls)/o.duration.Minutes()), strconv.Itoa(r.up429s)}
}

// uiRound creates a live run (directly upstream, not counted against the
// round's token) and runs k tabs for o.duration.
func uiRound(ctx context.Context, o uiOpts, upURL, base, prefix, tok string, k int, streams bool, res *uiResult) error {
	step := o.duration / 12 // the run lives about 10 steps: most of the round
	id, err := createRunAt(ctx, upURL+"/v1/organizations/323/agent/run", "creator-"+tok,
		fmt.Sprintf("ui bench sandbox:logs=%d sandbox:step=%s", uiLogs, step))
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	listURL := base + prefix + "/agent-runs?limit=10"
	runURL := base + prefix + "/agent-runs/" + strconv.FormatInt(id, 10)
	if prefix != "" {
		listURL, runURL = base+prefix+"/agent/runs?limit=10", base+prefix+"/agent/run/"+strconv.FormatInt(id, 10)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	res.events = nil
	for tab := range k {
		offset := time.Duration(tab) * o.listEvery / time.Duration(k) // tabs opened at different moments
		wg.Go(func() { uiPoll(rctx, client, listURL, tok, o.listEvery, offset, res) })
		wg.Go(func() { uiPoll(rctx, client, runURL, tok, o.runEvery, offset, res) })
		if streams {
			wg.Go(func() {
				n := 0
				sctx, stop := context.WithTimeout(ctx, o.duration+20*time.Second) // the run ends within the round
				defer stop()
				streamEvents(sctx, tr, base, id, tok, func(ev eventsource.Event) bool { //nolint:errcheck // counted below
					if ev.Event() == "log" {
						n++
					}
					return ev.Event() != "done"
				})
				res.mu.Lock()
				res.events = append(res.events, n)
				res.mu.Unlock()
			})
		}
	}
	wg.Wait()
	return nil
}

// uiPoll reads url every interval, from offset on, until ctx ends.
func uiPoll(ctx context.Context, c *http.Client, url, tok string, every, offset time.Duration, res *uiResult) {
	t := time.NewTimer(offset)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(every)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			continue // the round ended
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained for reuse
		resp.Body.Close()
		res.requests.Add(1)
		age, _ := strconv.Atoi(resp.Header.Get("Age"))
		res.mu.Lock()
		if resp.StatusCode/100 != 2 {
			res.nonOK[resp.StatusCode]++
		}
		res.maxAge = max(res.maxAge, age)
		res.mu.Unlock()
	}
}

// createRunAt creates a run with tok at url and returns its id.
func createRunAt(ctx context.Context, url, tok, prompt string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"prompt":"`+prompt+`"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("creating the run: %d %s", resp.StatusCode, body)
	}
	var v struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return 0, err
	}
	return v.ID, nil
}
