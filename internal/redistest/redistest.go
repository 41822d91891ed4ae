// Package redistest starts real redis-server processes for tests: one per
// test, on a unix socket or a free loopback port, with persistence off, and
// stopped when the test ends. A server can be stopped and started again on
// the same address, to test what happens when Redis restarts.
//
// When redis-server is not installed the test is skipped, unless the CI
// environment variable is set, in which case it fails.
package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// startTimeout bounds the wait for a started server to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process owned by a test. Its methods must be
// called from the test's goroutine.
type Server struct {
	t      testing.TB
	bin    string
	args   []string
	url    string
	logs   string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts a redis-server on a free 127.0.0.1 port and stops it when the
// test ends. URL gives its redis:// address.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := lookPath(t)
	dir := t.TempDir()
	var last error
	for range 5 { // a free port may be taken before redis-server binds it
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		s := newServer(t, bin, dir, fmt.Sprintf("redis://127.0.0.1:%d/0", port),
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1")
		if last = s.start(); last == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: %v", last)
	return nil
}

// StartUnix starts a redis-server listening only on a unix socket and stops
// it when the test ends. URL gives its unix:// address.
func StartUnix(t testing.TB) *Server {
	t.Helper()
	bin := lookPath(t)
	// Socket paths are limited to about 100 bytes; t.TempDir's can be longer.
	dir, err := os.MkdirTemp("", "redis")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "redis.sock")
	s := newServer(t, bin, dir, "unix://"+sock, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700")
	if err := s.start(); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func lookPath(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redistest: redis-server is required in CI (apt-get install -y redis-server): %v", err)
		}
		t.Skipf("redistest: redis-server not installed (apt-get install -y redis-server): %v", err)
	}
	return bin
}

func newServer(t testing.TB, bin, dir, url string, listen ...string) *Server {
	args := append([]string{"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		"--loglevel", "warning"}, listen...)
	return &Server{t: t, bin: bin, args: args, url: url, logs: filepath.Join(dir, "redis.log")}
}

// URL is the server's address as a REDIS_URL: redis://127.0.0.1:PORT/0 or
// unix:///path/redis.sock. It stays the same across Restart.
func (s *Server) URL() string { return s.url }

// Client returns a new go-redis client of the server, closed when the test
// ends.
func (s *Server) Client() *redis.Client {
	s.t.Helper()
	c, err := NewClient(s.url)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// NewClient returns a go-redis client of url, without the maintenance
// notifications probe, which open-source Redis answers with an error.
func NewClient(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opt.DisableIdentity = true
	return redis.NewClient(opt), nil
}

// Stop stops the server and waits for it to exit. Stopping a stopped
// server does nothing. Data is lost: persistence is off.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-exited
	}
}

// Restart starts a stopped server again on the same address, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

func (s *Server) start() error {
	logf, err := os.Create(s.logs)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	if err := s.waitReady(exited); err != nil {
		s.Stop()
		out, _ := os.ReadFile(s.logs)
		return fmt.Errorf("redis-server %v: %v\n%s", s.args, err, bytes.TrimSpace(out))
	}
	return nil
}

// waitReady polls PING until the server answers, it exits, or the deadline.
func (s *Server) waitReady(exited <-chan struct{}) error {
	c, err := NewClient(s.url)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering PING")
		case <-ctx.Done():
			return fmt.Errorf("no answer to PING within %v: %v", startTimeout, err)
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
