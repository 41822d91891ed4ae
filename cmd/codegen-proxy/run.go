package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/cluster"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/connlimit"
	"github.com/codegen-proxy/codegen-proxy/internal/metrics"
	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
	"github.com/codegen-proxy/codegen-proxy/internal/server"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// run is the whole program: it loads the settings, wires the upstream
// client, the stream hub and the server, and serves until ctx ends, then
// shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	started := time.Now()
	cfg, err := config.Load(args, getenv, stdout) // --help prints to stdout
	if err != nil {
		return err
	}
	if cfg.ShowVersion {
		fmt.Fprintln(stdout, "codegen-proxy", buildVersion())
		return nil
	}
	if cfg.HealthCheck {
		return healthCheck(ctx, cfg.Addr)
	}
	logs := newLogWriter(stderr, 32<<10, 100*time.Millisecond)
	defer logs.Close()
	logger := newLogger(cfg, logs)
	limitConnections(&cfg, logger)

	baseURL := cfg.BaseURL
	if cfg.Sandbox {
		url, stop, err := startSandbox(cfg, logger)
		if err != nil {
			return err
		}
		defer stop()
		baseURL = url
	}
	m := metrics.New(buildVersion(), cfg.Mode())
	newPool, viaProxy := upstreamPools(getenv, cfg.UpstreamTimeout)
	if viaProxy && !cfg.Sandbox {
		logger.Info("calling the Codegen API through the HTTP proxy the environment names")
	}
	shared, err := startShared(cfg, m, logger)
	if err != nil {
		return err
	}
	var cc *cluster.Client // the budget's and the read cache's, when shared
	if shared != nil {
		cc = shared.Client
		defer shared.Client.Close() // after the hub's Close, which gives its leases up
	}
	client := &codegen.Client{BaseURL: baseURL, NewPool: newPool, MaxPools: cfg.UpstreamPools, MaxInFlightBytes: cfg.MaxInflightAnswerBytes,
		Timeout: cfg.UpstreamTimeout, RequestID: server.RequestID, Observe: m.ObserveUpstream, Budget: newBudget(cfg, m, cc)}
	defer client.CloseIdleConnections()
	streams := &stream.Hub{Client: client, Interval: cfg.StreamPoll, Budget: cfg.LogsBudget, Logger: logger,
		MaxPerToken: cfg.StreamMaxPerToken, MaxStreams: cfg.StreamMax, HistoryEntries: cfg.StreamHistoryEntries, HistoryBytes: cfg.StreamHistoryBytes,
		FeedRuns: cfg.FeedRuns, FeedHistoryEntries: cfg.FeedHistoryEntries, FeedHistoryBytes: cfg.FeedHistoryBytes}
	if shared != nil {
		streams.Shared = shared
	}
	defer streams.Close()
	m.WatchStreams(streams)
	handler, err := server.NewServer(server.Deps{
		Logger: logger, Config: cfg, Client: client, Streams: streams, Metrics: m, Version: buildVersion(), Started: started,
		Cache:  newCache(cfg, m, cc),
		Shared: sharedReady(shared),
	})
	if err != nil {
		return err
	}
	return listenAndServe(ctx, cfg, handler, streams, baseURL, logger)
}

// startShared connects to REDIS_URL, if set, for the replicas' shared
// streams, budget and read cache, and registers the shared mode's metrics. It does not wait for
// Redis: a replica that cannot reach it works alone and reports degraded
// until it can. It returns nil without REDIS_URL.
func startShared(cfg config.Config, m *metrics.Metrics, logger *slog.Logger) (*cluster.StreamShare, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	cluster.SetRedisLogger(logger)
	cm := cluster.NewMetrics()
	if err := m.Register(cm.Collectors()...); err != nil {
		return nil, err
	}
	cc, err := cluster.New(cluster.Options{URL: cfg.RedisURL, Timeout: cfg.RedisTimeout, Logger: logger, Metrics: cm})
	if err != nil {
		return nil, err
	}
	logger.Info("shared mode: replicas share stream pollers, histories, the per-token budget and the read cache through Redis", "redis_timeout", cfg.RedisTimeout.String())
	return &cluster.StreamShare{Client: cc, Logs: &cluster.History{Client: cc, MaxLen: cfg.StreamHistoryEntries},
		Feed: &cluster.History{Client: cc, MaxLen: cfg.FeedHistoryEntries}}, nil
}

// sharedReady is what /ready reports of the shared mode, or nil without it.
func sharedReady(s *cluster.StreamShare) func() error {
	if s == nil {
		return nil
	}
	return s.Client.Ready
}

