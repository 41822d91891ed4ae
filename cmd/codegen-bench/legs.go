package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Names of the legs the report compares codegen-proxy with.
const (
	legDirect       = "direct"
	legNginx        = "nginx"
	legReverseProxy = "ReverseProxy"
	legProxy        = "codegen-proxy"
)

// startLegs starts the upstream, nginx (when installed), a bare
// httputil.ReverseProxy and codegen-proxy. The ReverseProxy gets the proxy's
// extra environment too, so that settings such as GOMAXPROCS apply to both.
func startLegs(o httpOpts, self string, lat time.Duration) ([]leg, func(), error) {
	var procs []*proc
	stop := func() {
		for _, p := range slices.Backward(procs) {
			p.stop()
		}
	}
	up, err := startUpstream(o.dir, self, lat)
	if err != nil {
		return nil, stop, err
	}
	procs = append(procs, up)
	legs := []leg{{name: legDirect, addr: up.addr}}
	if _, err := exec.LookPath("nginx"); err == nil {
		ng, err := startNginx(o.dir, up.addr)
		if err != nil {
			stop()
			return nil, stop, err
		}
		procs = append(procs, ng)
		legs = append(legs, leg{name: legNginx, addr: ng.addr, hop: ng})
	}
	rpAddr, err := freeAddr()
	if err != nil {
		stop()
		return nil, stop, err
	}
	rp, err := startProc(o.dir, "reverseproxy", rpAddr, o.proxyEnv, self, "reverseproxy", "--addr", rpAddr, "--upstream", up.addr)
	if err != nil {
		stop()
		return nil, stop, err
	}
	procs = append(procs, rp)
	legs = append(legs, leg{name: legReverseProxy, addr: rp.addr, proxied: true, hop: rp})
	addr, err := freeAddr()
	if err != nil {
		stop()
		return nil, stop, err
	}
	env := append([]string{"PORT=" + strings.Split(addr, ":")[1], "CODEGEN_BASE_URL=http://" + up.addr + "/v1",
		"CODEGEN_ORG_ID=323", "LOG_FORMAT=json",
		// The bare hop, as the other legs make it: no read from the cache,
		// no pacing of the bench's one token to the API's limits.
		"UPSTREAM_BUDGET=false", "READ_CACHE=false"}, o.proxyEnv...)
	cp, err := startProc(o.dir, "codegen-proxy", addr, env, o.proxyBin)
	if err != nil {
		stop()
		return nil, stop, err
	}
	procs = append(procs, cp)
	legs = append(legs, leg{name: legProxy, addr: cp.addr, proxied: true, hop: cp})
	return legs, stop, nil
}

func startUpstream(dir, self string, lat time.Duration) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startProc(dir, "upstream", addr, nil, self, "upstream", "--addr", addr, "--latency", lat.String())
}

// startNginx runs nginx as a plain reverse proxy with keep-alive to the
// upstream and its default access log, as a reference.
func startNginx(dir, upstream string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log %[1]s/nginx-access.log;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s;
  upstream codegen { server %[2]s; keepalive 256; }
  server {
    listen %[3]s;
    location / { proxy_pass http://codegen; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`, dir, upstream, addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startProc(dir, "nginx", addr, nil, "nginx", "-p", dir, "-c", path, "-g", "daemon off;")
}
