package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bodiesOpts configure `codegen-bench bodies`.
type bodiesOpts struct {
	proxyBin   string
	size       int
	concurrent int
	shapes     []string
	sandbox    bool
	dir        string
}

func parseBodiesOpts(args []string) (bodiesOpts, error) {
	o := bodiesOpts{}
	fs := flag.NewFlagSet("bodies", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary to measure")
	fs.IntVar(&o.size, "size", 32<<20-64, "bytes of each body (MAX_BODY_BYTES is 32 MiB by default)")
	fs.IntVar(&o.concurrent, "concurrent", 8, "bodies sent at once in the second round")
	shapes := fs.String("shapes", "metadata,image,prompt", "bodies to send: metadata (many small entries), image (one data URI), prompt (one long string)")
	fs.BoolVar(&o.sandbox, "sandbox", false, "run the proxy in sandbox mode, whose sandbox also reads the forwarded body, instead of against an upstream that discards it")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.shapes = strings.Split(*shapes, ",")
	for _, s := range o.shapes {
		if !slices.Contains([]string{"metadata", "image", "prompt"}, s) {
			return o, fmt.Errorf("unknown shape %q", s)
		}
	}
	return o, nil
}

// runBodies is `codegen-bench bodies`: the proxy's peak resident memory
// while it handles one largest create body, then o.concurrent at once. Each
// round has a fresh proxy process, so its VmHWM (peak RSS since start) is
// the round's peak.
func runBodies(ctx context.Context, o bodiesOpts, w io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var up *proc
	if !o.sandbox {
		if up, err = startUpstream(o.dir, self, 0); err != nil {
			return err
		}
		defer up.stop()
	}
	fmt.Fprintf(w, "\n### Request bodies: peak RSS of the proxy (%s, bodies of %s)\n\n", mode(o.sandbox), mib(int64(o.size)))
	fmt.Fprintln(w, "| Body | Sent at once | Answers | RSS before | Peak RSS (VmHWM) | Peak − before | ÷ body size per accepted body |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|")
	for _, shape := range o.shapes {
		body := bodyOfShape(shape, o.size)
		for _, n := range []int{1, o.concurrent} {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := bodiesRound(ctx, o, up, body, n)
			if err != nil {
				return fmt.Errorf("%s x%d: %w", shape, n, err)
			}
			grew := r.peak - r.before
			per := "—"
			if r.accepted > 0 {
				per = fmt.Sprintf("%.2f", float64(grew)/float64(r.accepted)/float64(len(body)))
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", shape, n, r.answers, mib(r.before), mib(r.peak), mib(grew), per)
		}
	}
	return nil
}

func mode(sandbox bool) string {
	if sandbox {
		return "sandbox mode"
	}
	return "upstream that discards the body"
}

// bodiesResult is one round's figures.
type bodiesResult struct {
	before, peak int64
	accepted     int    // answers other than 503
	answers      string // status counts, such as "4×200 4×503"
}

// bodiesRound starts a proxy, sends it n copies of body at once and
// returns its memory before and at its peak.
func bodiesRound(ctx context.Context, o bodiesOpts, up *proc, body []byte, n int) (bodiesResult, error) {
	addr, err := freeAddr()
	if err != nil {
		return bodiesResult{}, err
	}
	env := []string{"PORT=" + strings.Split(addr, ":")[1], "LOG_FORMAT=json", "SANDBOX_RATE_LIMITS=false", "UPSTREAM_BUDGET=false"}
	var args []string
	if o.sandbox {
		args = []string{"--sandbox"}
	} else {
		env = append(env, "CODEGEN_BASE_URL=http://"+up.addr+"/v1", "CODEGEN_ORG_ID=323")
	}
	cp, err := startProc(o.dir, "codegen-proxy-bodies", addr, env, o.proxyBin, args...)
	if err != nil {
		return bodiesResult{}, err
	}
	defer cp.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	url := "http://" + addr + "/agent-runs"
	if _, err := postBody(ctx, client, url, []byte(`{"prompt":"warm up"}`)); err != nil {
		return bodiesResult{}, err
	}
	res := bodiesResult{before: procStatus(cp, "VmRSS")}
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i], errs[i] = postBody(ctx, client, url, body) })
	}
	wg.Wait()
	res.peak = procStatus(cp, "VmHWM")
	counts := map[string]int{}
	for i, s := range statuses {
		switch {
		case errs[i] != nil && ctx.Err() != nil:
			return res, ctx.Err()
		case errs[i] != nil: // a failure is a figure too, such as a proxy too slow to answer
			counts["no answer ("+errs[i].Error()+")"]++
		default:
			counts[strconv.Itoa(s)]++
		}
		if s != http.StatusServiceUnavailable {
			res.accepted++
		}
	}
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d×%s", counts[s], s))
	}
	res.answers = strings.Join(parts, " ")
	return res, nil
}

// postBody creates a run with body and returns the answer's status.
func postBody(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer bench-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
	return resp.StatusCode, nil
}

// bodyOfShape returns a valid create body of exactly size bytes (or a few
// more for the smallest sizes).
func bodyOfShape(shape string, size int) []byte {
	b := make([]byte, 0, size)
	switch shape {
	case "image":
		b = append(b, `{"prompt":"Describe this image","images":["data:image/png;base64,`...)
		b = append(b, bytes.Repeat([]byte("A"), max(size-len(b)-3, 0))...)
		return append(b, `"]}`...)
	case "prompt":
		b = append(b, `{"prompt":"`...)
		b = append(b, bytes.Repeat([]byte("fix it "), max(size-len(b)-2, 0)/7)...)
		b = append(b, bytes.Repeat([]byte(" "), max(size-len(b)-2, 0))...)
		return append(b, `"}`...)
	}
	// Many small entries: the shape that cost the most as map[string]any.
	b = append(b, `{"prompt":"Tag these","metadata":{`...)
	const entry = `{"n":123,"s":"abcdefgh","l":[1,2.5,true,null]}`
	for i := 0; len(b)+len(entry)+32 < size; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"k`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":`...)
		b = append(b, entry...)
	}
	b = append(b, `,"pad":"`...)
	b = append(b, bytes.Repeat([]byte("x"), max(size-len(b)-3, 0))...)
	return append(b, `"}}`...)
}

// procStatus returns a memory figure of /proc/PID/status, such as VmRSS
// (resident now) or VmHWM (the peak resident since the process started), in
// bytes; 0 if it cannot be read.
func procStatus(p *proc, field string) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// mib formats bytes in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
