package cluster

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

func TestMain(m *testing.M) {
	SetRedisLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) // go-redis's dial failures while a test's Redis is down
	goleak.VerifyTestMain(m)
}

// newClient connects a replica to url, closed when the test ends.
func newClient(t *testing.T, url string, opt Options) *Client {
	t.Helper()
	opt.URL = url
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// replicas starts a redis-server and n clients of it.
func replicas(t *testing.T, n int) (*redistest.Server, []*Client) {
	t.Helper()
	srv := redistest.Start(t)
	cs := make([]*Client, n)
	for i := range cs {
		cs[i] = newClient(t, srv.URL(), Options{Timeout: time.Second, CheckInterval: 100 * time.Millisecond})
	}
	return srv, cs
}

// eventually waits up to 10 s for cond, checking every 5 ms.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// HashToken returns the hash that keys tok's shared state: the proxy's
// codegen.KeyOf.
func HashToken(tok string) TokenHash { return TokenHash(codegen.KeyOf(tok)) }

var scope = RunScope(HashToken("sk-test-token"), 7, 42)
