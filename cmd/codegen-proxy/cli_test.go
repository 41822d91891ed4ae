package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

func TestInvalidConfigurationIsAConfigError(t *testing.T) {
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"CODEGEN_ORG_ID": "not-a-number"}[k]
	}, io.Discard, io.Discard)
	var cfgErr *config.Error
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "CODEGEN_ORG_ID") {
		t.Errorf("err = %v, want a config error naming CODEGEN_ORG_ID", err)
	}
}

func TestVersionAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	version = "1.2.3-test"
	defer func() { version = "" }()
	if err := run(context.Background(), []string{"--version"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != "codegen-proxy 1.2.3-test\n" {
		t.Errorf("--version printed %q", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, &errOut)
	if !errors.Is(err, config.ErrHelp) || !strings.Contains(out.String(), "CODEGEN_BASE_URL") || errOut.Len() != 0 {
		t.Errorf("--help: err %v, stdout:\n%s\nstderr:\n%s\nwant the usage on stdout only", err, out.String(), errOut.String())
	}
}

// TestReadmeCurlExamplesWork runs every block of curl commands in README.md
// against a sandbox-mode server, so the examples cannot rot.
func TestReadmeCurlExamplesWork(t *testing.T) {
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal(tool + " is not installed")
			}
			t.Skip(tool + " is not installed")
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := curlBlocks(string(readme))
	if n := strings.Count(strings.Join(blocks, ""), "curl "); n < 8 {
		t.Fatalf("found %d curl examples in README.md, want at least 8", n)
	}
	// Short steps: the examples stream runs they create until they end.
	s := start(t, map[string]string{"SANDBOX_RATE_LIMITS": "false", "SANDBOX_STEP": "50ms"})
	// Each command must succeed: a wrapper adds --fail-with-body and a bound.
	const wrapper = "curl() { command curl -sS --fail-with-body --max-time 30 \"$@\"; echo; }\n"
	fixedRun := regexp.MustCompile(`/agent-runs/[0-9]+`)
	for _, b := range blocks {
		// A block that creates a run and then reads one must read the run it
		// created, not a seed run that is long finished.
		if strings.Contains(b, "-X POST") && fixedRun.MatchString(b) && !strings.Contains(b, "/resume") {
			t.Errorf("README example creates a run but reads %s:\n%s", fixedRun.FindString(b), b)
		}
		script := wrapper + strings.ReplaceAll(b, "http://localhost:8000", s.url)
		// pipefail: a failed curl whose output jq reads fails the block too.
		out, err := exec.Command("bash", "-e", "-o", "pipefail", "-c", script).CombinedOutput()
		if err != nil {
			t.Errorf("README example failed: %v\n%s\n%s", err, b, out)
		}
		if strings.Contains(b, "/logs/stream") && !strings.Contains(string(out), "event: done") {
			t.Errorf("README stream example did not end with event: done:\n%s\n%s", b, out)
		}
	}
}

// curlBlocks returns the sh code blocks of a Markdown text that start with a
// curl command, or with one whose output a variable takes (run=$(curl ...).
func curlBlocks(md string) []string {
	var out []string
	startsWithCurl := regexp.MustCompile(`^(\w+=\$\()?curl `)
	for _, m := range regexp.MustCompile("(?s)```(?:sh|bash)\n(.*?)```").FindAllStringSubmatch(md, -1) {
		if startsWithCurl.MatchString(strings.TrimSpace(m[1])) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestExitCodes runs the built binary: help and version exit 0, an invalid
// setting exits 2 with a message naming it.
func TestExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "codegen-proxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0") // an address the binary cannot take
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		args     []string
		env      string
		wantCode int
		wantOut  string
	}{
		{[]string{"--version"}, "", 0, "codegen-proxy "},
		{[]string{"--help"}, "", 0, "STREAM_LOGS_BUDGET"},
		{nil, "CODEGEN_ORG_ID=acme", 2, "CODEGEN_ORG_ID"},
		{[]string{"--log-format", "xml"}, "", 2, "log-format"},
		{nil, "PPROF_ADDR=:0", 2, "PPROF_ALLOW_REMOTE"},
		{nil, "CORS_ALLOWED_ORIGINS=https://*", 2, `"https://*"`},
		{[]string{"--addr", busy.Addr().String()}, "", 1, "listening on " + busy.Addr().String()},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a server that started would never exit
		cmd := exec.CommandContext(ctx, bin, tt.args...)
		cmd.Env = []string{tt.env}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		cancel()
		want := &stderr // errors go to stderr, what was asked for to stdout
		if tt.wantCode == 0 {
			want = &stdout
		}
		if code := cmd.ProcessState.ExitCode(); code != tt.wantCode || !strings.Contains(want.String(), tt.wantOut) {
			t.Errorf("%v %s: exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, tt.env, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut)
		}
	}
}
