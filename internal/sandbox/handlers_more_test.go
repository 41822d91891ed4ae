package sandbox

import (
	"fmt"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

func TestCheckSuiteSettingsAreKeptPerRepositoryAndBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	const path = "/v1/organizations/323/repos/check-suite-settings?repo_id="
	var put, got, other codegen.CheckSuiteSettings
	if resp := f.do("PUT", path+"42", "sandbox", `{"check_retry_count":7,"ignored_checks":["lint"],"custom_prompts":null}`, &put); resp.StatusCode != 200 {
		t.Fatalf("PUT: status %d", resp.StatusCode)
	}
	f.do("GET", path+"42", "sandbox", "", &got)
	f.do("GET", path+"43", "sandbox", "", &other)
	if got.CheckRetryCount != 7 || len(got.IgnoredChecks) != 1 || got.CustomPrompts == nil || len(got.AvailableCheckSuiteNames) == 0 {
		t.Errorf("repository 42 after the PUT: %+v, want 7 retries, lint ignored, the rest as it was", got)
	}
	if other.CheckRetryCount != 3 || len(other.IgnoredChecks) != 0 {
		t.Errorf("repository 43: %+v, want the defaults", other)
	}
	many := `["` + strings.Repeat(`x","`, maxSuiteEntries) + `x"]`
	for body, want := range map[string]int{
		`{"check_retry_count":11}`:                                         422,
		`{"check_retry_count":-1}`:                                         422,
		`{"ignored_checks":"lint"}`:                                        422,
		`{"ignored_checks":` + many + `}`:                                  422,
		`{"high_priority_apps":["` + strings.Repeat("a", 300) + `"]}`:      422,
		`{"custom_prompts":{"build":"` + strings.Repeat("p", 5000) + `"}}`: 422,
		`[]`: 422,
	} {
		if resp := f.do("PUT", path+"42", "sandbox", body, nil); resp.StatusCode != want {
			t.Errorf("PUT %.60s: status %d, want %d", body, resp.StatusCode, want)
		}
	}
	for _, p := range []string{path + "51", path + "x", "/v1/organizations/323/repos/check-suite-settings", "/v1/organizations/999/repos/check-suite-settings?repo_id=42"} {
		if resp := f.do("GET", p, "sandbox", "", nil); resp.StatusCode != 422 {
			t.Errorf("GET %s: status %d, want 422", p, resp.StatusCode)
		}
	}
}

func TestSetupCommandsAndLogAnalysisStartRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var setup codegen.SetupCommandsResponse
	if resp := f.do("POST", "/v1/organizations/323/setup-commands/generate", "sandbox", `{"repo_id":42}`, &setup); resp.StatusCode != 200 {
		t.Fatalf("setup commands: status %d", resp.StatusCode)
	}
	var run codegen.AgentRun
	f.do("GET", fmt.Sprintf("/v1/organizations/323/agent/run/%d", setup.AgentRunID), "sandbox", "", &run)
	if run.SourceType == nil || *run.SourceType != "SETUP_COMMANDS" || setup.URL != *run.WebURL {
		t.Errorf("the setup commands' run: %+v, want a SETUP_COMMANDS run at %s", run, setup.URL)
	}
	var analysis codegen.AnalyzeLogsResponse
	if resp := f.do("POST", "/v1/organizations/323/sandbox/42/analyze-logs", "sandbox", "", &analysis); resp.StatusCode != 200 || analysis.AgentRunID <= setup.AgentRunID {
		t.Errorf("log analysis: status %d, %+v; want a new run", resp.StatusCode, analysis)
	}
	for path, want := range map[string]int{
		"/v1/organizations/323/sandbox/43/analyze-logs": 404, // its setup is not complete
		"/v1/organizations/323/sandbox/51/analyze-logs": 404, // another organization's
		"/v1/organizations/999/sandbox/42/analyze-logs": 403,
	} {
		if resp := f.do("POST", path, "sandbox", "", nil); resp.StatusCode != want {
			t.Errorf("POST %s: status %d, want %d", path, resp.StatusCode, want)
		}
	}
	for body, want := range map[string]int{`{"repo_id":51}`: 404, `{}`: 422, `{"repo_id":42,"prompt":"x sandbox:nonsense"}`: 422} {
		if resp := f.do("POST", "/v1/organizations/323/setup-commands/generate", "sandbox", body, nil); resp.StatusCode != want {
			t.Errorf("setup commands %s: status %d, want %d", body, resp.StatusCode, want)
		}
	}
}

func TestOAuthTokensRevokeAndSlackTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var status struct {
		Tokens []oauthToken `json:"tokens"`
	}
	f.do("POST", "/v1/oauth/tokens/revoke?provider=notion&org_id=323", "sandbox", "", nil)
	f.do("GET", "/v1/oauth/tokens/status?org_id=323", "sandbox", "", &status)
	for _, tok := range status.Tokens {
		if tok.Connected == (tok.Provider == "notion") {
			t.Errorf("after revoking notion: %+v", tok)
		}
	}
	for path, want := range map[string]int{
		"/v1/oauth/tokens/revoke?provider=nope&org_id=323":   422,
		"/v1/oauth/tokens/revoke?provider=notion&org_id=999": 422,
		"/v1/oauth/tokens/revoke?org_id=323":                 422,
	} {
		if resp := f.do("POST", path, "sandbox", "", nil); resp.StatusCode != want {
			t.Errorf("POST %s: status %d, want %d", path, resp.StatusCode, want)
		}
	}
	var a, b codegen.SlackConnectToken
	f.do("POST", "/v1/slack-connect/generate-token", "sandbox", `{"org_id":323}`, &a)
	f.do("POST", "/v1/slack-connect/generate-token", "sandbox", `{"org_id":323}`, &b)
	if a.Token == "" || a.Token == b.Token || a.ExpiresInMinutes <= 0 {
		t.Errorf("two Slack Connect tokens: %+v, %+v; want two different ones", a, b)
	}
	if resp := f.do("POST", "/v1/slack-connect/generate-token", "sandbox", `{"org_id":999}`, nil); resp.StatusCode != 422 {
		t.Errorf("a token for another organization: status %d, want 422", resp.StatusCode)
	}
}

func TestReadsAndTheRepositoryPREdit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var providers []codegen.OAuthProvider
	f.do("GET", "/v1/mcp-providers", "sandbox", "", &providers)
	var rules, none codegen.CLIRules
	f.do("GET", "/v1/organizations/323/cli/rules", "sandbox", "", &rules)
	f.do("GET", "/v1/organizations/324/cli/rules", "sandbox", "", &none)
	if len(providers) != len(mcpProviders) || rules.OrganizationRules == nil || none.OrganizationRules != nil {
		t.Errorf("providers %d, rules %+v and %+v", len(providers), rules, none)
	}
	for repo, want := range map[int]bool{42: true, 43: false, 51: false} {
		var got codegen.EditPRResponse
		f.do("PATCH", fmt.Sprintf("/v1/organizations/323/repos/%d/prs/123450", repo), "sandbox", `{"state":"draft"}`, &got)
		if got.Success != want {
			t.Errorf("edit of PR 123450 in repository %d: %+v, want success %v", repo, got, want)
		}
	}
	var me codegen.User
	if resp := f.do("GET", "/v1/organizations/323/users/1001", "sandbox", "", &me); resp.StatusCode != 200 || me.ID != 1001 {
		t.Errorf("the current user in the organization: status %d, %+v", resp.StatusCode, me)
	}
}

func TestAKnownPathWithAnotherMethodIs405(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	var body map[string]string
	resp := f.do("DELETE", "/v1/organizations/323/repos/check-suite-settings?repo_id=42", "sandbox", "", &body)
	if resp.StatusCode != 405 || body["detail"] != "Method Not Allowed" || resp.Header.Get("Allow") != "GET, PUT" {
		t.Errorf("DELETE of check suite settings: %d %v Allow %q, want 405 with Allow: GET, PUT", resp.StatusCode, body, resp.Header.Get("Allow"))
	}
	if resp := f.do("GET", "/v1/no/such/path", "sandbox", "", &body); resp.StatusCode != 404 || body["detail"] != "Not Found" {
		t.Errorf("unknown path: %d %v, want 404", resp.StatusCode, body)
	}
}
