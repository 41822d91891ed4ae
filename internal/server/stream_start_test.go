package server

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// slowOrgs is an upstream whose organization list answers only when the
// test says so, and with what it says: a stream of a request that names no
// organization waits on it.
type slowOrgs struct {
	*upstream
	answer chan http.HandlerFunc // how the held lookup answers
}

func newSlowOrgs(t *testing.T) *slowOrgs {
	t.Helper()
	s := &slowOrgs{answer: make(chan http.HandlerFunc, 1)}
	s.upstream = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/organizations"):
			select {
			case answer := <-s.answer:
				answer(w, r)
			case <-r.Context().Done():
			}
		case strings.HasSuffix(r.URL.Path, "/logs"):
			jsonAnswer(200, `{"id":7,"status":"RUNNING","logs":[{"thought":"t"}],"total_logs":1}`)(w, r)
		default:
			jsonAnswer(200, `{"id":7,"status":"RUNNING","summary":"s","github_pull_requests":[]}`)(w, r)
		}
	})
	return s
}

// streamLines opens a stream of run 7 with no organization named and
// returns the response and its body's lines as they come.
func streamLines(t *testing.T, proxy string) (*http.Response, <-chan string) {
	t.Helper()
	req, _ := http.NewRequest("GET", proxy+"/agent-runs/7/logs/stream", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req) // the headers, within the timeout
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return resp, lines
}

// nextLines returns the body's next n lines, failing after 10 s.
func nextLines(t *testing.T, lines <-chan string, n int) string {
	t.Helper()
	var got []string
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended after %q", got)
			}
			got = append(got, l)
		case <-deadline:
			t.Fatalf("got %q, then nothing for 10 s", got)
		}
	}
	return strings.Join(got, "\n")
}

// TestStreamStartsWhileItsOrganizationIsLookedUp streams with no
// organization named or configured, while the upstream holds the lookup of
// the caller's first one: the headers and the waiting comment come while it
// is held; then the stream goes on with the organization found, or ends
// with the lookup's error as an event.
func TestStreamStartsWhileItsOrganizationIsLookedUp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		answer http.HandlerFunc
		want   string // the lines after the waiting comment
	}{
		{"then found", jsonAnswer(200, `{"items":[{"id":323,"name":"o"}],"total":1,"page":1,"size":1,"pages":1}`),
			"event: status\ndata: " + `{"id":7,"status":"RUNNING","result":null,"summary":"s","github_pull_requests":[]}`},
		{"then refused", jsonAnswer(401, `{"message":"Invalid token"}`), "event: error\ndata: {\"error\":\"Invalid token\",\"status_code\":401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newSlowOrgs(t)
			proxy := newProxy(t, u.upstream, proxyOpts{config: func(c *config.Config) { c.OrgID = 0 }})
			resp, lines := streamLines(t, proxy)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, Content-Type %q; want a 200 event stream", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if got, want := nextLines(t, lines, 4), fmt.Sprintf("retry: %d\n\n: waiting for the upstream\n", retryHint.Milliseconds()); got != want {
				t.Fatalf("the stream opens with %q, want %q", got, want)
			}
			u.answer <- tt.answer // until now the upstream had no answer for the lookup
			if got := nextLines(t, lines, 2); !strings.HasPrefix(got, tt.want) {
				t.Errorf("after the lookup answered: %q, want %q...", got, tt.want)
			}
		})
	}
}

// TestStreamLookupAnsweredPromptlyIsAPlainError: a lookup that fails
// before the stream must start is answered as a plain HTTP error, which
// stops a browser's EventSource from retrying.
func TestStreamLookupAnsweredPromptlyIsAPlainError(t *testing.T) {
	t.Parallel()
	u := newSlowOrgs(t)
	u.answer <- jsonAnswer(401, `{"message":"Invalid token"}`)
	proxy := newProxy(t, u.upstream, proxyOpts{config: func(c *config.Config) { c.OrgID = 0 }})
	resp, _ := streamLines(t, proxy)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Errorf("status %d, Content-Type %q; want a 401 envelope", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	io.Copy(io.Discard, resp.Body)
}
