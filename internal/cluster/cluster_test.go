package cluster

import (
	"strings"
	"testing"
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
