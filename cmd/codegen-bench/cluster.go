package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
)

// clusterOpts configure `codegen-bench cluster`.
type clusterOpts struct {
	proxyBin    string
	subscribers int
	others      int // subscribers in the crash, stop and restart rows
	step        time.Duration
	logs        int
	dir         string
}

func parseClusterOpts(args []string) (clusterOpts, error) {
	o := clusterOpts{}
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary to measure")
	fs.IntVar(&o.subscribers, "subscribers", 300, "subscribers of one run spread over the 3 replicas")
	fs.IntVar(&o.others, "faults", 30, "subscribers in the crash, SIGTERM and Redis restart rows")
	fs.DurationVar(&o.step, "step", 1500*time.Millisecond, "time between the run's steps")
	fs.IntVar(&o.logs, "logs", 60, "log entries the run writes (over 10 steps)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.subscribers < 1 || o.others < 3 {
		return o, fmt.Errorf("-subscribers: want at least 1; -faults: at least 3")
	}
	return o, nil
}

// benchCluster is a redis-server, the counting sandbox and replicas of the
// proxy sharing through it, all child processes but the sandbox.
type benchCluster struct {
	o        clusterOpts
	up       *countingSandbox
	upURL    string
	redis    *proc
	redisArg []string
	replicas []*proc
}

// runCluster measures the shared mode (REDIS_URL) and writes Markdown.
func runCluster(ctx context.Context, o clusterOpts, w io.Writer) error {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return fmt.Errorf("cluster: redis-server is needed (apt-get install -y redis-server): %w", err)
	}
	up := &countingSandbox{sb: sandbox.New(sandbox.Options{})}
	upURL, stopUp, err := serveLoopback(up)
	if err != nil {
		return err
	}
	defer stopUp()
	prompt := fmt.Sprintf("bench sandbox:logs=%d sandbox:step=%s", o.logs, o.step)
	fmt.Fprintf(w, "\nOne live run per row: %d log entries over 10 steps of %s; STREAM_POLL_INTERVAL 2 s, lease TTL 3 s, Redis health checks every 1 s (the defaults). Subscribers are spread round robin over the replicas; one whose replica goes away reconnects to the next with Last-Event-ID, as EventSource behind a balancer does.\n\n", o.logs, o.step)
	fmt.Fprintln(w, "| Row | subscribers | upstream log reads | every position once (subscribers) | handover | log ids missing / repeated | non-2xx during the fault |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")

	single, err := startReplicas(ctx, o, up, upURL, 1, false)
	if err != nil {
		return err
	}
	r, err := single.follow(ctx, prompt, 1, nil)
	single.stop()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, r.row("1 replica, no Redis, 1 subscriber"))
	for _, row := range []struct {
		name  string
		n     int
		fault func(*benchCluster) faultResult
	}{
		{"3 replicas + Redis", o.subscribers, nil},
		{"SIGKILL of the lease holder mid-run", o.others, killHolder(syscall.SIGKILL)},
		{"SIGTERM of the lease holder mid-run", o.others, killHolder(syscall.SIGTERM)},
		{"Redis stopped 3 s mid-run, restarted empty", o.others, (*benchCluster).restartRedis},
	} {
		c, err := startReplicas(ctx, o, up, upURL, 3, true)
		if err != nil {
			return err
		}
		r, err := c.follow(ctx, prompt, row.n, row.fault)
		c.stop()
		if err != nil {
			return err
		}
		fmt.Fprintln(w, r.row(row.name))
	}
	return nil
}

