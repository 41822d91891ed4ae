package main

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"golang.org/x/net/http/httpproxy"
)

// upstreamPools returns the constructor of the Codegen client's per-token
// Transports: codegen.NewTokenTransport, speaking through the HTTP proxy
// that getenv names (HTTPS_PROXY, HTTP_PROXY and NO_PROXY, in either case,
// as curl and Go read them; never for loopback addresses, so not to the
// sandbox) and waiting for answer headers at least as long as one call may
// last. viaProxy reports whether a proxy is named. The environment is read
// once, here.
func upstreamPools(getenv func(string) string, callTimeout time.Duration) (newPool func() *http.Transport, viaProxy bool) {
	either := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return getenv(strings.ToLower(name))
	}
	cfg := httpproxy.Config{HTTPProxy: either("HTTP_PROXY"), HTTPSProxy: either("HTTPS_PROXY"), NoProxy: either("NO_PROXY")}
	proxyFor := cfg.ProxyFunc()
	proxy := func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) }
	newPool = func() *http.Transport {
		tr := codegen.NewTokenTransport()
		tr.Proxy = proxy
		tr.ResponseHeaderTimeout = max(tr.ResponseHeaderTimeout, callTimeout+time.Second)
		return tr
	}
	return newPool, cfg.HTTPProxy != "" || cfg.HTTPSProxy != ""
}
