package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/launchdarkly/eventsource"

	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
)

// runLateJoin measures the proxy's memory per subscriber when K subscribers
// join a PAUSED run of o.lateLogs entries from position 0, each reading the
// whole history (older entries than the proxy keeps are read again from
// upstream) and then staying connected. The per-token limits are lifted so
// that one token can open every stream and refetch at once.
func runLateJoin(ctx context.Context, o streamOpts, w io.Writer) error {
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
	pprofAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cp, err := startProc(o.dir, "codegen-proxy-late", addr, []string{"PORT=" + strings.Split(addr, ":")[1],
		"CODEGEN_BASE_URL=http://" + ln.Addr().String() + "/v1", "CODEGEN_ORG_ID=323", "LOG_FORMAT=json",
		"STREAM_LOGS_BUDGET=1000000", "STREAM_MAX_PER_TOKEN=100000", "STREAM_MAX=100000", "PPROF_ADDR=" + pprofAddr}, o.proxyBin)
	if err != nil {
		return err
	}
	defer cp.stop()

	fmt.Fprintf(w, "\nLate joiners: each subscriber streams a PAUSED run of %d logs from position 0, then stays connected. "+
		"Heap and goroutine stacks in use after a GC (pprof), and RSS, less a warm baseline (the poller and one subscriber), per subscriber.\n\n", o.lateLogs)
	fmt.Fprintln(w, "| Subscribers | got every log | upstream log reads | heap + stacks per subscriber | RSS per subscriber |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
	for _, k := range o.ks {
		if err := measureLate(ctx, o, cp, up, pprofAddr, k, w); err != nil {
			return err
		}
	}
	return nil
}

func measureLate(ctx context.Context, o streamOpts, cp *proc, up *countingSandbox, pprofAddr string, k int, w io.Writer) error {
	base := "http://" + cp.addr
	id, err := createRun(ctx, base, fmt.Sprintf("late sandbox:PAUSED sandbox:logs=%d sandbox:step=1ms", o.lateLogs))
	if err != nil {
		return err
	}
	if err := waitStatus(ctx, base, id, "PAUSED"); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	var all, streams sync.WaitGroup
	var complete atomic.Int32
	open := func(n int) {
		all.Add(n)
		gate := make(chan struct{}, 100) // dial at most 100 at once
		for range n {
			streams.Add(1)
			go func() {
				defer streams.Done()
				gate <- struct{}{}
				var once sync.Once
				reached := func() { once.Do(func() { <-gate; all.Done() }) }
				if lateSubscribe(sctx, tr, base, id, o.lateLogs, func() { complete.Add(1); reached() }) != nil {
					reached()
				}
			}()
		}
		all.Wait()
	}
	open(1) // the poller and one subscriber: the baseline
	heap0, rss0 := heapInuse(pprofAddr), cp.rss()
	logs0 := up.logs.Load()
	open(k)
	heap1, rss1 := heapInuse(pprofAddr), cp.rss()
	fmt.Fprintf(w, "| %d | %d | %d | %.1f KiB | %.1f KiB |\n", k, complete.Load()-1, up.logs.Load()-logs0,
		float64(heap1-heap0)/float64(k)/1024, float64(rss1-rss0)/float64(k)/1024)
	cancel()
	streams.Wait()
	time.Sleep(2 * time.Second) // the poller lingers, then stops
	return nil
}

// lateSubscribe streams run id from the start and calls got once it has
// received n logs at positions 0..n-1 in order; then it reads on until ctx
// ends.
func lateSubscribe(ctx context.Context, tr http.RoundTripper, base string, id int64, n int, got func()) error {
	next := 0
	var bad error
	err := streamEvents(ctx, tr, base, id, "sk-bench", func(ev eventsource.Event) bool {
		if ev.Event() != "log" {
			return true
		}
		if p, err := strconv.Atoi(ev.Id()); err != nil || p != next {
			bad = fmt.Errorf("log %q after %d", ev.Id(), next-1)
			return false
		}
		if next++; next == n {
			got()
		}
		return true
	})
	switch {
	case bad != nil:
		return bad
	case next < n && err != nil:
		return err
	case next < n:
		return fmt.Errorf("only %d logs", next)
	}
	return nil
}

// waitStatus polls run id until it has status.
func waitStatus(ctx context.Context, base string, id int64, status string) error {
	for range 600 {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/agent-runs/%d", base, id), nil)
		req.Header.Set("Authorization", "Bearer sk-bench")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var run struct{ Status string }
		err = json.NewDecoder(resp.Body).Decode(&run)
		resp.Body.Close()
		if err == nil && run.Status == status {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("run %d never reached %s", id, status)
}

// heapInuse asks the proxy's pprof endpoint to collect garbage and returns
// HeapInuse plus StackInuse (goroutine stacks) from its report; 0 if it
// cannot be read.
func heapInuse(addr string) int64 {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var total int64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for _, field := range []string{"# HeapInuse = ", "# StackInuse = "} {
			if v, ok := strings.CutPrefix(sc.Text(), field); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				total += n
			}
		}
	}
	return total
}
