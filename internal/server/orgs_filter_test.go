package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// TestFirstOrganizationIsLookedUpPerTokenAndCached checks the fallback org:
// each token gets its own first organization, looked up once and reused,
// and one caller's org is never used for another.
func TestFirstOrganizationIsLookedUpPerTokenAndCached(t *testing.T) {
	t.Parallel()
	orgOf := map[string]int{"Bearer alice": 11, "Bearer bob": 22}
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/organizations" {
			fmt.Fprintf(w, `{"items":[{"id":%d,"name":"o","settings":{}}],"total":1,"page":1,"size":1,"pages":1}`, orgOf[r.Header.Get("Authorization")])
			return
		}
		io := `{"id":1,"organization_id":1}`
		w.Write([]byte(io))
	})
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.OrgID = 0 }})
	for _, tok := range []string{"alice", "bob", "alice", "bob", "alice"} {
		if resp, body := call(t, "GET", proxy+"/agent-runs/5", "", "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
	var lookups int
	for _, s := range u.requests() {
		switch {
		case s.Path == "/v1/organizations":
			lookups++
			if s.Query != "limit=1" {
				t.Errorf("org lookup query %q, want limit=1", s.Query)
			}
		case s.Path != fmt.Sprintf("/v1/organizations/%d/agent/run/5", orgOf[s.Auth]):
			t.Errorf("%s used %s: another caller's organization", s.Auth, s.Path)
		}
	}
	if lookups != 2 {
		t.Errorf("organization lookups = %d, want 2 (one per token)", lookups)
	}
}

func TestCallerWithoutOrganizationsIs403(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"items":[],"total":0,"page":1,"size":1,"pages":0}`))
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.OrgID = 0 }})
	resp, body := call(t, "GET", proxy+"/agent-runs", "")
	if resp.StatusCode != 403 || decodeEnvelope(t, body).Code != "no_organization" {
		t.Errorf("got %d %s, want 403 no_organization", resp.StatusCode, body)
	}
}

// fakeList answers list and logs calls from n records, record i having
// status (or message type) kinds[i%len(kinds)], honouring skip, limit and
// reverse as the API does.
func fakeList(t *testing.T, n int, kinds ...string) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		skip, _ := strconv.Atoi(q.Get("skip"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		if limit > 100 || limit < 1 {
			jsonAnswer(422, `{"detail":[{"loc":["query","limit"],"msg":"bad","type":"x"}]}`)(w, r)
			return
		}
		var items []json.RawMessage
		for i := skip; i < skip+limit && i < n; i++ {
			pos := i
			if q.Get("reverse") == "true" {
				pos = n - 1 - i
			}
			k := kinds[pos%len(kinds)]
			items = append(items, json.RawMessage(fmt.Sprintf(`{"id":%d,"status":%q,"message_type":%q,"agent_run_id":1}`, pos, k, k)))
		}
		if items == nil {
			items = []json.RawMessage{}
		}
		var body []byte
		if strings.HasSuffix(r.URL.Path, "/logs") {
			body, _ = json.Marshal(map[string]any{"id": 1, "organization_id": 323, "status": "RUNNING", "logs": items,
				"total_logs": n, "page": skip/limit + 1, "size": limit, "pages": (n + limit - 1) / limit})
		} else {
			body, _ = json.Marshal(codegen.RawPage{Items: items, Total: n, Page: skip/limit + 1, Size: limit, Pages: (n + limit - 1) / limit})
		}
		w.Write(body)
	})
}

// ids returns the "id" of each item.
func ids(t *testing.T, items []json.RawMessage) []int {
	t.Helper()
	out := []int{}
	for _, it := range items {
		var v struct{ ID int }
		if err := json.Unmarshal(it, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.ID)
	}
	return out
}

func TestStatusFilterScansUpstreamPagesForExactPages(t *testing.T) {
	t.Parallel()
	// 250 runs cycling COMPLETE, FAILED, RUNNING, running: 125 match
	// "complete,running" (positions 0, 2, 3, 4, 6, 7, ... : all but i%4==1).
	u := fakeList(t, 250, "COMPLETE", "FAILED", "RUNNING", "running")
	proxy := newProxy(t, u, proxyOpts{})
	resp, body := call(t, "GET", proxy+"/agent-runs?status=complete,RUNNING&page=13&limit=15", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var page codegen.RawPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	var want []int
	for i := 0; i < 250; i++ {
		if i%4 != 1 {
			want = append(want, i)
		}
	}
	if page.Total != len(want) || page.Page != 13 || page.Size != 15 || page.Pages != 13 {
		t.Errorf("envelope total %d page %d size %d pages %d, want %d 13 15 13", page.Total, page.Page, page.Size, page.Pages, len(want))
	}
	got, wantPage := ids(t, page.Items), want[180:]
	if fmt.Sprint(got) != fmt.Sprint(wantPage) {
		t.Errorf("items %v, want %v", got, wantPage)
	}
	if resp.Header.Get("X-Filter-Complete") != "true" || resp.Header.Get("X-Filter-Scanned") != "250" {
		t.Errorf("scan headers %v", resp.Header)
	}
	if n := len(u.requests()); n != 3 {
		t.Errorf("upstream calls = %d, want 3 pages of 100", n)
	}
}

func TestFilterPastTheScanLimit(t *testing.T) {
	t.Parallel()
	u := fakeList(t, 1000, "COMPLETE", "FAILED")
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) { c.FilterScanLimit = 150 }})

	// The first page fills within the limit: exact items, lower-bound total.
	resp, body := call(t, "GET", proxy+"/agent-runs?status=FAILED&limit=10", "")
	var page codegen.RawPage
	json.Unmarshal([]byte(body), &page)
	if resp.StatusCode != 200 || fmt.Sprint(ids(t, page.Items)) != "[1 3 5 7 9 11 13 15 17 19]" || page.Total != 75 {
		t.Errorf("got %d items %v total %d, want the first 10 odd ids and total 75", resp.StatusCode, ids(t, page.Items), page.Total)
	}
	if resp.Header.Get("X-Filter-Complete") != "false" || resp.Header.Get("X-Filter-Scanned") != "150" {
		t.Errorf("scan headers %v", resp.Header)
	}

	// A page beyond it cannot be filled honestly: refused, not returned short.
	resp, body = call(t, "GET", proxy+"/agent-runs?status=FAILED&page=8&limit=10", "")
	if resp.StatusCode != 422 || decodeEnvelope(t, body).Code != "filter_scan_limit" {
		t.Errorf("got %d %s, want 422 filter_scan_limit", resp.StatusCode, body)
	}
}

func TestMessageTypeFilterKeepsTheRunAndReverseOrder(t *testing.T) {
	t.Parallel()
	u := fakeList(t, 130, "ACTION", "PLAN_EVALUATION", "ACTION", "FINAL_ANSWER")
	proxy := newProxy(t, u, proxyOpts{})
	resp, body := call(t, "GET", proxy+"/agent-runs/1/logs?message_type=final_answer,plan_evaluation&limit=5&reverse=true", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got struct {
		ID        int               `json:"id"`
		Status    string            `json:"status"`
		Logs      []json.RawMessage `json:"logs"`
		TotalLogs int               `json:"total_logs"`
		Page      int               `json:"page"`
		Size      int               `json:"size"`
		Pages     int               `json:"pages"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// Matches are positions with i%4 in {1,3}: 65 of them; newest first.
	if got.ID != 1 || got.Status != "RUNNING" || got.TotalLogs != 65 || got.Page != 1 || got.Size != 5 || got.Pages != 13 {
		t.Errorf("envelope %+v", got)
	}
	if ids := fmt.Sprint(ids(t, got.Logs)); ids != "[129 127 125 123 121]" {
		t.Errorf("logs %s, want [129 127 125 123 121]", ids)
	}
	for _, s := range u.requests() {
		if !strings.Contains(s.Query, "reverse=true") {
			t.Errorf("upstream query %q lost reverse", s.Query)
		}
	}
}
