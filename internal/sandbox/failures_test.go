package sandbox

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

func TestFailureModesAnswerLikeTheAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	tests := []struct {
		name, method, path, tok, body string
		status                        int
		loc                           string // for 422: the first error's location
	}{
		{"no token", "GET", "/v1/users/me", "", "", 401, ""},
		{"foreign org", "GET", "/v1/organizations/999/agent/runs", "sandbox", "", 403, ""},
		{"foreign org create", "POST", "/v1/organizations/999/agent/run", "sandbox", `{"prompt":"x"}`, 403, ""},
		{"unknown run", "GET", "/v1/organizations/323/agent/run/777", "sandbox", "", 404, ""},
		{"run of the other org", "GET", "/v1/organizations/324/agent/run/12345", "sandbox", "", 404, ""},
		{"unknown run logs", "GET", "/v1/alpha/organizations/323/agent/run/777/logs", "sandbox", "", 404, ""},
		{"resume unknown run", "POST", "/v1/organizations/323/agent/run/resume", "sandbox", `{"agent_run_id":777,"prompt":"x"}`, 404, ""},
		{"limit over 100", "GET", "/v1/organizations/323/agent/runs?limit=101", "sandbox", "", 422, "query.limit"},
		{"negative skip", "GET", "/v1/organizations?skip=-1", "sandbox", "", 422, "query.skip"},
		{"id not an integer", "GET", "/v1/organizations/323/agent/run/abc", "sandbox", "", 422, "path.agent_run_id"},
		{"bad reverse", "GET", "/v1/alpha/organizations/323/agent/run/12345/logs?reverse=maybe", "sandbox", "", 422, "query.reverse"},
		{"bad source type", "GET", "/v1/organizations/323/agent/runs?source_type=EMAIL", "sandbox", "", 422, "query.source_type"},
		{"missing prompt", "POST", "/v1/organizations/323/agent/run", "sandbox", `{}`, 422, "body.prompt"},
		{"prompt not a string", "POST", "/v1/organizations/323/agent/run", "sandbox", `{"prompt":1}`, 422, "body.prompt"},
		{"bad agent type", "POST", "/v1/organizations/323/agent/run", "sandbox", `{"prompt":"x","agent_type":"gpt"}`, 422, "body.agent_type"},
		{"not JSON", "POST", "/v1/organizations/323/agent/run", "sandbox", `{"prompt":`, 422, "body.10"},
		{"resume without run id", "POST", "/v1/organizations/323/agent/run/resume", "sandbox", `{"prompt":"x"}`, 422, "body.agent_run_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status == 422 {
				var v codegen.ValidationErrorBody
				resp := f.do(tt.method, tt.path, tt.tok, tt.body, &v)
				if resp.StatusCode != 422 || len(v.Detail) == 0 {
					t.Fatalf("got %d %+v, want 422 with details", resp.StatusCode, v)
				}
				if loc := joinLoc(v.Detail[0].Loc); loc != tt.loc {
					t.Errorf("loc %s, want %s", loc, tt.loc)
				}
				return
			}
			var e codegen.ErrorBody
			resp := f.do(tt.method, tt.path, tt.tok, tt.body, &e)
			if resp.StatusCode != tt.status || e.StatusCode != tt.status || e.Message == "" {
				t.Errorf("got %d %+v, want %d with {message, status_code}", resp.StatusCode, e, tt.status)
			}
		})
	}
}

func joinLoc(loc []any) string {
	s := ""
	for i, l := range loc {
		if i > 0 {
			s += "."
		}
		s += fmt.Sprint(l)
	}
	return s
}

func TestRateLimitsPerTokenAndEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{RateLimits: true})
	for i := 0; i < 10; i++ {
		f.create(`{"prompt":"x"}`)
	}
	var e codegen.ErrorBody
	resp := f.do("POST", "/v1/organizations/323/agent/run", "sandbox", `{"prompt":"x"}`, &e)
	if resp.StatusCode != 429 || e.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("11th create: %d Retry-After %q, want 429 with Retry-After 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := f.do("POST", "/v1/organizations/323/agent/run", "other-token", `{"prompt":"x"}`, nil); resp.StatusCode != 200 {
		t.Errorf("another token was limited: %d", resp.StatusCode)
	}
	if resp := f.do("GET", "/v1/users/me", "sandbox", "", nil); resp.StatusCode != 200 {
		t.Errorf("reads share the create limit: %d", resp.StatusCode)
	}
	f.clock.Advance(45 * time.Second)
	resp = f.do("POST", "/v1/organizations/323/agent/run", "sandbox", `{"prompt":"x"}`, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "15" {
		t.Errorf("later create: %d Retry-After %q, want 429 and 15", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	f.clock.Advance(15 * time.Second)
	f.create(`{"prompt":"x"}`)

	for i := 0; i < 60; i++ {
		f.do("GET", "/v1/alpha/organizations/323/agent/run/12345/logs", "sandbox", "", nil)
	}
	if resp := f.do("GET", "/v1/alpha/organizations/323/agent/run/12345/logs", "sandbox", "", nil); resp.StatusCode != 429 {
		t.Errorf("61st log read: %d, want 429", resp.StatusCode)
	}
	for i := 0; i < 60; i++ { // the users/me read above was in an earlier window
		f.do("GET", "/v1/organizations/323/agent/run/12345", "sandbox", "", nil)
	}
	if resp := f.do("GET", "/v1/organizations/323/agent/run/12345", "sandbox", "", nil); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "30" {
		t.Errorf("61st general read in 30 s: %d Retry-After %q, want 429 and 30", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestRateLimitWindowsAreBounded: the limiter kept a window per token and
// limit class, and only dropped ended ones, so tokens enough within a minute
// grew it without bound. While maxWindows windows are live a new token is
// refused with 429 until the oldest ends; known tokens go on as before.
func TestRateLimitWindowsAreBounded(t *testing.T) {
	t.Parallel()
	clock := newClock()
	sb := New(Options{Now: clock.Now, RateLimits: true})
	for i := range maxWindows {
		sb.limits.allow(generalLimit, "token-"+strconv.Itoa(i))
		if i == maxWindows/2 {
			clock.Advance(20 * time.Second)
		}
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, clock: clock, url: srv.URL}
	resp := f.do("GET", "/v1/users/me", "a-new-token", "", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "40" {
		t.Errorf("new token with every window live: %d Retry-After %q, want 429 and 40", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := f.do("GET", "/v1/users/me", "token-1", "", nil); resp.StatusCode != 200 {
		t.Errorf("known token: %d, want 200", resp.StatusCode)
	}
	clock.Advance(40 * time.Second)
	if resp := f.do("GET", "/v1/users/me", "a-new-token", "", nil); resp.StatusCode != 200 {
		t.Errorf("new token once the oldest windows ended: %d, want 200", resp.StatusCode)
	}
	sb.limits.mu.Lock()
	n := len(sb.limits.windows)
	sb.limits.mu.Unlock()
	if n > maxWindows {
		t.Errorf("%d windows, want at most %d", n, maxWindows)
	}
}

func TestSeedDataAndListing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var orgs codegen.Page[codegen.Organization]
	f.do("GET", "/v1/organizations", "sandbox", "", &orgs)
	if orgs.Total != 2 || orgs.Items[0].ID != 323 || orgs.Items[1].ID != 324 {
		t.Errorf("organizations %+v", orgs)
	}
	var me codegen.User
	f.do("GET", "/v1/users/me", "any-token", "", &me)
	if me.ID == 0 || me.GithubUsername == "" {
		t.Errorf("user %+v", me)
	}
	newest := f.create(`{"prompt":"x"}`)
	var page codegen.Page[codegen.AgentRun]
	f.do("GET", "/v1/organizations/323/agent/runs?limit=3&skip=0", "sandbox", "", &page)
	if page.Total != 7 || page.Pages != 3 || page.Size != 3 || page.Items[0].ID != newest.ID || page.Items[1].ID != 12345 {
		t.Errorf("page %+v, want 7 runs newest first", page)
	}
	f.do("GET", "/v1/organizations/323/agent/runs?source_type=API&user_id=1001", "sandbox", "", &page)
	if page.Total != 2 {
		t.Errorf("API runs of user 1001: %d, want 2", page.Total)
	}
	statuses := map[string]bool{}
	f.do("GET", "/v1/organizations/323/agent/runs?skip=1", "sandbox", "", &page)
	for _, r := range page.Items {
		statuses[*r.Status] = true
	}
	if len(statuses) < 4 {
		t.Errorf("seed runs have statuses %v, want several terminal ones", statuses)
	}
}

func TestConcurrentUseAndBoundedMemory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxRuns: 20, Step: time.Millisecond})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				run := f.create(`{"prompt":"x"}`)
				f.clock.Advance(time.Millisecond)
				f.do("GET", "/v1/alpha/organizations/323/agent/run/"+strconv.FormatInt(run.ID, 10)+"/logs", "sandbox", "", nil)
				f.do("GET", "/v1/organizations/323/agent/runs", "sandbox", "", nil)
			}
		}()
	}
	wg.Wait()
	var page codegen.Page[codegen.AgentRun]
	f.do("GET", "/v1/organizations/323/agent/runs", "sandbox", "", &page)
	if page.Total != 20+6 {
		t.Errorf("%d runs kept, want the 20 newest plus 6 seed runs", page.Total)
	}
}

// FuzzSandboxBodies sends arbitrary bodies to the sandbox's create and
// resume endpoints: the answer is 200, 402 or 422, never a crash or a 5xx.
func FuzzSandboxBodies(f *testing.F) {
	for _, b := range []string{`{"prompt":"x"}`, `{"prompt":"x sandbox:logs=3"}`, `{"agent_run_id":12345,"prompt":"y"}`, `[]`, `null`, `{"prompt":1}`,
		`{"prompt":"x","metadata":{"sandbox_logs":"many"}}`, `{"prompt":"sandbox:step=0"}`, `{`} {
		f.Add(b, false)
		f.Add(b, true)
	}
	sb := New(Options{Now: newClock().Now})
	f.Fuzz(func(t *testing.T, body string, resume bool) {
		path := "/v1/organizations/323/agent/run"
		if resume {
			path += "/resume"
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sandbox")
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 402 && rec.Code != 404 && rec.Code != 422 {
			t.Fatalf("%q answered %d: %s", body, rec.Code, rec.Body)
		}
	})
}
