package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

func newClock() *Clock { return NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) }

// fixture is a sandbox on a fake clock behind a real HTTP server.
type fixture struct {
	t     *testing.T
	clock *Clock
	url   string
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	c := newClock()
	o.Now = c.Now
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return &fixture{t: t, clock: c, url: srv.URL}
}

// do sends a request with token tok ("" for none) and decodes a JSON answer
// into out when out is not nil.
func (f *fixture) do(method, path, tok, body string, out any) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatalf("%s %s: decoding %q: %v", method, path, b, err)
		}
	}
	return resp
}

// create makes a run in org 323 and returns it.
func (f *fixture) create(body string) codegen.AgentRun {
	f.t.Helper()
	var run codegen.AgentRun
	if resp := f.do("POST", "/v1/organizations/323/agent/run", "sandbox", body, &run); resp.StatusCode != 200 {
		f.t.Fatalf("create: status %d", resp.StatusCode)
	}
	return run
}

// logs returns the run's state and all its logs.
func (f *fixture) logs(id int64) codegen.AgentRunWithLogs {
	f.t.Helper()
	var all codegen.AgentRunWithLogs
	for skip := 0; ; skip += 100 {
		var page codegen.AgentRunWithLogs
		f.do("GET", fmt.Sprintf("/v1/alpha/organizations/323/agent/run/%d/logs?skip=%d", id, skip), "sandbox", "", &page)
		logs := append(all.Logs, page.Logs...)
		all, all.Logs = page, logs
		if len(page.Logs) < 100 {
			return all
		}
	}
}

func types(logs []codegen.AgentRunLog) []string {
	var out []string
	for _, l := range logs {
		out = append(out, *l.MessageType)
	}
	return out
}

func TestARunLivesThroughItsStatusesToACompleteResult(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Step: time.Second})
	run := f.create(`{"prompt":"Create a Python function to calculate fibonacci numbers","metadata":{"source":"api"}}`)
	if *run.Status != "PENDING" || run.OrganizationID != 323 || run.Result != nil || run.GithubPullRequests != nil ||
		!strings.HasPrefix(*run.WebURL, "https://sandbox.codegen.invalid/") || run.Metadata["source"] != "api" {
		t.Fatalf("new run = %+v", run)
	}
	var seenStatuses []string
	for i := 0; i < 12; i++ {
		l := f.logs(run.ID)
		if n := len(seenStatuses); n == 0 || seenStatuses[n-1] != *l.Status {
			seenStatuses = append(seenStatuses, *l.Status)
		}
		f.clock.Advance(time.Second)
	}
	if got := strings.Join(seenStatuses, " "); got != "PENDING ACTIVE RUNNING COMPLETE" {
		t.Errorf("statuses %s, want PENDING ACTIVE RUNNING COMPLETE", got)
	}
	l := f.logs(run.ID)
	if len(l.Logs) != defaultLogs || *l.TotalLogs != defaultLogs {
		t.Fatalf("%d logs (total_logs %d), want %d", len(l.Logs), *l.TotalLogs, defaultLogs)
	}
	kinds := types(l.Logs)
	if kinds[0] != "PLAN_EVALUATION" || kinds[len(kinds)-1] != "FINAL_ANSWER" || !strings.Contains(strings.Join(kinds, " "), "ACTION") {
		t.Errorf("message types %v", kinds)
	}
	for _, lg := range l.Logs {
		if lg.AgentRunID != run.ID || lg.CreatedAt == nil {
			t.Errorf("log %+v lacks its run id or time", lg)
		}
		if *lg.MessageType == "ACTION" && (lg.ToolName == nil || lg.ToolInput == nil || lg.ToolOutput == nil) {
			t.Errorf("ACTION log without tool fields: %+v", lg)
		}
	}
	var final codegen.AgentRun
	f.do("GET", fmt.Sprintf("/v1/organizations/323/agent/run/%d", run.ID), "sandbox", "", &final)
	if final.Result == nil || final.Summary == nil || len(final.GithubPullRequests) != 1 || final.GithubPullRequests[0].URL == nil {
		t.Errorf("finished run lacks result, summary or PR: %+v", final)
	}
}

