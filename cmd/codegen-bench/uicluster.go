package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// runUICluster runs the UI workload for each tab count through one
// codegen-proxy alone and, at the same time with another token, through
// o.replicas replicas that share one redis-server (REDIS_URL) behind nginx
// balancing round robin, against the rate-limited sandbox, and writes a
// Markdown table. The shared mode's claim is that the replicas together
// cost the upstream about what one replica does.
func runUICluster(ctx context.Context, o uiOpts, w io.Writer) error {
	up, ln, stopUp, err := startLimitedSandbox()
	if err != nil {
		return err
	}
	defer stopUp()
	upURL := "http://" + ln.Addr().String()
	env := []string{"CODEGEN_BASE_URL=" + upURL + "/v1", "CODEGEN_ORG_ID=323", "LOG_FORMAT=json"}
	one, err := startReplica(o, "codegen-proxy-ui-one", env)
	if err != nil {
		return err
	}
	defer one.stop()
	redisAddr, err := freeAddr()
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(redisAddr, ":")
	rs, err := startProc(o.dir, "redis-server", redisAddr, nil, "redis-server",
		"--port", port, "--bind", host, "--save", "", "--appendonly", "no", "--dir", o.dir)
	if err != nil {
		return err
	}
	defer rs.stop()
	var addrs []string
	for i := range o.replicas {
		p, err := startReplica(o, fmt.Sprintf("codegen-proxy-ui-replica-%d", i+1), append(env, "REDIS_URL=redis://"+redisAddr+"/0"))
		if err != nil {
			return err
		}
		defer p.stop()
		addrs = append(addrs, p.addr)
	}
	lb, err := startBalancer(filepath.Join(o.dir, "balancer"), addrs)
	if err != nil {
		return err
	}
	defer lb.stop()

	shared := fmt.Sprintf("%d replicas + nginx", o.replicas)
	fmt.Fprintf(w, "\nUI workload through %d replicas sharing one redis-server behind nginx (round robin), beside one replica alone: K tabs of one token, each polling the run list every %s and one live run every %s, with that run's log stream open; %s per row; the upstream is the sandbox with the documented per-token limits.\n\n",
		o.replicas, o.listEvery, o.runEvery, o.duration)
	fmt.Fprintln(w, "| Tabs | Through | client requests | client non-2xx | stream log events per tab (min-max of want) | largest Age | upstream calls/min | of which log reads/min | upstream 429s |")
	fmt.Fprintln(w, "|---:|---|---:|---|---|---:|---:|---:|---:|")
	for _, k := range o.ks {
		var wg sync.WaitGroup
		results := map[string]*uiResult{}
		logReads := map[string]int{}
		var mu sync.Mutex
		for _, target := range []string{"1 replica", shared} {
			tok := fmt.Sprintf("bench-ui-cluster-%d-%d-%d", len(results), k, time.Now().UnixNano())
			base := "http://" + one.addr
			if target == shared {
				base = "http://" + lb.addr
			}
			res := &uiResult{nonOK: map[int]int{}}
			results[target] = res
			wg.Go(func() {
				if err := uiRound(ctx, o, upURL, base, "", tok, k, true, res); err != nil {
					fmt.Fprintln(w, "round failed:", target, k, err)
				}
				res.upCalls, res.up429s = up.counts(tok)
				mu.Lock()
				logReads[target] = up.logReadsOf(tok)
				mu.Unlock()
			})
		}
		wg.Wait()
		for _, target := range []string{"1 replica", shared} {
			r := results[target]
			cells := uiCells(o, k, target, r)
			n := len(cells) // the log reads go before the 429s
			cells = append(cells[:n-1], fmt.Sprintf("%.1f", float64(logReads[target])/o.duration.Minutes()), cells[n-1])
			fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
		}
	}
	return nil
}

// startReplica starts codegen-proxy on a free port with env.
func startReplica(o uiOpts, name string, env []string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startProc(o.dir, name, addr, append([]string{"PORT=" + strings.Split(addr, ":")[1]}, env...), o.proxyBin)
}

// startBalancer starts nginx in dir balancing round robin over addrs, with
// SSE unbuffered, as deploy/nginx.conf does.
func startBalancer(dir string, addrs []string) (*proc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var servers strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&servers, "    server %s;\n", a)
	}
	conf := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log %[1]s/nginx-access.log;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s;
  upstream codegen_proxy {
%[2]s    keepalive 32;
  }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://codegen_proxy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`, dir, servers.String(), addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startProc(dir, "nginx", addr, nil, "nginx", "-p", dir, "-c", path, "-g", "daemon off;")
}