// listenAndServe opens the profiles' listener if asked for and the API's,
// bounded to cfg.MaxConnections, and serves handler until ctx ends. Open
// streams end with an event telling clients to reconnect.
func listenAndServe(ctx context.Context, cfg config.Config, handler http.Handler, streams *stream.Hub, upstream string, logger *slog.Logger) error {
	if cfg.PprofAddr != "" {
		stop, err := servePprof(cfg.PprofAddr, cfg.PprofAllowRemote, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	tcp, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	ln := connlimit.New(tcp, cfg.MaxConnections)
	srv := newHTTPServer(handler, cfg.IdleTimeout, logger)
	srv.ConnState = ln.ConnState
	srv.RegisterOnShutdown(streams.Shutdown)
	logger.Info("listening", "addr", "http://"+tcp.Addr().String(), "upstream", upstream, "version", buildVersion(),
		"max_connections", cfg.MaxConnections, "stream_max", cfg.StreamMax)
	if !web.HasRedoc() {
		logger.Warn(web.MissingRedocHint)
	}
	return serve(ctx, srv, ln, cfg.ShutdownTimeout, logger)
}

// startSandbox serves the built-in Codegen API look-alike on a loopback port
// and returns its base URL, so that sandbox mode runs the same client code as
// production. stop closes it.
func startSandbox(cfg config.Config, logger *slog.Logger) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("starting the sandbox: %w", err)
	}
	sb := sandbox.New(sandbox.Options{Step: cfg.SandboxStep, RateLimits: cfg.SandboxRateLimits})
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) //nolint:errcheck // always ErrServerClosed, after stop
	}()
	logger.Warn("SANDBOX MODE: serving a built-in look-alike of the Codegen API; any bearer token works (try Authorization: Bearer sandbox). " +
		"Set CODEGEN_API_TOKEN or CODEGEN_BASE_URL to use the real API.")
	return "http://" + ln.Addr().String() + "/v1", func() { srv.Close(); <-done }, nil
}

// servePprof serves Go's profiles on addr, apart from the API, until stop.
// It does not serve /debug/pprof/cmdline: the command line may hold
// --api-token.
func servePprof(addr string, allowRemote bool, logger *slog.Logger) (stop func(), err error) {
	ln, err := pprofListener(addr, allowRemote, logger)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // runtime profiles only: it answers 404 to cmdline
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) //nolint:errcheck // always ErrServerClosed, after stop
	}()
	return func() { srv.Close(); <-done }, nil
}

// pprofListener listens on addr and checks that the listener is where
// config.Load's check of PPROF_ADDR said it would be: on loopback, unless
// allowRemote (PPROF_ALLOW_REMOTE). When allowRemote let it off loopback,
// it warns.
func pprofListener(addr string, allowRemote bool, logger *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	url := "http://" + ln.Addr().String() + "/debug/pprof/"
	switch ip := ln.Addr().(*net.TCPAddr).IP; {
	case ip.IsLoopback():
		logger.Info("serving profiles", "addr", url)
	case !allowRemote:
		ln.Close()
		return nil, fmt.Errorf("pprof listener: PPROF_ADDR=%q listens on %s, which is not loopback: use 127.0.0.1:PORT", addr, ln.Addr())
	default:
		logger.Warn("serving profiles off loopback because PPROF_ALLOW_REMOTE=true: anyone who reaches this address can read the process's memory profile and goroutines",
			"addr", url)
	}
	return ln, nil
}

// newHTTPServer sets the timeouts a public server needs. Streaming handlers
// lift the write deadline for themselves.
func newHTTPServer(h http.Handler, idle time.Duration, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       server.MaxBodyTime, // bodies of tens of MiB on slow links; see BODY_READ_TIMEOUT
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serve runs srv on ln until ctx ends, then stops accepting and waits up to
// grace for in-flight requests. Requests still running shortly before the
// grace ends have their contexts cancelled with server.ErrShuttingDown, so
// that their upstream calls stop and they answer 503 shutting_down in time.
// A stop that ctx asked for returns nil, even if some connection had to be
// closed at the deadline (a warning says so).
func serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration, logger *slog.Logger) error {
	base, cut := context.WithCancelCause(context.Background())
	defer cut(nil)
	srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", grace.String())
	cutoff := time.AfterFunc(grace-answerTime(grace), func() { cut(server.ErrShuttingDown) })
	defer cutoff.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", serr)
	}
	if err != nil {
		srv.Close()
		logger.Warn("closed connections still busy at the end of the shutdown grace", "grace", grace.String(), "err", err)
	}
	logger.Info("stopped")
	return nil
}

// answerTime is how long before the end of the grace in-flight requests are
// told to stop: a quarter of it, at most 2 s, time enough to write a 503.
func answerTime(grace time.Duration) time.Duration { return min(grace/4, 2*time.Second) }

// healthCheck asks the server listening on addr for /health on loopback.
func healthCheck(ctx context.Context, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+"/health", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /health answered %d", resp.StatusCode)
	}
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// buildVersion is the version set at link time, else the module version Go
// recorded, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
