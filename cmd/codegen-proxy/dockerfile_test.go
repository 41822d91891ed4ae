package main

import (
	"bufio"
	"context"
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// No Docker engine runs where these tests run, so this test checks what can
// be checked of ../../Dockerfile: it runs its go build command and checks the
// binary is static, that the files it copies are the ones the build makes,
// and that the binary it ships starts in sandbox mode and passes its own
// HEALTHCHECK.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ op, args string }

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cur += line
		op, args, _ := strings.Cut(cur, " ")
		out = append(out, instruction{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

// find returns the args of every instruction op whose args match re.
func find(ins []instruction, op, re string) []string {
	var out []string
	for _, in := range ins {
		if in.op == op && regexp.MustCompile(re).MatchString(in.args) {
			out = append(out, in.args)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ins := readDockerfile(t)

	builds := find(ins, "RUN", `^go build `)
	if len(builds) != 1 {
		t.Fatalf("want one RUN go build, got %q", builds)
	}
	out := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(builds[0])
	if out == nil {
		t.Fatalf("the build names no output: %s", builds[0])
	}
	copies := find(ins, "COPY", `^--from=build `+regexp.QuoteMeta(out[1])+` `)
	if len(copies) != 1 {
		t.Fatalf("the final stage does not copy the built %s: %q", out[1], find(ins, "COPY", "--from=build"))
	}
	shipped := strings.Fields(copies[0])[2]
	if eps := find(ins, "ENTRYPOINT", ""); len(eps) != 1 || eps[0] != `["`+shipped+`"]` {
		t.Errorf("ENTRYPOINT %q, want [%q]", eps, shipped)
	}
	if web := find(ins, "COPY", `^--from=web `); len(web) != 1 || !strings.HasSuffix(web[0], " internal/web/assets/redoc.standalone.js") {
		t.Errorf("the ReDoc bundle is not copied where internal/web embeds it: %q", web)
	}
	if users := find(ins, "USER", ""); len(users) != 1 || strings.HasPrefix(users[0], "root") || strings.HasPrefix(users[0], "0") {
		t.Errorf("USER %q, want a non-root user", users)
	}
	def, _ := config.Load(nil, func(string) string { return "" }, nil)
	if exp := find(ins, "EXPOSE", ""); len(exp) != 1 || ":"+exp[0] != def.Addr {
		t.Errorf("EXPOSE %q, want the default port of %s", exp, def.Addr)
	}
	if !slices.ContainsFunc(find(ins, "ENV", ""), func(e string) bool { return strings.Contains(e, "CGO_ENABLED=0") }) {
		t.Error("the build stage does not set CGO_ENABLED=0")
	}

	// Run the build command as the Dockerfile does, into a temporary file.
	bin := filepath.Join(t.TempDir(), "codegen-proxy")
	cmdline := strings.Replace(strings.ReplaceAll(builds[0], "${VERSION}", "docker-test"), out[1], bin, 1)
	build := exec.Command("sh", "-c", cmdline)
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=auto")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, b)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%v)", p.Type)
		}
	}

	// The shipped binary, run as the image runs it (no arguments, no
	// upstream), serves the sandbox and passes the HEALTHCHECK command.
	hc := find(ins, "HEALTHCHECK", "")
	m := regexp.MustCompile(`CMD \["` + regexp.QuoteMeta(shipped) + `"((?:, "[^"]+")*)\]`).FindStringSubmatch(strings.Join(hc, ""))
	if m == nil {
		t.Fatalf("HEALTHCHECK %q does not run %s", hc, shipped)
	}
	hcArgs := regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(m[1], -1)
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, bin)
	srv.Env = []string{"PORT=" + port}
	logs := &lockedBuffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Wait() //nolint:errcheck // killed below
	check := func() error {
		var args []string
		for _, a := range hcArgs {
			args = append(args, a[1])
		}
		c := exec.Command(bin, args...)
		c.Env = []string{"PORT=" + port}
		return c.Run()
	}
	deadline := time.Now().Add(10 * time.Second)
	for check() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := check(); err != nil {
		t.Fatalf("HEALTHCHECK fails against the running binary: %v\n%s", err, logs)
	}
	for deadline := time.Now().Add(2 * time.Second); !strings.Contains(logs.String(), "SANDBOX MODE") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // logs are written in batches
	}
	if !strings.Contains(logs.String(), "SANDBOX MODE") {
		t.Errorf("the image's default command is not in sandbox mode:\n%s", logs)
	}
	cancel()
	srv.Wait() //nolint:errcheck // killed
	if err := check(); err == nil {
		t.Error("HEALTHCHECK passes with no server running")
	}
}

// freePort returns a loopback port the OS just gave out and took back.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
