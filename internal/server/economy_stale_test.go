package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAKept404IsNeverServedStale: a 404 is kept for CACHE_NOT_FOUND only,
// as README says; once it expires, a spent budget is answered 429, not with
// the old 404 marked stale for up to CACHE_MAX_STALE.
func TestAKept404IsNeverServedStale(t *testing.T) {
	t.Parallel()
	e := newEcon(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/run/7") {
			jsonAnswer(http.StatusNotFound, `{"message":"Agent run not found."}`)(w, r)
			return
		}
		runAnswer(w, r)
	}, nil)
	if resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/7", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("run 7: got %d, want 404", resp.StatusCode)
	}
	e.clock.Advance(3 * time.Second) // past CACHE_NOT_FOUND (2 s), well within CACHE_MAX_STALE (30 s)
	refused := false
	for i := 0; i < 40 && !refused; i++ { // distinct reads spend the budget
		resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/"+strconv.Itoa(100+i), "")
		refused = resp.StatusCode == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("distinct reads never spent the budget")
	}
	resp, _ := call(t, http.MethodGet, e.url+"/agent-runs/7", "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("run 7, its 404 expired, over budget: got %d (Cache-Status %q), want 429", resp.StatusCode, resp.Header.Get("Cache-Status"))
	}
}

// TestFilteredAnswersFreshnessIsTheirOldestPages: a filtered page is made
// from cached pages; its Age and max-age are its oldest page's, not a whole
// freshness from now.
func TestFilteredAnswersFreshnessIsTheirOldestPages(t *testing.T) {
	t.Parallel()
	e := newEcon(t, runAnswer, nil)
	for _, path := range []string{"/agent-runs?status=running", "/agent-runs/5/logs?message_type=ACTION"} {
		resp, body := call(t, http.MethodGet, e.url+path, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "private, max-age=2" {
			t.Fatalf("%s: got %d, Cache-Control %q (%s); want 200 and max-age=2", path, resp.StatusCode, resp.Header.Get("Cache-Control"), body)
		}
	}
	e.clock.Advance(time.Second)
	for _, path := range []string{"/agent-runs?status=running", "/agent-runs/5/logs?message_type=ACTION"} {
		resp, _ := call(t, http.MethodGet, e.url+path, "")
		if cc, age := resp.Header.Get("Cache-Control"), resp.Header.Get("Age"); cc != "private, max-age=1" || age != "1" {
			t.Errorf("%s from pages read 1 s ago: Cache-Control %q, Age %q; want max-age=1 and Age 1", path, cc, age)
		}
	}
	if n := e.calls.Load(); n != 2 {
		t.Errorf("upstream calls: got %d, want 2 (each scan's page read once)", n)
	}
}