func TestScriptedOutcomes(t *testing.T) {
	t.Parallel()
	for _, outcome := range []string{"FAILED", "ERROR", "CANCELLED", "STOPPED", "TIMEOUT", "MAX_ITERATIONS_REACHED", "OUT_OF_TOKENS"} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			byPrompt := f.create(fmt.Sprintf(`{"prompt":"Do it sandbox:%s"}`, strings.ToLower(outcome)))
			byMetadata := f.create(fmt.Sprintf(`{"prompt":"Do it","metadata":{"sandbox_outcome":%q}}`, outcome))
			f.clock.Advance(time.Hour)
			for _, run := range []codegen.AgentRun{byPrompt, byMetadata} {
				l := f.logs(run.ID)
				if *l.Status != outcome || l.Result == nil || types(l.Logs)[len(l.Logs)-1] != "ERROR" {
					t.Errorf("status %s result %v last log %v, want %s with a result and an ERROR log",
						*l.Status, l.Result, types(l.Logs)[len(l.Logs)-1], outcome)
				}
			}
		})
	}
}

func TestPausedRunWaitsAndResumeBringsItBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	run := f.create(`{"prompt":"Refactor sandbox:PAUSED"}`)
	f.clock.Advance(time.Hour)
	before := f.logs(run.ID)
	if *before.Status != "PAUSED" {
		t.Fatalf("status %s, want PAUSED", *before.Status)
	}
	var resumed codegen.AgentRun
	body := fmt.Sprintf(`{"agent_run_id":%d,"prompt":"Keep backwards compatibility"}`, run.ID)
	if resp := f.do("POST", "/v1/organizations/323/agent/run/resume", "sandbox", body, &resumed); resp.StatusCode != 200 {
		t.Fatalf("resume: status %d", resp.StatusCode)
	}
	after := f.logs(run.ID)
	last := after.Logs[len(after.Logs)-1]
	if *resumed.Status != "ACTIVE" || *last.MessageType != "USER_MESSAGE" || last.Observation != "Keep backwards compatibility" {
		t.Errorf("after resume: status %s, last log %+v", *resumed.Status, last)
	}
	f.clock.Advance(time.Hour)
	if l := f.logs(run.ID); *l.Status != "COMPLETE" || len(l.Logs) <= len(after.Logs) {
		t.Errorf("resumed run ended %s with %d logs", *l.Status, len(l.Logs))
	}
}

func TestManyLogsAndCustomStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	run := f.create(`{"prompt":"Big one","metadata":{"sandbox_logs":350,"sandbox_step":"10ms"}}`)
	f.clock.Advance(50 * time.Millisecond)
	if n := len(f.logs(run.ID).Logs); n == 0 || n >= 350 {
		t.Errorf("after 5 steps %d logs, want some but not all", n)
	}
	f.clock.Advance(time.Second)
	l := f.logs(run.ID)
	if len(l.Logs) != 350 || *l.Status != "COMPLETE" || *l.Pages != 4 {
		t.Errorf("%d logs status %s pages %d, want 350 COMPLETE 4", len(l.Logs), *l.Status, *l.Pages)
	}
	var rev codegen.AgentRunWithLogs
	f.do("GET", fmt.Sprintf("/v1/alpha/organizations/323/agent/run/%d/logs?reverse=true&limit=1", run.ID), "sandbox", "", &rev)
	if *rev.Logs[0].MessageType != "FINAL_ANSWER" {
		t.Errorf("reverse first log %s, want FINAL_ANSWER", *rev.Logs[0].MessageType)
	}
}

func TestPaymentRequiredAndBadDirectives(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var e codegen.ErrorBody
	if resp := f.do("POST", "/v1/organizations/323/agent/run", "sandbox", `{"prompt":"x sandbox:payment_required"}`, &e); resp.StatusCode != 402 || e.StatusCode != 402 || e.Message == "" {
		t.Errorf("got %d %+v, want 402 with the API's body", resp.StatusCode, e)
	}
	var v codegen.ValidationErrorBody
	if resp := f.do("POST", "/v1/organizations/323/agent/run", "sandbox", `{"prompt":"x sandbox:explode"}`, &v); resp.StatusCode != 422 || len(v.Detail) != 1 {
		t.Errorf("got %d %+v, want 422 naming the directive", resp.StatusCode, v)
	}
}

func TestResumedSeedRunMovesAtTheSandboxStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Step: time.Second})
	var run codegen.AgentRun
	f.do("POST", "/v1/organizations/323/agent/run/resume", "sandbox", `{"agent_run_id":12345,"prompt":"More"}`, &run)
	f.clock.Advance(5 * time.Second)
	if l := f.logs(12345); *l.Status != "COMPLETE" {
		t.Errorf("resumed seed run is %s after 5 steps of 1 s, want COMPLETE", *l.Status)
	}
}
