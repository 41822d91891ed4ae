package codegen

import (
	"context"
	"errors"
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

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"12", 12 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{now.Add(20 * time.Second).Format(http.TimeFormat), 20 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-3", 0, false},
		{"99999999999", 0, false},
	} {
		if got, ok := ParseRetryAfter(tt.in, now); got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// firstOnly is a Budget that grants each token's first call and refuses
// every later one.
type firstOnly struct {
	mu    sync.Mutex
	taken bool
}

func (f *firstOnly) Take(context.Context, TokenKey, Class, Priority) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.taken {
		return &BudgetError{Class: ClassGeneral, RetryAfter: time.Second}
	}
	f.taken = true
	return nil
}

func (f *firstOnly) Pause(TokenKey, Class, time.Duration) {}

// TestRetryWithoutSlotReportsTheFailure: when a GET's retry after a 503
// finds no budget slot, the call fails with the 503 that led to the retry,
// not the Budget's refusal, through an operation and through Forward.
func TestRetryWithoutSlotReportsTheFailure(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"message":"down"}`)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		call func(c *Client) error
		want func(err error) bool
	}{
		{"operation", func(c *Client) error { _, err := c.CurrentUser(context.Background(), "tok"); return err },
			func(err error) bool {
				var e *Error
				return errors.As(err, &e) && e.StatusCode == http.StatusServiceUnavailable
			}},
		{"Forward", func(c *Client) error {
			_, err := c.Forward(context.Background(), "tok", http.MethodGet, "/users/me", nil, nil)
			return err
		}, func(err error) bool { return errors.Is(err, ErrBadResponse) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &Client{BaseURL: srv.URL, Budget: &firstOnly{}}
			t.Cleanup(c.CloseIdleConnections)
			if err := tc.call(c); !tc.want(err) || errors.Is(err, ErrOverBudget) {
				t.Errorf("got %v, want the 503's failure, not the budget's refusal", err)
			}
		})
	}
}
