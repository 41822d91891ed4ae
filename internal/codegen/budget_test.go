package codegen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestClassOf classifies calls as the API counts them, on the unescaped
// path it routes on: a pass-through target may spell a segment escaped.
func TestClassOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, path string
		want         Class
	}{
		{http.MethodPost, "/organizations/1/agent/run", ClassCreate},
		{http.MethodPost, "/organizations/1/agent/run?x=1", ClassCreate},
		{http.MethodGet, "/organizations/1/agent/run", ClassGeneral},
		{http.MethodPost, "/organizations/1/agent/run/resume", ClassGeneral},
		{http.MethodGet, "/alpha/organizations/1/agent/run/5/logs?limit=10", ClassLogs},
		{http.MethodGet, "/organizations/1/agent/run/5/logs", ClassGeneral},
		{http.MethodGet, "/alpha/organizations/1/agent/run/5/log%73", ClassLogs},
		{http.MethodGet, "/%61lpha/organizations/1/agent/run/5/logs", ClassLogs},
		{http.MethodPost, "/organizations/1/agent/ru%6E", ClassCreate},
		{http.MethodPost, "/organizations/1/agent/ru%6e?x=%zz", ClassCreate},
		{http.MethodPost, "/organizations/1/agent/run%zz", ClassGeneral}, // malformed: CheckTarget refuses it
	} {
		if got := ClassOf(tc.method, tc.path); got != tc.want {
			t.Errorf("ClassOf(%s %s): got %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

// pauses is a Budget that grants every call and records the pauses asked.
type pauses struct {
	mu  sync.Mutex
	got []time.Duration
}

func (p *pauses) Take(context.Context, TokenKey, Class, Priority) error { return nil }

func (p *pauses) Pause(_ TokenKey, _ Class, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, d)
}

// TestUpstream429PauseIsCapped: an upstream 429 pauses its class for its
// Retry-After, at most maxPause, through an operation and through Forward.
func TestUpstream429PauseIsCapped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		retryAfter string
		want       time.Duration
	}{
		{"5", 5 * time.Second},
		{"", defaultPause},
		{"86400", maxPause},
	} {
		t.Run("Retry-After="+tc.retryAfter, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"message":"Rate limit exceeded."}`)
			}))
			t.Cleanup(srv.Close)
			b := &pauses{}
			c := &Client{BaseURL: srv.URL, Retries: -1, Budget: b}
			t.Cleanup(c.CloseIdleConnections)
			if _, err := c.CurrentUser(context.Background(), "tok"); err == nil {
				t.Fatal("CurrentUser: got nil, want the 429")
			}
			if _, err := c.Forward(context.Background(), "tok", http.MethodGet, "/users/me", nil, nil); err != nil {
				t.Fatalf("Forward: %v", err)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if want := []time.Duration{tc.want, tc.want}; !slices.Equal(b.got, want) {
				t.Errorf("pauses: got %v, want %v", b.got, want)
			}
		})
	}
}
