package codegen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// received is what the fake upstream saw of one request.
type received struct {
	method, path, query, auth, requestID, contentType, body string
}

// recorder starts an upstream that records each request and answers with
// status and body.
func recorder(t *testing.T, status int, body string) (*Client, *[]received) {
	t.Helper()
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"),
			r.Header.Get("X-Request-ID"), r.Header.Get("Content-Type"), string(b)})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL + "/v1", Transport: srv.Client().Transport, RequestID: func(context.Context) string { return "req-1" }}
	return c, &got
}

func TestOperationsSendWhatTheAPIExpects(t *testing.T) {
	t.Parallel()
	repo := int64(7)
	tests := []struct {
		name string
		call func(context.Context, *Client) ([]byte, error)
		want received
	}{
		{"current user", func(ctx context.Context, c *Client) ([]byte, error) { return c.CurrentUser(ctx, "tok") },
			received{method: "GET", path: "/v1/users/me"}},
		{"organizations", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.Organizations(ctx, "tok", PageParams{Skip: 20, Limit: 10})
		}, received{method: "GET", path: "/v1/organizations", query: "limit=10&skip=20"}},
		{"list runs filtered", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.ListRuns(ctx, "tok", 323, ListRunsParams{PageParams{0, 5}, 42, "API"})
		}, received{method: "GET", path: "/v1/organizations/323/agent/runs", query: "limit=5&source_type=API&user_id=42"}},
		{"get run", func(ctx context.Context, c *Client) ([]byte, error) { return c.GetRun(ctx, "tok", 323, 12345) },
			received{method: "GET", path: "/v1/organizations/323/agent/run/12345"}},
		{"create run", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.CreateRun(ctx, "tok", 323, CreateAgentRunInput{Prompt: json.RawMessage(`"hi"`), RepoID: &repo})
		}, received{method: "POST", path: "/v1/organizations/323/agent/run", contentType: "application/json",
			body: `{"prompt":"hi","repo_id":7}`}},
		{"resume run", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.ResumeRun(ctx, "tok", 323, ResumeAgentRunInput{AgentRunID: 9, Prompt: json.RawMessage(`"go on"`)})
		}, received{method: "POST", path: "/v1/organizations/323/agent/run/resume", contentType: "application/json",
			body: `{"agent_run_id":9,"prompt":"go on"}`}},
		{"logs", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.RunLogs(ctx, "tok", 323, 9, LogsParams{PageParams{100, 100}, true})
		}, received{method: "GET", path: "/v1/alpha/organizations/323/agent/run/9/logs", query: "limit=100&reverse=true&skip=100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, got := recorder(t, 200, `{"ok":true}`)
			body, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if string(body) != `{"ok":true}` {
				t.Errorf("body = %s, want the upstream's body verbatim", body)
			}
			if len(*got) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(*got))
			}
			want := tt.want
			want.auth, want.requestID = "Bearer tok", "req-1"
			if (*got)[0] != want {
				t.Errorf("upstream saw\n %+v\nwant\n %+v", (*got)[0], want)
			}
		})
	}
}

func TestAPIErrorsKeepStatusMessageAndRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, retryAfter string
		status                 int
		wantMsg                string
	}{
		{"message body", `{"message":"Agent run not found.","status_code":404}`, "", 404, "Agent run not found."},
		{"validation detail", `{"detail":[{"loc":["query","limit"],"msg":"Input should be less than or equal to 100","type":"less_than_equal"}]}`,
			"", 422, "query.limit: Input should be less than or equal to 100"},
		{"string detail", `{"detail":"Not authenticated"}`, "", 401, "Not authenticated"},
		{"rate limited", `{"message":"Rate limit exceeded. Please try again later.","status_code":429}`, "17", 429,
			"Rate limit exceeded. Please try again later."},
		{"not json", `<html>oops</html>`, "", 403, "Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := &Client{BaseURL: srv.URL}
			_, err := c.GetRun(context.Background(), "tok", 1, 2)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.StatusCode != tt.status || e.Message != tt.wantMsg || e.RetryAfter != tt.retryAfter {
				t.Errorf("got status %d message %q retry-after %q, want %d %q %q",
					e.StatusCode, e.Message, e.RetryAfter, tt.status, tt.wantMsg, tt.retryAfter)
			}
		})
	}
}

// flaky answers with failures until n requests have been made, then 200.
func flaky(t *testing.T, n int32, fail func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var count atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= n {
			fail(w)
			return
		}
		io.WriteString(w, `{"id":2}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &count
}

func status503(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }

// status503RetryAfter is a 503 that says when to come back.
func status503RetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "30")
	w.WriteHeader(http.StatusServiceUnavailable)
}

// resetConn drops the connection with no answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestGetsRetryTransientFailuresPostsDoNot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fail      func(http.ResponseWriter)
		post      bool
		wantErr   bool
		wantCalls int32
	}{
		{"GET after 503", status503, false, false, 2},
		{"GET after 503 with Retry-After", status503RetryAfter, false, true, 1},
		{"GET after reset", resetConn, false, false, 2},
		{"POST after 503", status503, true, true, 1},
		{"POST after reset", resetConn, true, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, count := flaky(t, 1, tt.fail)
			c := &Client{BaseURL: srv.URL}
			var err error
			if tt.post {
				_, err = c.CreateRun(context.Background(), "tok", 1, CreateAgentRunInput{Prompt: json.RawMessage(`"x"`)})
			} else {
				_, err = c.GetRun(context.Background(), "tok", 1, 2)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error: %v", err, tt.wantErr)
			}
			if got := count.Load(); got != tt.wantCalls {
				t.Errorf("upstream calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRetriesStopAtTheLimit(t *testing.T) {
	t.Parallel()
	srv, count := flaky(t, 100, status503)
	c := &Client{BaseURL: srv.URL, Retries: 3}
	_, err := c.GetRun(context.Background(), "tok", 1, 2)
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 503 {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if got := count.Load(); got != 4 {
		t.Errorf("upstream calls = %d, want 4 (1 + 3 retries)", got)
	}
}

func TestTimeoutAndCallerCancellationAreTold(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c := &Client{BaseURL: srv.URL, Timeout: 50 * time.Millisecond}
	_, err := c.GetRun(context.Background(), "tok", 1, 2)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("slow upstream: err = %v, want ErrTimeout", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	c.Timeout = time.Minute
	_, err = c.GetRun(ctx, "tok", 1, 2)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("caller left: err = %v, want context.Canceled", err)
	}
}

func TestUnusableAnswersAreBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantCalls int32 // a broken connection is retried; a bad answer is not
	}{
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"id": 1,`) }, 1},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `"`+strings.Repeat("a", 2048)+`"`) }, 1},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
		}, 1},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `{"id":`)
			resetConn(w)
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tt.handler(w, r)
			}))
			defer srv.Close()
			c := &Client{BaseURL: srv.URL, MaxResponseBytes: 1024}
			_, err := c.GetRun(context.Background(), "tok", 1, 2)
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("err = %v, want ErrBadResponse", err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("upstream calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestConnectionRefusedIsUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := &Client{BaseURL: url, Retries: 1}
	_, err := c.CurrentUser(context.Background(), "tok")
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("a wait with nothing in its way: got false, want true")
	}
	short, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if Sleep(short, 2*time.Hour) {
		t.Error("a wait past ctx's deadline: got true, want false at once")
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(gone, time.Hour) {
		t.Error("a wait on an ended ctx: got true, want false")
	}
}
