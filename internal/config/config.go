// Package config reads codegen-proxy's settings once, from the environment
// and the command line, and validates them.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is every setting of codegen-proxy. Load fills it; the zero value is
// not meant to be used. Each field names its flag and environment variable.
type Config struct {
	// Addr is the listen address (--addr; PORT gives the port alone).
	Addr string
	// BaseURL is the Codegen API root, version included (CODEGEN_BASE_URL).
	BaseURL string
	// APIToken is the operator's own token (CODEGEN_API_TOKEN). Callers'
	// requests never use it: it selects upstream mode and authenticates
	// the /ready probe.
	APIToken string
	// OrgID is the organization used when a request names none
	// (CODEGEN_ORG_ID); zero means the caller's first organization.
	OrgID int64
	// Sandbox runs the built-in Codegen API look-alike as the upstream
	// (--sandbox). Load sets it when neither CODEGEN_BASE_URL nor
	// CODEGEN_API_TOKEN is given, unless --sandbox=false says otherwise.
	Sandbox bool
	// CORSOrigins are the browser origins allowed with credentials
	// (CORS_ALLOWED_ORIGINS); empty allows any origin without credentials.
	// Each is an http(s) origin with no wildcard, path, query, fragment or
	// user info; Load strips a trailing slash and a default port, and
	// writes the host in lower-case ASCII (punycode for an
	// internationalised name), as a browser's Origin header has them.
	CORSOrigins []string
	// UpstreamTimeout bounds one upstream call, retries included
	// (UPSTREAM_TIMEOUT).
	UpstreamTimeout time.Duration
	// UpstreamPools bounds the tokens whose upstream connection pools are
	// kept (UPSTREAM_POOLS): each token has connections of its own, and
	// past the bound the least recently used pool is dropped.
	UpstreamPools int
	// MaxInflightAnswerBytes bounds the upstream answer bytes being read by
	// all calls at once (MAX_INFLIGHT_ANSWER_BYTES); it is at least 32 MiB,
	// the largest answer read.
	MaxInflightAnswerBytes int64
	// ShutdownTimeout bounds the wait for in-flight requests on SIGTERM
	// (SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// MaxConnections bounds the client connections open at once
	// (MAX_CONNECTIONS); zero means "auto", sized by the caller from the
	// open-file limit.
	MaxConnections int
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request (IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// MaxBodyBytes bounds a request body; images arrive base64-encoded
	// (MAX_BODY_BYTES).
	MaxBodyBytes int64
	// BodyReadTimeout is the longest wait for the next bytes of a request
	// body (BODY_READ_TIMEOUT): a body must keep arriving.
	BodyReadTimeout time.Duration
	// MaxInflightBodyBytes bounds the request body bytes held by all
	// requests at once (MAX_INFLIGHT_BODY_BYTES); a request reserves its
	// body's bytes as they arrive. It is at least MaxBodyBytes, so that one
	// largest body always fits.
	MaxInflightBodyBytes int64
	// FilterScanLimit is how many upstream records a status or
	// message_type filter may read for one request (FILTER_SCAN_LIMIT).
	FilterScanLimit int
	// LogLevel and LogFormat shape the logs (LOG_LEVEL, LOG_FORMAT).
	LogLevel  slog.Level
	LogFormat string
	// Title and APIVersion appear in the API documentation (--title,
	// --api-version); an empty APIVersion means the build's version.
	Title      string
	APIVersion string
	// StreamPoll is the base interval between upstream log polls of one
	// stream (STREAM_POLL_INTERVAL); Heartbeat the interval of SSE
	// keep-alive comments (STREAM_HEARTBEAT).
	StreamPoll time.Duration
	Heartbeat  time.Duration
	// LogsBudget is how many upstream log polls one token's streams may
	// make per minute together (STREAM_LOGS_BUDGET); the API allows 60.
	LogsBudget int
	// StreamMaxPerToken and StreamMax bound the streams open at once per
	// token (STREAM_MAX_PER_TOKEN, 429 past it) and in all (STREAM_MAX,
	// 503 past it). The caller lowers StreamMax to leave some of
	// MaxConnections to other requests.
	StreamMaxPerToken int
	StreamMax         int
	// StreamHistoryEntries and StreamHistoryBytes bound the log entries
	// kept per streamed run (STREAM_HISTORY_ENTRIES, STREAM_HISTORY_BYTES).
	StreamHistoryEntries int
	StreamHistoryBytes   int
	// WaitMaxTimeout bounds the timeout of GET /agent-runs/{id}/wait
	// (WAIT_MAX_TIMEOUT): a whole number of seconds, at least one.
	WaitMaxTimeout time.Duration
	// FeedRuns is how many of the newest runs a runs feed poller reads per
	// poll (FEED_RUNS, 1 to 100); FeedHistoryEntries and FeedHistoryBytes
	// bound the run events one feed keeps for resumes
	// (FEED_HISTORY_ENTRIES, FEED_HISTORY_BYTES).
	FeedRuns           int
	FeedHistoryEntries int
	FeedHistoryBytes   int
	// UpstreamBudget paces each token's upstream calls (UPSTREAM_BUDGET);
	// ReadCache coalesces and caches REST reads (READ_CACHE). Both are on
	// by default; off, they leave the bare hop to measure.
	UpstreamBudget bool
	ReadCache      bool
	// BudgetMaxWait is the longest a request waits for a slot of its
	// token's upstream budget before a 429 (BUDGET_MAX_WAIT; 0: never);
	// BudgetStreamReserve the calls of each class's burst that only stream
	// pollers may spend (BUDGET_STREAM_RESERVE); BudgetMaxTokens the tokens
	// whose budgets are kept (BUDGET_MAX_TOKENS).
	BudgetMaxWait       time.Duration
	BudgetStreamReserve int
	BudgetMaxTokens     int
	// CacheFreshRun, CacheFreshRunList, CacheFreshLogs and CacheFreshOrg are
	// how long cached reads of each route class stay fresh
	// (CACHE_FRESH_RUN, CACHE_FRESH_RUN_LIST, CACHE_FRESH_LOGS,
	// CACHE_FRESH_ORG); CacheNotFound how long a 404 is kept
	// (CACHE_NOT_FOUND); CacheMaxStale how long past freshness an answer
	// may be served while the budget is spent (CACHE_MAX_STALE).
	CacheFreshRun     time.Duration
	CacheFreshRunList time.Duration
	CacheFreshLogs    time.Duration
	CacheFreshOrg     time.Duration
	CacheNotFound     time.Duration
	CacheMaxStale     time.Duration
	// CacheMaxEntries, CacheMaxBytes and CacheMaxEntryBytes bound the read
	// cache (CACHE_MAX_ENTRIES, CACHE_MAX_BYTES, CACHE_MAX_ENTRY_BYTES); a
	// larger answer than CacheMaxEntryBytes is served but not kept.
	CacheMaxEntries    int
	CacheMaxBytes      int
	CacheMaxEntryBytes int
	// SandboxStep is the time between a sandbox run's steps (SANDBOX_STEP);
	// SandboxRateLimits turns the sandbox's rate limits on
	// (SANDBOX_RATE_LIMITS).
	SandboxStep       time.Duration
	SandboxRateLimits bool
	// RedisURL, if set, is the Redis that replicas share (REDIS_URL):
	// redis://, rediss:// or unix://. Empty means every replica works alone
	// in memory. RedisTimeout bounds one Redis call (REDIS_TIMEOUT).
	RedisURL     string
	RedisTimeout time.Duration
	// PprofAddr, if set, serves Go's net/http/pprof profiles on a listener
	// of its own (PPROF_ADDR). Its host must be a loopback IP literal
	// (names, even localhost, are refused) unless PprofAllowRemote
	// (PPROF_ALLOW_REMOTE) says otherwise.
	PprofAddr        string
	PprofAllowRemote bool
	// ShowVersion asks for the version to be printed (--version).
	ShowVersion bool
	// HealthCheck asks for the /health of the server listening on Addr to
	// be checked, for container health checks (--healthcheck).
	HealthCheck bool
}

// Mode names where the proxy's calls go, as /health and the build-info
// metric report it: "sandbox" or "upstream".
func (c Config) Mode() string {
	if c.Sandbox {
		return "sandbox"
	}
	return "upstream"
}

// Error is an invalid setting. The process should exit with status 2.
type Error struct{ Msg string }

func (e *Error) Error() string { return "configuration: " + e.Msg }

// ErrHelp is returned when --help was asked for; the usage has been printed.
var ErrHelp = flag.ErrHelp

// Load reads the settings from getenv and then args (flags win over the
// environment), validates them, and returns the result. On --help the usage
// goes to output and the error is ErrHelp; other errors are *Error, which
// name the bad setting and print nothing.
func Load(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("codegen-proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	explicit := map[string]bool{}
	for _, s := range settings {
		v := s.def
		if s.env != "" {
			if e := getenv(s.env); e != "" {
				v, explicit[s.name] = e, true
			}
		}
		if err := s.set(&c, v); err != nil {
			return c, &Error{fmt.Sprintf("%s=%q: %v", s.source(), v, err)}
		}
		fs.Func(s.name, s.usage, func(v string) error {
			explicit[s.name] = true
			return s.set(&c, v)
		})
	}
	// usage() prints these three flags' help; the flag set never prints its
	// own, so they carry none.
	fs.BoolFunc("sandbox", "", func(v string) error {
		b, err := strconv.ParseBool(v)
		c.Sandbox, explicit["sandbox"] = b, true
		return err
	})
	fs.BoolFunc("version", "", func(string) error { c.ShowVersion = true; return nil })
	fs.BoolFunc("healthcheck", "", func(string) error { c.HealthCheck = true; return nil })
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(output)
			return c, ErrHelp
		}
		return c, &Error{err.Error() + " (see --help)"}
	}
	if fs.NArg() > 0 {
		return c, &Error{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if !explicit["sandbox"] && !explicit["base-url"] && !explicit["api-token"] {
		c.Sandbox = true
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return &Error{fmt.Sprintf("CODEGEN_BASE_URL=%q: want an http(s) URL such as https://api.codegen.com/v1", c.BaseURL)}
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.MaxInflightBodyBytes < c.MaxBodyBytes {
		return &Error{fmt.Sprintf("MAX_INFLIGHT_BODY_BYTES=%d: want at least MAX_BODY_BYTES (%d)", c.MaxInflightBodyBytes, c.MaxBodyBytes)}
	}
	for i, o := range c.CORSOrigins {
		origin, err := normalOrigin(o)
		if err != nil {
			return &Error{fmt.Sprintf("CORS_ALLOWED_ORIGINS: %q is not an origin such as https://app.example.com: %v", o, err)}
		}
		c.CORSOrigins[i] = origin
	}
	if err := checkRedisURL(c.RedisURL); err != nil {
		return err
	}
	if c.PprofAddr != "" && !c.PprofAllowRemote && !loopback(c.PprofAddr) {
		return &Error{fmt.Sprintf("PPROF_ADDR=%q is not a loopback IP address: profiles show the process's internals; "+
			"use 127.0.0.1:PORT (or [::1]:PORT; a name, even localhost, may resolve elsewhere), "+
			"or set PPROF_ALLOW_REMOTE=true to serve them anyway", c.PprofAddr)}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `codegen-proxy: a gateway in front of the Codegen API.

With neither CODEGEN_BASE_URL nor CODEGEN_API_TOKEN set it serves a built-in
sandbox that behaves like the Codegen API (any bearer token works).

Settings (a flag wins over its environment variable):
`)
	for _, s := range settings {
		env := ""
		if s.env != "" {
			env = "env " + s.env + ", "
		}
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%-22s %s\n  %24s (%sdefault %s)\n", s.name+" "+s.arg, s.usage, "", env, def)
	}
	fmt.Fprintf(w, "  --%-22s %s\n", "sandbox", "serve the built-in Codegen API look-alike even when an upstream is configured")
	fmt.Fprintf(w, "  --%-22s %s\n", "version", "print the version and exit")
	fmt.Fprintf(w, "  --%-22s %s\n", "healthcheck", "check the /health of the server on --addr/PORT and exit 0 if healthy (for containers)")
	fmt.Fprintf(w, "  --%-22s %s\n", "help", "print this help and exit")
}

// checkRedisURL accepts an empty REDIS_URL or one go-redis can dial: its
// own ParseURL has the last word, options in the query included. Its errors
// show the URL with any password redacted.
func checkRedisURL(raw string) error {
	if raw == "" {
		return nil
	}
	const want = "want redis://host:port/db, rediss://host:port/db or unix:///path/to/redis.sock"
	u, err := url.Parse(raw)
	if err != nil {
		return &Error{"REDIS_URL: not a URL; " + want} // url.Error would show the password
	}
	bad := func(why string) error {
		if pw, ok := u.User.Password(); ok && pw != "" {
			why = strings.ReplaceAll(why, pw, "xxxxx")
		}
		return &Error{fmt.Sprintf("REDIS_URL=%q: %s; %s", u.Redacted(), why, want)}
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Hostname() == "" {
			return bad("no host") // go-redis would dial localhost
		}
	case "unix":
		if u.Path == "" {
			return bad("no socket path")
		}
	default:
		return bad("unknown scheme")
	}
	if _, err := redis.ParseURL(raw); err != nil {
		return bad(strings.TrimPrefix(err.Error(), "redis: "))
	}
	return nil
}
