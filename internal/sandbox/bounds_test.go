package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// metadataBody is a create body whose metadata is about n bytes of JSON.
func metadataBody(n int) string {
	return fmt.Sprintf(`{"prompt":"x","metadata":{"blob":%q}}`, strings.Repeat("a", n))
}

// TestOversizedMetadataIsRefused: ten runs with 20 MB of metadata each made
// the shared run list too large to serve. Metadata past the per-run bound
// is refused with 422 like the API's validation errors, and nothing is kept.
func TestOversizedMetadataIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var before codegen.Page[codegen.AgentRun]
	f.do("GET", "/v1/organizations/323/agent/runs", "sandbox", "", &before)

	var refused codegen.ValidationErrorBody
	resp := f.do("POST", "/v1/organizations/323/agent/run", "sandbox", metadataBody(1<<20), &refused)
	if resp.StatusCode != 422 || len(refused.Detail) != 1 || fmt.Sprint(refused.Detail[0].Loc) != "[body metadata]" ||
		!strings.Contains(refused.Detail[0].Msg, "65536 bytes") {
		t.Errorf("1 MiB of metadata: %d %+v, want 422 at body.metadata naming the limit", resp.StatusCode, refused)
	}
	var after codegen.Page[codegen.AgentRun]
	f.do("GET", "/v1/organizations/323/agent/runs", "sandbox", "", &after)
	if after.Total != before.Total {
		t.Errorf("a refused run was kept: %d runs, want %d", after.Total, before.Total)
	}
	if run := f.create(metadataBody(60 << 10)); run.Metadata["blob"] == nil {
		t.Errorf("metadata under the bound was not kept")
	}
}

// TestRetainedInputIsBoundedByEvictingTheOldestRuns: past MaxBytes the
// oldest created runs are forgotten, so the list stays servable.
func TestRetainedInputIsBoundedByEvictingTheOldestRuns(t *testing.T) {
	t.Parallel()
	const perRun, total = 4 << 10, 10 << 10
	f := newFixture(t, Options{MaxRunBytes: perRun, MaxBytes: total})
	var ids []int64
	for range 10 {
		ids = append(ids, f.create(metadataBody(3<<10)).ID)
	}
	var page codegen.Page[codegen.AgentRun]
	f.do("GET", "/v1/organizations/323/agent/runs", "sandbox", "", &page)
	kept := map[int64]bool{}
	size := 0
	for _, r := range page.Items {
		if r.ID >= firstRunID {
			kept[r.ID] = true
			b, _ := json.Marshal(r.Metadata)
			size += len(b)
		}
	}
	if size > total || len(kept) < 2 {
		t.Errorf("kept %d created runs holding %d bytes of metadata, want at least 2 within %d", len(kept), size, total)
	}
	if !kept[ids[len(ids)-1]] || kept[ids[0]] {
		t.Errorf("kept %v of %v: want the newest kept and the oldest forgotten", kept, ids)
	}
}

// TestResumePromptsCountTowardTheRunBound: each resume keeps its prompt as
// a log entry; past the per-run bound a resume is refused.
func TestResumePromptsCountTowardTheRunBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxRunBytes: 4 << 10})
	body := fmt.Sprintf(`{"agent_run_id":12345,"prompt":%q}`, strings.Repeat("p", 1500))
	for i := range 2 {
		if resp := f.do("POST", "/v1/organizations/323/agent/run/resume", "sandbox", body, nil); resp.StatusCode != 200 {
			t.Fatalf("resume %d: status %d, want 200", i, resp.StatusCode)
		}
	}
	var refused codegen.ValidationErrorBody
	if resp := f.do("POST", "/v1/organizations/323/agent/run/resume", "sandbox", body, &refused); resp.StatusCode != 422 ||
		len(refused.Detail) != 1 || fmt.Sprint(refused.Detail[0].Loc) != "[body prompt]" {
		t.Errorf("third resume past the bound: %d %+v, want 422 at body.prompt", resp.StatusCode, refused)
	}
}

