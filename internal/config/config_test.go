package config

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8000" || c.BaseURL != "https://api.codegen.com/v1" || !c.Sandbox || c.OrgID != 0 ||
		c.UpstreamTimeout != 30*time.Second || c.MaxBodyBytes != 32<<20 || c.MaxInflightBodyBytes != 128<<20 || c.LogLevel != slog.LevelInfo ||
		c.LogFormat != "text" || c.CORSOrigins != nil || !c.SandboxRateLimits || c.StreamPoll != 2*time.Second {
		t.Errorf("defaults = %+v", c)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	e := env(map[string]string{
		"PORT": "9001", "CODEGEN_BASE_URL": "http://127.0.0.1:9/v1/", "CODEGEN_ORG_ID": "323",
		"CORS_ALLOWED_ORIGINS": "https://a.example, http://localhost:3000", "UPSTREAM_TIMEOUT": "5s",
		"LOG_LEVEL": "debug", "LOG_FORMAT": "json",
	})
	c, err := Load([]string{"--upstream-timeout", "7s", "--org-id=324"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9001" || c.BaseURL != "http://127.0.0.1:9/v1" || c.Sandbox || c.OrgID != 324 ||
		c.UpstreamTimeout != 7*time.Second || c.LogLevel != slog.LevelDebug || c.LogFormat != "json" {
		t.Errorf("got %+v", c)
	}
	if got := strings.Join(c.CORSOrigins, " "); got != "https://a.example http://localhost:3000" {
		t.Errorf("CORS origins = %q", got)
	}
}

func TestModeSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		wantSandbox bool
	}{
		{"nothing configured", nil, nil, true},
		{"token only", map[string]string{"CODEGEN_API_TOKEN": "sk-x"}, nil, false},
		{"base URL only", map[string]string{"CODEGEN_BASE_URL": "https://api.codegen.com/v1"}, nil, false},
		{"forced", map[string]string{"CODEGEN_API_TOKEN": "sk-x"}, []string{"--sandbox"}, true},
		{"refused", nil, []string{"--sandbox=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.args, env(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			wantMode := map[bool]string{true: "sandbox", false: "upstream"}[tt.wantSandbox]
			if c.Sandbox != tt.wantSandbox || c.Mode() != wantMode {
				t.Errorf("Sandbox = %v, Mode() = %q; want %v, %q", c.Sandbox, c.Mode(), tt.wantSandbox, wantMode)
			}
		})
	}
}

func TestInvalidSettingsAreClearErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"org not a number", map[string]string{"CODEGEN_ORG_ID": "abc"}, nil, "CODEGEN_ORG_ID"},
		{"org negative", map[string]string{"CODEGEN_ORG_ID": "-3"}, nil, "CODEGEN_ORG_ID"},
		{"base URL scheme", map[string]string{"CODEGEN_BASE_URL": "ftp://x/v1"}, nil, "CODEGEN_BASE_URL"},
		{"base URL empty host", map[string]string{"CODEGEN_BASE_URL": "http:///v1"}, nil, "CODEGEN_BASE_URL"},
		{"timeout", map[string]string{"UPSTREAM_TIMEOUT": "soon"}, nil, "UPSTREAM_TIMEOUT"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, nil, "LOG_FORMAT"},
		{"port", map[string]string{"PORT": "eighty"}, nil, "PORT"},
		{"origin with path", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example/app"}, nil, "CORS_ALLOWED_ORIGINS"},
		{"origin wildcard host", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example,https://*"}, nil, `"https://*"`},
		{"origin wildcard subdomain", map[string]string{"CORS_ALLOWED_ORIGINS": "https://*.a.example"}, nil, `"https://*.a.example"`},
		{"origin star", map[string]string{"CORS_ALLOWED_ORIGINS": "*"}, nil, `"*"`},
		{"origin without scheme", map[string]string{"CORS_ALLOWED_ORIGINS": "a.example"}, nil, `"a.example"`},
		{"origin other scheme", map[string]string{"CORS_ALLOWED_ORIGINS": "ftp://a.example"}, nil, `"ftp://a.example"`},
		{"origin without host", map[string]string{"CORS_ALLOWED_ORIGINS": "https://"}, nil, `"https://"`},
		{"origin with query", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example?x=1"}, nil, `"https://a.example?x=1"`},
		{"origin with empty query", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example/?"}, nil, `"https://a.example/?"`},
		{"origin with fragment", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example#x"}, nil, `"https://a.example#x"`},
		{"origin with user info", map[string]string{"CORS_ALLOWED_ORIGINS": "https://u:p@a.example"}, nil, `"https://u:p@a.example"`},
		{"origin null", map[string]string{"CORS_ALLOWED_ORIGINS": "null"}, nil, `"null"`},
		{"max connections", map[string]string{"MAX_CONNECTIONS": "many"}, nil, "MAX_CONNECTIONS"},
		{"max connections too few", map[string]string{"MAX_CONNECTIONS": "1"}, nil, "MAX_CONNECTIONS"},
		{"idle timeout", map[string]string{"IDLE_TIMEOUT": "0s"}, nil, "IDLE_TIMEOUT"},
		{"pprof on every interface", map[string]string{"PPROF_ADDR": ":6060"}, nil, "PPROF_ALLOW_REMOTE"},
		{"pprof on a public address", map[string]string{"PPROF_ADDR": "0.0.0.0:6060"}, nil, "PPROF_ADDR"},
		{"pprof on a host name", map[string]string{"PPROF_ADDR": "example.com:6060"}, nil, "PPROF_ADDR"},
		// A hosts file may map localhost anywhere: only IP literals count.
		{"pprof on localhost", map[string]string{"PPROF_ADDR": "localhost:6060"}, nil, "use 127.0.0.1:PORT"},
		{"pprof on a name that looks loopback", map[string]string{"PPROF_ADDR": "127.0.0.1.nip.io:6060"}, nil, "use 127.0.0.1:PORT"},
		{"pprof on a mapped public address", map[string]string{"PPROF_ADDR": "[::ffff:10.0.0.1]:6060"}, nil, "PPROF_ADDR"},
		{"origin with an invalid name", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a\u200d.example"}, nil, "not a valid domain name"},
		{"pprof allow remote not a bool", map[string]string{"PPROF_ALLOW_REMOTE": "sure"}, nil, "PPROF_ALLOW_REMOTE"},
		{"in-flight bodies not a number", map[string]string{"MAX_INFLIGHT_BODY_BYTES": "lots"}, nil, "MAX_INFLIGHT_BODY_BYTES"},
		{"in-flight bodies below one body", map[string]string{"MAX_BODY_BYTES": "65536", "MAX_INFLIGHT_BODY_BYTES": "65535"}, nil, "MAX_INFLIGHT_BODY_BYTES"},
		{"one body above the in-flight default", nil, []string{"--max-body-bytes", "268435456"}, "MAX_INFLIGHT_BODY_BYTES"},
		{"redis scheme", map[string]string{"REDIS_URL": "http://127.0.0.1:6379"}, nil, "REDIS_URL"},
		{"redis without host", map[string]string{"REDIS_URL": "redis:///0"}, nil, "no host"},
		{"redis database not a number", map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/x"}, nil, "database number"},
		{"redis unix without path", map[string]string{"REDIS_URL": "unix://"}, nil, "no socket path"},
		{"redis password redacted", map[string]string{"REDIS_URL": "redis://u:hunter2@h:1/x"}, nil, "u:xxxxx@h"},
		{"redis timeout", map[string]string{"REDIS_TIMEOUT": "0s"}, nil, "REDIS_TIMEOUT"},
		{"unknown flag", nil, []string{"--nope"}, "nope"},
		{"bad flag value", nil, []string{"--stream-poll", "0s"}, "stream-poll"},
		{"stray argument", nil, []string{"serve"}, "serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.args, env(tt.env), &bytes.Buffer{})
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a config error naming %q", err, tt.want)
			}
		})
	}
}

func TestCORSOriginsAreNormalised(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(map[string]string{
		"CORS_ALLOWED_ORIGINS": "https://a.example/, http://localhost:3000, https://b.example:443, http://c.example:80, https://d.example:8443, " +
			"https://bücher.example, https://BÜCHER.example:8443/, https://App.Example.com, http://my_app.example, " +
			"http://[::1]:3000, http://[::1]:80, https://127.0.0.1",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// Browsers send the host in lower-case ASCII, punycode for an
	// internationalised name: an origin written otherwise would never match.
	want := "https://a.example http://localhost:3000 https://b.example http://c.example https://d.example:8443 " +
		"https://xn--bcher-kva.example https://xn--bcher-kva.example:8443 https://app.example.com http://my_app.example " +
		"http://[::1]:3000 http://[::1] https://127.0.0.1"
	if got := strings.Join(c.CORSOrigins, " "); got != want {
		t.Errorf("CORS origins = %q, want %q", got, want)
	}
}

func TestConnectionAndPprofSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want func(Config) bool
	}{
		{"defaults", nil, func(c Config) bool {
			return c.MaxConnections == 0 && c.IdleTimeout == 60*time.Second && c.PprofAddr == "" && !c.PprofAllowRemote
		}},
		{"explicit bound", map[string]string{"MAX_CONNECTIONS": "20", "IDLE_TIMEOUT": "5s"}, func(c Config) bool {
			return c.MaxConnections == 20 && c.IdleTimeout == 5*time.Second
		}},
		{"pprof on loopback", map[string]string{"PPROF_ADDR": "127.0.0.1:6060"}, func(c Config) bool { return c.PprofAddr == "127.0.0.1:6060" }},
		{"pprof on another loopback address", map[string]string{"PPROF_ADDR": "127.8.9.10:0"}, func(c Config) bool { return c.PprofAddr == "127.8.9.10:0" }},
		{"pprof on IPv6 loopback", map[string]string{"PPROF_ADDR": "[::1]:6060"}, func(c Config) bool { return c.PprofAddr == "[::1]:6060" }},
		{"pprof on IPv4-mapped loopback", map[string]string{"PPROF_ADDR": "[::ffff:127.0.0.1]:6060"}, func(c Config) bool {
			return c.PprofAddr == "[::ffff:127.0.0.1]:6060"
		}},
		{"pprof on a name when forced", map[string]string{"PPROF_ADDR": "localhost:0", "PPROF_ALLOW_REMOTE": "true"}, func(c Config) bool {
			return c.PprofAddr == "localhost:0"
		}},
		{"pprof remote when forced", map[string]string{"PPROF_ADDR": ":6060", "PPROF_ALLOW_REMOTE": "true"}, func(c Config) bool {
			return c.PprofAddr == ":6060" && c.PprofAllowRemote
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(nil, env(tt.env), &bytes.Buffer{})
			if err != nil || !tt.want(c) {
				t.Errorf("got %+v, %v", c, err)
			}
		})
	}
}

func TestHelpListsEverySettingWithItsEnvironmentName(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := Load([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, s := range settings {
		if !strings.Contains(out.String(), "--"+s.name) || !strings.Contains(out.String(), "env "+s.env+",") {
			t.Errorf("help lacks --%s or env %s:\n%s", s.name, s.env, out.String())
		}
	}
	var quiet bytes.Buffer
	if _, err := Load([]string{"--nope"}, env(nil), &quiet); err == nil || quiet.Len() != 0 {
		t.Errorf("a bad flag: err %v, printed %q; want an error and nothing printed", err, quiet.String())
	}
	for _, f := range []string{"--sandbox", "--version", "--healthcheck"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}

func TestRedisSettings(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"redis://127.0.0.1:6379/0", "redis://:pw@redis:6379", "rediss://user:pw@redis.example:6380/2",
		"unix:///run/redis/redis.sock", "unix:///tmp/r.sock?db=1"} {
		c, err := Load(nil, env(map[string]string{"REDIS_URL": u, "REDIS_TIMEOUT": "50ms"}), &bytes.Buffer{})
		if err != nil || c.RedisURL != u || c.RedisTimeout != 50*time.Millisecond {
			t.Errorf("REDIS_URL=%s: got %q, %v, %v; want it accepted", u, c.RedisURL, c.RedisTimeout, err)
		}
	}
	c, _ := Load(nil, env(nil), &bytes.Buffer{})
	if c.RedisURL != "" || c.RedisTimeout != 200*time.Millisecond {
		t.Errorf("defaults: REDIS_URL %q, REDIS_TIMEOUT %v; want empty (no Redis) and 200ms", c.RedisURL, c.RedisTimeout)
	}
	_, err := Load(nil, env(map[string]string{"REDIS_URL": "redis://u:hunter2@h:1/x"}), &bytes.Buffer{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want an error without the password", err)
	}
}

// REDIS_URL is accepted only if go-redis can use it, query options
// included, and a refusal never shows the password.
func TestRedisURLRefusedAsGoRedisWould(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"unix:///tmp/r.sock?db=x", "db"},
		{"redis://h:6379/0?foo=bar", "foo"},
		{"redis://h:6379/0?dial_timeout=soon", "dial_timeout"},
		{"redis://u:hunter2@h:6379/0?pool_size=x", "pool_size"},
		{"redis://127.0.0.1:6379/x", "database number"},
	} {
		_, err := Load(nil, env(map[string]string{"REDIS_URL": tc.url}), &bytes.Buffer{})
		if err == nil {
			t.Errorf("REDIS_URL=%s accepted; want refused", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("REDIS_URL=%s: %v; want it to name %s", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("REDIS_URL=%s: %v; shows the password", tc.url, err)
		}
	}
}
