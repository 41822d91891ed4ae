package sandbox

import (
	"fmt"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// TestStopCancelsARunningRunAndLeavesAFinishedOne checks the beta stop: a
// running run ends CANCELLED and stays so as time passes, with no more
// logs; a resume sets it going again; a finished run is answered as it is.
func TestStopCancelsARunningRunAndLeavesAFinishedOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	run := f.create(`{"prompt":"Long work sandbox:logs=40"}`)
	f.clock.Advance(3 * 1200 * time.Millisecond)
	const stop = "/v1/beta/organizations/323/agent/run/stop"
	var stopped codegen.AgentRun
	if resp := f.do("POST", stop, "sandbox", fmt.Sprintf(`{"agent_run_id":%d,"before_card_order_id":"a0"}`, run.ID), &stopped); resp.StatusCode != 200 {
		t.Fatalf("stop: status %d", resp.StatusCode)
	}
	if stopped.Status == nil || *stopped.Status != "CANCELLED" {
		t.Fatalf("stopped run: status %v, want CANCELLED", stopped.Status)
	}
	before := len(f.logs(run.ID).Logs)
	f.clock.Advance(time.Hour)
	after := f.logs(run.ID)
	if *after.Status != "CANCELLED" || len(after.Logs) != before {
		t.Errorf("an hour after the stop: status %s, %d logs; want CANCELLED and still %d", *after.Status, len(after.Logs), before)
	}
	f.do("POST", "/v1/organizations/323/agent/run/resume", "sandbox", fmt.Sprintf(`{"agent_run_id":%d,"prompt":"go on"}`, run.ID), nil)
	f.clock.Advance(time.Hour)
	if got := f.logs(run.ID); *got.Status != "COMPLETE" || len(got.Logs) <= before {
		t.Errorf("resumed after the stop: status %s, %d logs; want COMPLETE with more than %d", *got.Status, len(got.Logs), before)
	}

	var finished codegen.AgentRun
	f.do("POST", stop, "sandbox", `{"agent_run_id":12340}`, &finished)
	if finished.Status == nil || *finished.Status != "FAILED" {
		t.Errorf("stopping finished run 12340: status %v, want FAILED as it was", finished.Status)
	}
	for body, want := range map[string]int{`{"agent_run_id":1}`: 404, `{}`: 422, `{"agent_run_id":"x"}`: 422, `{"agent_run_id":12345,"after_card_order_id":1}`: 422} {
		if resp := f.do("POST", stop, "sandbox", body, nil); resp.StatusCode != want {
			t.Errorf("stop %s: status %d, want %d", body, resp.StatusCode, want)
		}
	}
	if resp := f.do("POST", "/v1/beta/organizations/999/agent/run/stop", "sandbox", `{"agent_run_id":12345}`, nil); resp.StatusCode != 403 {
		t.Errorf("stop in another organization: status %d, want 403", resp.StatusCode)
	}
}

func TestCheckActionsAnswerKnownRunsOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	for _, action := range []string{"ban", "unban", "remove-from-pr"} {
		path := "/v1/organizations/323/agent/run/" + action
		for body, want := range map[string]int{`{"agent_run_id":12345}`: 200, `{"agent_run_id":12339}`: 404, `{"agent_run_id":1}`: 404, `{"prompt":"x"}`: 422} {
			if resp := f.do("POST", path, "sandbox", body, nil); resp.StatusCode != want {
				t.Errorf("%s %s: status %d, want %d", action, body, resp.StatusCode, want)
			}
		}
	}
}

func TestEditPRSetsTheStateOfAKnownPullRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var got codegen.EditPRResponse
	if resp := f.do("PATCH", "/v1/organizations/323/prs/123450", "sandbox", `{"state":"closed"}`, &got); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !got.Success || got.State == nil || *got.State != "closed" || got.Number == nil || *got.Number != 346 || got.URL == nil {
		t.Errorf("edit of run 12345's pull request: %+v, want success, closed, number 346", got)
	}
	for _, path := range []string{"/v1/organizations/323/prs/7", "/v1/organizations/324/prs/123450"} {
		got = codegen.EditPRResponse{}
		f.do("PATCH", path, "sandbox", `{"state":"open"}`, &got)
		if got.Success || got.Error == nil {
			t.Errorf("%s: %+v, want success false with an error", path, got)
		}
	}
	var bad codegen.ValidationErrorBody
	f.do("PATCH", "/v1/organizations/323/prs/123450", "sandbox", `{"state":"merged"}`, &bad)
	if len(bad.Detail) != 1 || bad.Detail[0].Type != "literal_error" {
		t.Errorf("state merged: %+v, want one literal_error", bad)
	}
}

// EditPRInput.state is an enum, and "" is not one of its values: FastAPI
// answers 422 for it as for any other string that is not a state, with one
// error at body.state whatever is wrong with it.
func TestEditPRRefusesAStateThatIsNotOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	for _, path := range []string{"/v1/organizations/323/prs/123450", "/v1/organizations/323/repos/42/prs/123450"} {
		for body, typ := range map[string]string{
			`{"state":""}`: "literal_error", `{"state":"merged"}`: "literal_error", `{"state":"OPEN"}`: "literal_error",
			`{"state":5}`: "string_type", `{"state":null}`: "string_type", `{}`: "missing",
		} {
			var bad codegen.ValidationErrorBody
			resp := f.do("PATCH", path, "sandbox", body, &bad)
			if resp.StatusCode != 422 || len(bad.Detail) != 1 || bad.Detail[0].Type != typ || fmt.Sprint(bad.Detail[0].Loc) != "[body state]" {
				t.Errorf("PATCH %s %s: %d %+v, want 422 with one %s at body.state", path, body, resp.StatusCode, bad, typ)
			}
		}
	}
}

func TestOrganizationReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var user codegen.User
	if resp := f.do("GET", "/v1/organizations/323/users/1001", "sandbox", "", &user); resp.StatusCode != 200 || user.GithubUsername != "sandbox-dev" {
		t.Errorf("the current user: %d %+v", resp.StatusCode, user)
	}
	var missing codegen.ErrorBody
	if resp := f.do("GET", "/v1/organizations/323/users/5", "sandbox", "", &missing); resp.StatusCode != 404 || missing.Message != msgUserNotFound {
		t.Errorf("user 5: %d %+v, want 404 %q", resp.StatusCode, missing, msgUserNotFound)
	}
	var repos codegen.Page[codegen.Repo]
	f.do("GET", "/v1/organizations/323/repos?skip=2&limit=2", "sandbox", "", &repos)
	if repos.Total != 3 || len(repos.Items) != 1 || repos.Items[0].ID != 44 || repos.Page != 2 || repos.Pages != 2 {
		t.Errorf("org 323's repos, second page of 2: %+v", repos)
	}
	var integ codegen.OrganizationIntegrations
	f.do("GET", "/v1/organizations/323/integrations", "sandbox", "", &integ)
	if integ.OrganizationName != "Sandbox Org" || len(integ.Integrations) != 3 || integ.TotalActiveIntegrations != 2 {
		t.Errorf("org 323's integrations: %+v", integ)
	}
}
