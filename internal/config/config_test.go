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
			if c.Sandbox != tt.wantSandbox {
				t.Errorf("Sandbox = %v, want %v", c.Sandbox, tt.wantSandbox)
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
		{"in-flight bodies not a number", map[string]string{"MAX_INFLIGHT_BODY_BYTES": "lots"}, nil, "MAX_INFLIGHT_BODY_BYTES"},
		{"in-flight bodies below one body", map[string]string{"MAX_BODY_BYTES": "65536", "MAX_INFLIGHT_BODY_BYTES": "65535"}, nil, "MAX_INFLIGHT_BODY_BYTES"},
		{"one body above the in-flight default", nil, []string{"--max-body-bytes", "268435456"}, "MAX_INFLIGHT_BODY_BYTES"},
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
	for _, f := range []string{"--sandbox", "--version", "--healthcheck"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}