// startReplicas starts n replicas of the proxy on up, and a redis-server
// for them if shared.
func startReplicas(ctx context.Context, o clusterOpts, up *countingSandbox, upURL string, n int, shared bool) (*benchCluster, error) {
	c := &benchCluster{o: o, up: up, upURL: upURL}
	env := []string{"CODEGEN_BASE_URL=" + upURL, "CODEGEN_ORG_ID=323", "LOG_FORMAT=json",
		"MAX_CONNECTIONS=8192", "STREAM_MAX=100000", "STREAM_MAX_PER_TOKEN=100000", "SHUTDOWN_TIMEOUT=5s"}
	if shared {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		host, port, _ := strings.Cut(addr, ":")
		c.redisArg = []string{"--port", port, "--bind", host, "--save", "", "--appendonly", "no"}
		if c.redis, err = startProc(o.dir, "redis", addr, nil, "redis-server", c.redisArg...); err != nil {
			return nil, err
		}
		env = append(env, "REDIS_URL=redis://"+addr+"/0")
	}
	for i := range n {
		addr, err := freeAddr()
		if err != nil {
			c.stop()
			return nil, err
		}
		p, err := startProc(o.dir, fmt.Sprintf("replica-%d", i), addr,
			append(env, "PORT="+strings.Split(addr, ":")[1]), o.proxyBin)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.replicas = append(c.replicas, p)
		if err := waitHealthy(ctx, "http://"+addr+"/health"); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *benchCluster) stop() {
	for _, p := range c.replicas {
		p.stop()
	}
	if c.redis != nil {
		c.redis.stop()
	}
}

// faultResult is what a fault measured: the time until another replica
// held the lease, and the answers of 5xx seen meanwhile.
type faultResult struct {
	handover time.Duration
	bad      int
	err      error
}

// killHolder sends sig to the replica that holds the run's lease, and
// measures the time until another one takes it over (its takeovers
// counter moves: a gauge of leases held could be missed between scrapes).
func killHolder(sig syscall.Signal) func(*benchCluster) faultResult {
	return func(c *benchCluster) faultResult {
		holder := -1
		for i, p := range c.replicas {
			if metric(p.addr, "codegen_proxy_cluster_leases_held") > 0 {
				holder = i
			}
		}
		if holder < 0 {
			return faultResult{err: fmt.Errorf("no replica holds a lease")}
		}
		takeovers := func() (n float64) {
			for i, p := range c.replicas {
				if i != holder {
					n += metric(p.addr, "codegen_proxy_cluster_lease_takeovers_total")
				}
			}
			return n
		}
		before, start := takeovers(), time.Now()
		c.replicas[holder].signal(sig)
		for time.Since(start) < 30*time.Second {
			if takeovers() > before {
				return faultResult{handover: time.Since(start)}
			}
			time.Sleep(5 * time.Millisecond)
		}
		return faultResult{err: fmt.Errorf("no replica took the lease over within 30 s")}
	}
}

// restartRedis stops the redis-server for 3 s, asking every replica for
// /ready and a new stream meanwhile, and starts it again, empty.
func (c *benchCluster) restartRedis() faultResult {
	c.redis.signal(syscall.SIGKILL)
	var res faultResult
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		for _, p := range c.replicas {
			if !p.alive() {
				continue
			}
			for _, path := range []string{"/ready", "/agent-runs?limit=1"} {
				req, _ := http.NewRequest("GET", "http://"+p.addr+path, nil)
				req.Header.Set("Authorization", "Bearer sk-bench")
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode >= 500 {
					res.bad++
				}
				if err == nil {
					resp.Body.Close()
				}
			}
		}
	}
	var err error
	if c.redis, err = startProc(c.o.dir, "redis", c.redis.addr, nil, "redis-server", c.redisArg...); err != nil {
		res.err = err
	}
	return res
}

// metric reads a metric without labels from a replica's /metrics; 0 if it
// is not there or the replica does not answer.
func metric(addr, name string) float64 {
	client := http.Client{Timeout: time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var n float64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

// signal sends sig to the process group, and for SIGKILL waits for it to
// be gone.
func (p *proc) signal(sig syscall.Signal) {
	syscall.Kill(-p.cmd.Process.Pid, sig) //nolint:errcheck // it may be gone
}

func (p *proc) alive() bool { return syscall.Kill(-p.cmd.Process.Pid, 0) == nil }

// serveLoopback serves h on a loopback port and returns its /v1 URL.
func serveLoopback(h http.Handler) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.ListenAndServe() }() //nolint:errcheck // closed below
	if err := waitListening(addr, 5*time.Second); err != nil {
		return "", nil, err
	}
	return "http://" + addr + "/v1", func() { srv.Close(); wg.Wait() }, nil
}
