package redistest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartServesAndRestartEmpties(t *testing.T) {
	for name, start := range map[string]func(testing.TB) *Server{"tcp": Start, "unix": StartUnix} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			c := s.Client()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			s.Stop()
			if err := c.Ping(ctx).Err(); err == nil {
				t.Fatal("PING answered after Stop")
			}
			s.Restart()
			if got, err := c.Exists(ctx, "k").Result(); err != nil || got != 0 {
				t.Fatalf("EXISTS k after restart = %d, %v; want 0, nil (persistence is off)", got, err)
			}
		})
	}
}
