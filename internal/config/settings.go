package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setting is one configurable value: its flag, environment variable,
// default, help text and how to store it into a Config.
type setting struct {
	name, arg, env, def, usage string
	set                        func(c *Config, v string) error
}

// source names where a value came from, for error messages.
func (s setting) source() string {
	if s.env != "" {
		return s.env
	}
	return "--" + s.name
}

// settings lists every setting in the order --help shows them.
var settings = []setting{
	{"addr", "ADDR", "PORT", "8000", "listen address, or a port alone", func(c *Config, v string) error {
		if _, err := strconv.ParseUint(v, 10, 16); err == nil {
			v = ":" + v
		}
		if !strings.Contains(v, ":") {
			return errors.New("want host:port or a port")
		}
		c.Addr = v
		return nil
	}},
	{"base-url", "URL", "CODEGEN_BASE_URL", "https://api.codegen.com/v1", "Codegen API root, version included",
		func(c *Config, v string) error { c.BaseURL = v; return nil }},
	{"api-token", "TOKEN", "CODEGEN_API_TOKEN", "", "operator token: selects upstream mode and authenticates /ready; callers still send their own",
		func(c *Config, v string) error { c.APIToken = v; return nil }},
	{"org-id", "ID", "CODEGEN_ORG_ID", "", "organization used when a request names none (default: the caller's first)",
		func(c *Config, v string) error {
			if v == "" {
				c.OrgID = 0
				return nil
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return errors.New("want a positive integer")
			}
			c.OrgID = n
			return nil
		}},
	{"cors-origins", "LIST", "CORS_ALLOWED_ORIGINS", "", "comma-separated browser origins (https://app.example.com) allowed with credentials; no wildcards; empty allows any origin without credentials",
		func(c *Config, v string) error {
			c.CORSOrigins = nil
			for _, o := range strings.Split(v, ",") {
				if o = strings.TrimSpace(o); o != "" {
					c.CORSOrigins = append(c.CORSOrigins, o)
				}
			}
			return nil
		}},
	{"upstream-timeout", "DURATION", "UPSTREAM_TIMEOUT", "30s", "bound on one upstream call, retries included",
		duration(func(c *Config) *time.Duration { return &c.UpstreamTimeout })},
	{"upstream-pools", "N", "UPSTREAM_POOLS", "128", "tokens whose upstream connections are kept (each token has its own); past it the least recently used token's are closed",
		positive(func(c *Config) *int { return &c.UpstreamPools })},
	{"max-inflight-answer-bytes", "N", "MAX_INFLIGHT_ANSWER_BYTES", "268435456", "upstream answer bytes all calls may be reading at once, at least 33554432 (503 server_busy above it)",
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 32<<20 {
				return errors.New("want an integer of at least 33554432")
			}
			c.MaxInflightAnswerBytes = n
			return nil
		}},
	{"shutdown-timeout", "DURATION", "SHUTDOWN_TIMEOUT", "10s", "wait for in-flight requests on SIGTERM",
		duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"max-connections", "N", "MAX_CONNECTIONS", "auto", "most client connections open at once; past it the longest-idle one is closed (auto: a quarter of the open-file limit, at most 10000)",
		func(c *Config, v string) error {
			if v == "auto" {
				c.MaxConnections = 0
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 2 {
				return errors.New("want auto or an integer of at least 2")
			}
			c.MaxConnections = n
			return nil
		}},
	{"idle-timeout", "DURATION", "IDLE_TIMEOUT", "60s", "how long a keep-alive connection may wait for its next request",
		duration(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"max-body-bytes", "N", "MAX_BODY_BYTES", "33554432", "largest request body accepted (413 above it)",
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				return errors.New("want an integer of at least 1024")
			}
			c.MaxBodyBytes = n
			return nil
		}},
	{"body-read-timeout", "DURATION", "BODY_READ_TIMEOUT", "10s", "longest wait for the next bytes of a request body (408 request_timeout past it)",
		duration(func(c *Config) *time.Duration { return &c.BodyReadTimeout })},
	{"max-inflight-body-bytes", "N", "MAX_INFLIGHT_BODY_BYTES", "134217728", "request body bytes all requests may hold at once, at least MAX_BODY_BYTES (503 server_busy above it)",
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				return errors.New("want an integer of at least 1024")
			}
			c.MaxInflightBodyBytes = n
			return nil
		}},
	{"filter-scan-limit", "N", "FILTER_SCAN_LIMIT", "1000", "most upstream records one status or message_type filter may read",
		positive(func(c *Config) *int { return &c.FilterScanLimit })},
	{"log-level", "LEVEL", "LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{"log-format", "FORMAT", "LOG_FORMAT", "text", "text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return errors.New("want text or json")
		}
		c.LogFormat = v
		return nil
	}},
	{"title", "TEXT", "API_TITLE", "Codegen Proxy API", "title of the API documentation",
		func(c *Config, v string) error { c.Title = v; return nil }},
	{"api-version", "TEXT", "API_VERSION", "", "version shown in the API documentation (default: the build's version)",
		func(c *Config, v string) error { c.APIVersion = v; return nil }},
	{"stream-poll", "DURATION", "STREAM_POLL_INTERVAL", "2s", "base interval between upstream log polls of a stream",
		duration(func(c *Config) *time.Duration { return &c.StreamPoll })},
	{"stream-heartbeat", "DURATION", "STREAM_HEARTBEAT", "15s", "interval of SSE keep-alive comments",
		duration(func(c *Config) *time.Duration { return &c.Heartbeat })},
	{"stream-logs-budget", "N", "STREAM_LOGS_BUDGET", "50", "upstream log polls per minute shared by one token's streams (the API allows 60)",
		positive(func(c *Config) *int { return &c.LogsBudget })},
	{"stream-max-per-token", "N", "STREAM_MAX_PER_TOKEN", "100", "streams one token may have open at once (429 past it)",
		positive(func(c *Config) *int { return &c.StreamMaxPerToken })},
	{"stream-max", "N", "STREAM_MAX", "5000", "streams open at once in all (503 past it); lowered at start to leave a quarter of MAX_CONNECTIONS, at least 8, to other requests",
		positive(func(c *Config) *int { return &c.StreamMax })},
	{"stream-history-entries", "N", "STREAM_HISTORY_ENTRIES", "1000", "latest log entries kept per streamed run; older ones are read again from upstream",
		positive(func(c *Config) *int { return &c.StreamHistoryEntries })},
	{"stream-history-bytes", "N", "STREAM_HISTORY_BYTES", "262144", "bytes of log entries kept per streamed run",
		positive(func(c *Config) *int { return &c.StreamHistoryBytes })},
	{"wait-max-timeout", "DURATION", "WAIT_MAX_TIMEOUT", "300s", "longest timeout a GET /agent-runs/{id}/wait may ask for; whole seconds",
		func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second || d%time.Second != 0 {
				return errors.New("want a whole number of seconds, at least 1s, such as 300s")
			}
			c.WaitMaxTimeout = d
			return nil
		}},
	{"feed-runs", "N", "FEED_RUNS", "20", "newest runs a runs feed reads per poll (1 to 100)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errors.New("want an integer from 1 to 100")
		}
		c.FeedRuns = n
		return nil
	}},
	{"feed-history-entries", "N", "FEED_HISTORY_ENTRIES", "500", "latest run events a runs feed keeps for resumes; an older Last-Event-ID gets a reset and a snapshot",
		positive(func(c *Config) *int { return &c.FeedHistoryEntries })},
	{"feed-history-bytes", "N", "FEED_HISTORY_BYTES", "1048576", "bytes of run events a runs feed keeps",
		positive(func(c *Config) *int { return &c.FeedHistoryBytes })},
	{"upstream-budget", "BOOL", "UPSTREAM_BUDGET", "true", "pace each token's upstream calls to the API's documented limits (false: only to measure the bare hop, or for an upstream with other limits)",
		boolean(func(c *Config) *bool { return &c.UpstreamBudget })},
	{"read-cache", "BOOL", "READ_CACHE", "true", "coalesce and cache each token's REST reads (false: every read goes upstream; only to measure the bare hop)",
		boolean(func(c *Config) *bool { return &c.ReadCache })},
	{"budget-max-wait", "DURATION", "BUDGET_MAX_WAIT", "1s", "longest wait of a request for a slot of its token's upstream budget; past it 429 (0s: never wait)",
		func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errors.New("want a duration such as 1s, or 0s")
			}
			c.BudgetMaxWait = d
			return nil
		}},
	{"budget-stream-reserve", "N", "BUDGET_STREAM_RESERVE", "2", "calls of each budget class's burst that only stream pollers may spend (0: none)",
		func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 4 {
				return errors.New("want an integer from 0 to 4 (the burst is 5)")
			}
			c.BudgetStreamReserve = n
			return nil
		}},
	{"budget-max-tokens", "N", "BUDGET_MAX_TOKENS", "10000", "tokens whose upstream budgets are kept; past it an idle one is forgotten, and when none is idle a new token is answered 503",
		positive(func(c *Config) *int { return &c.BudgetMaxTokens })},
	{"cache-fresh-run", "DURATION", "CACHE_FRESH_RUN", "2s", "how long a cached run (GET /agent-runs/{id}) is fresh",
		duration(func(c *Config) *time.Duration { return &c.CacheFreshRun })},
	{"cache-fresh-run-list", "DURATION", "CACHE_FRESH_RUN_LIST", "5s", "how long a cached list of runs is fresh (a UI gets list changes live from the runs feed)",
		duration(func(c *Config) *time.Duration { return &c.CacheFreshRunList })},
	{"cache-fresh-logs", "DURATION", "CACHE_FRESH_LOGS", "2s", "how long a cached page of a run's logs is fresh",
		duration(func(c *Config) *time.Duration { return &c.CacheFreshLogs })},
	{"cache-fresh-org", "DURATION", "CACHE_FRESH_ORG", "60s", "how long cached users, organizations, repositories and integrations are fresh",
		duration(func(c *Config) *time.Duration { return &c.CacheFreshOrg })},
	{"cache-not-found", "DURATION", "CACHE_NOT_FOUND", "2s", "how long an upstream 404 is cached (no other error is)",
		duration(func(c *Config) *time.Duration { return &c.CacheNotFound })},
	{"cache-max-stale", "DURATION", "CACHE_MAX_STALE", "30s", "how long past its freshness a cached 200 may be served, marked stale, while the token's budget is spent (a 404 never is)",
		duration(func(c *Config) *time.Duration { return &c.CacheMaxStale })},
	{"cache-max-entries", "N", "CACHE_MAX_ENTRIES", "10000", "cached answers kept in all; past it the least recently used go",
		positive(func(c *Config) *int { return &c.CacheMaxEntries })},
	{"cache-max-bytes", "N", "CACHE_MAX_BYTES", "67108864", "bytes of cached answers kept in all",
		positive(func(c *Config) *int { return &c.CacheMaxBytes })},
	{"cache-max-entry-bytes", "N", "CACHE_MAX_ENTRY_BYTES", "1048576", "largest answer cached; a larger one is served but not kept",
		positive(func(c *Config) *int { return &c.CacheMaxEntryBytes })},
	{"pprof-addr", "ADDR", "PPROF_ADDR", "", "serve Go profiles (net/http/pprof) on this loopback IP address, e.g. 127.0.0.1:6060 (not a name, not even localhost); empty: off",
		func(c *Config, v string) error { c.PprofAddr = v; return nil }},
	{"pprof-allow-remote", "BOOL", "PPROF_ALLOW_REMOTE", "false", "allow a PPROF_ADDR that is not a loopback IP address (logged as a warning)",
		boolean(func(c *Config) *bool { return &c.PprofAllowRemote })},
	{"redis-url", "URL", "REDIS_URL", "", "Redis shared by replicas: redis://[user:pass@]host:port/db, rediss:// (TLS) or unix:///path.sock; empty: each replica alone, in memory",
		func(c *Config, v string) error { c.RedisURL = v; return nil }}, // checked in validate, which never shows the password
	{"redis-timeout", "DURATION", "REDIS_TIMEOUT", "200ms", "bound on one Redis call; past it the replica works on local state and reports degraded",
		duration(func(c *Config) *time.Duration { return &c.RedisTimeout })},
	{"sandbox-step", "DURATION", "SANDBOX_STEP", "1.2s", "time between a sandbox run's steps",
		duration(func(c *Config) *time.Duration { return &c.SandboxStep })},
	{"sandbox-rate-limits", "BOOL", "SANDBOX_RATE_LIMITS", "true", "apply the Codegen API's documented rate limits in the sandbox",
		boolean(func(c *Config) *bool { return &c.SandboxRateLimits })},
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*field(c) = b
		return nil
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 30s")
		}
		*field(c) = d
		return nil
	}
}

func positive(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errors.New("want a positive integer")
		}
		*field(c) = n
		return nil
	}
}
