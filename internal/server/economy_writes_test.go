package server

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// A read asked after a write of the same token must not join a call sent
// before the write: that call may read the run as it was, and the client
// would see its own successful stop undone.
func TestAReadAfterAWriteDoesNotJoinAnEarlierCall(t *testing.T) {
	t.Parallel()
	var status atomic.Value
	status.Store("RUNNING")
	release := make(chan struct{})
	var first atomic.Bool
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			status.Store("STOPPED")
			jsonAnswer(http.StatusOK, `{"id":5,"status":"STOPPED"}`)(w, r)
			return
		}
		seen := status.Load().(string) // the run as it was when the read arrived
		if first.CompareAndSwap(false, true) {
			<-release
		}
		jsonAnswer(http.StatusOK, `{"id":5,"status":"`+seen+`"}`)(w, r)
	}, nil)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	before := make(chan struct{})
	go func() {
		defer close(before)
		get(e.url + "/agent-runs/5")
	}()
	waitUntil(t, "the first read to reach upstream", func() bool { return e.calls.Load() == 1 })
	if resp, body := call(t, http.MethodPost, e.url+"/agent-runs/5/stop", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("stop: got %d %s, want 200", resp.StatusCode, body)
	}
	after := make(chan answer, 1)
	go func() { after <- get(e.url + "/agent-runs/5") }()
	// Answered on its own, or (the defect) waiting beside the first read.
	waitUntil(t, "the read after the stop to be answered or to wait", func() bool {
		return len(after) == 1 || e.cache.Waiting() == 2
	})
	free()
	got := <-after
	if !strings.Contains(got.body, "STOPPED") {
		t.Errorf("read after a successful stop: got %s %v (Cache-Status %q), want STOPPED", got.body, got.err, got.cacheStatus)
	}
	<-before
}

// answer is what get read.
type answer struct {
	cacheStatus, body string
	err               error
}

// get reads url with the secret token, for a goroutine other than the
// test's, which must not call t.Fatal.
func get(url string) answer {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+secretToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.Header.Get("Cache-Status"), string(b), err}
}

// TestPassThroughWritesInvalidate: a write through /v1 drops the caller's
// cached reads of the organization its path names, or all of them when it
// names none; a read through /v1 drops nothing.
func TestPassThroughWritesInvalidate(t *testing.T) {
	t.Parallel()
	reads := []string{"/agent-runs/5", "/integrations", "/users/me"}
	cases := []struct {
		name, method, path, body string
		refetched                []string
	}{
		{"resume", http.MethodPost, "/v1/organizations/323/agent/run/resume", `{"agent_run_id":5,"prompt":"go on"}`, []string{"/agent-runs/5", "/integrations"}},
		{"beta stop", http.MethodPost, "/v1/beta/organizations/323/agent/run/stop", `{"agent_run_id":5}`, []string{"/agent-runs/5", "/integrations"}},
		{"another org", http.MethodPost, "/v1/organizations/999/agent/run/resume", `{"agent_run_id":5,"prompt":"go on"}`, nil},
		{"no org", http.MethodPut, "/v1/users/me", `{"name":"n"}`, reads},
		{"read", http.MethodGet, "/v1/organizations/323/agent/run/5", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEcon(t, runAnswer, nil)
			for _, p := range reads {
				call(t, http.MethodGet, e.url+p, "")
			}
			if resp, body := call(t, tc.method, e.url+tc.path, tc.body); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: got %d %s, want 200", tc.method, tc.path, resp.StatusCode, body)
			}
			for _, p := range reads {
				resp, _ := call(t, http.MethodGet, e.url+p, "")
				hit := strings.Contains(resp.Header.Get("Cache-Status"), "; hit")
				if want := !slices.Contains(tc.refetched, p); hit != want {
					t.Errorf("%s after %s: Cache-Status %q, want hit=%v", p, tc.name, resp.Header.Get("Cache-Status"), want)
				}
			}
		})
	}
}