// TestResumesWithEmptyPromptsAreBounded: each resume costs its run a little
// memory besides its prompt (the episode that computes its logs, the pull
// request it opens), counted as resumeBytes, so even resumes with empty
// prompts cannot grow a run without bound.
func TestResumesWithEmptyPromptsAreBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxRunBytes: 8 * resumeBytes})
	body := `{"agent_run_id":12345,"prompt":""}`
	for i := range 8 {
		if resp := f.do("POST", "/v1/organizations/323/agent/run/resume", "sandbox", body, nil); resp.StatusCode != 200 {
			t.Fatalf("resume %d: status %d, want 200", i, resp.StatusCode)
		}
	}
	var refused codegen.ValidationErrorBody
	if resp := f.do("POST", "/v1/organizations/323/agent/run/resume", "sandbox", body, &refused); resp.StatusCode != 422 ||
		len(refused.Detail) != 1 || fmt.Sprint(refused.Detail[0].Loc) != "[body prompt]" {
		t.Errorf("ninth resume past the bound: %d %+v, want 422 at body.prompt", resp.StatusCode, refused)
	}
}

// TestBodiesInFlightAreBounded: the sandbox read up to 64 MiB of every
// request's body at once (32 bodies of 30 MB took it to 2.7 GB). A request
// now reserves its Content-Length, or 64 MiB when it has none, and past
// MaxInflightBodyBytes is answered 503 with Retry-After, without reading.
func TestBodiesInFlightAreBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxInflightBodyBytes: maxBody + 1}) // room for the held body only
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) }) // so that the server can close
	held := make(chan *http.Response, 1)
	go func() { // no Content-Length: it reserves maxBody until its body ends
		req, _ := http.NewRequest("POST", f.url+"/v1/organizations/323/agent/run", pr)
		req.Header.Set("Authorization", "Bearer sandbox")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			resp = &http.Response{StatusCode: -1, Body: http.NoBody}
		}
		resp.Body.Close()
		held <- resp
	}()
	pw.Write([]byte(`{"prompt":`)) //nolint:errcheck // the reader fails the request
	status := func(body string) *http.Response {
		return f.do("POST", "/v1/organizations/323/agent/run", "sandbox", body, nil) // 422 when read: no prompt
	}
	waitFor := func(what string, ok func(*http.Response) bool) *http.Response {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			if resp := status(`{}`); ok(resp) {
				return resp
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 10 s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var busy codegen.ErrorBody
	resp := waitFor("503 while a body is held", func(r *http.Response) bool { return r.StatusCode == 503 })
	f.do("POST", "/v1/organizations/323/agent/run", "sandbox", `{}`, &busy)
	if resp.Header.Get("Retry-After") != "1" || busy.StatusCode != 503 || busy.Message == "" {
		t.Errorf("over the bound: Retry-After %q, body %+v, want 1 and the API's error body", resp.Header.Get("Retry-After"), busy)
	}
	if resp := f.do("GET", "/v1/users/me", "sandbox", "", nil); resp.StatusCode != 200 {
		t.Errorf("a read with no body: %d, want 200", resp.StatusCode)
	}
	pw.Write([]byte(`"x"}`)) //nolint:errcheck
	pw.Close()
	if resp := <-held; resp.StatusCode != 200 {
		t.Errorf("the held create: %d, want 200", resp.StatusCode)
	}
	waitFor("422 once the body is released", func(r *http.Response) bool { return r.StatusCode == 422 })
}

// A body is reserved whatever the method that brings it: PUT
// check-suite-settings reads its body too, and PUT bodies were outside
// MaxInflightBodyBytes. Only GET and HEAD, whose bodies are never read,
// reserve nothing.
func TestBodiesOfEveryMethodCountAgainstTheInflightBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxInflightBodyBytes: 16})
	body := `{"ignored_checks":["` + strings.Repeat("a", 100) + `"]}`
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/organizations/323/setup-commands/generate"},
		{"PATCH", "/v1/organizations/323/prs/123450"},
		{"PUT", "/v1/organizations/323/repos/check-suite-settings?repo_id=42"},
		{"DELETE", "/v1/organizations/323/repos/check-suite-settings?repo_id=42"},
	} {
		if resp := f.do(c.method, c.path, "sandbox", body, nil); resp.StatusCode != 503 {
			t.Errorf("%s %s with %d bytes past a 16-byte bound: %d, want 503", c.method, c.path, len(body), resp.StatusCode)
		}
	}
	if resp := f.do("GET", "/v1/users/me", "sandbox", "", nil); resp.StatusCode != 200 {
		t.Errorf("GET with no body: %d, want 200", resp.StatusCode)
	}
}
