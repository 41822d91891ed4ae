package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

// New refuses a URL it cannot parse without showing its password.
func TestNewErrorHidesThePassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"redis://u:hunter2@h:bad/0", "redis://u:hunter2@h:6379/0\x7f", "redis://u:hunter2@h:6379/0?pool_size=x"} {
		c, err := New(Options{URL: u})
		if err == nil {
			c.Close()
			t.Errorf("New(%q) accepted it", u)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%q) = %v; shows the password", u, err)
		}
	}
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c, err := New(Options{URL: srv.URL(), CheckInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	first := c.Close()
	if err := c.Close(); err != first {
		t.Fatalf("second Close = %v, want the first's result %v", err, first)
	}
}
