package v1clienttest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codegen-proxy/codegen-proxy/api"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
	"github.com/codegen-proxy/codegen-proxy/internal/server"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bearer is the token as the document's authorization header parameter
// takes it: a generated client sets that header from its params whenever
// they are given (and a request editor, for calls without params).
var bearer any = "Bearer sandbox"

// betaStopID is the operation overlay.yaml adds: the beta stop.
const betaStopID = "stop_agent_run_v1_beta_organizations__org_id__agent_run_stop_post"

// startProxy serves the proxy in sandbox mode, wired as cmd/codegen-proxy
// wires it, on loopback listeners, and returns its URL. The sandbox reads
// clock, so its runs move only when the test moves it.
func startProxy(t *testing.T, clock *sandbox.Clock) string {
	t.Helper()
	sb := httptest.NewServer(sandbox.New(sandbox.Options{Now: clock.Now}))
	t.Cleanup(sb.Close)
	cfg, err := config.Load([]string{"--sandbox"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	client := &codegen.Client{BaseURL: sb.URL + "/v1", Timeout: cfg.UpstreamTimeout, RequestID: server.RequestID}
	logger := slog.New(slog.DiscardHandler)
	streams := &stream.Hub{Client: client, Logger: logger}
	h, err := server.NewServer(server.Deps{Logger: logger, Config: cfg, Client: client, Streams: streams, Version: "test", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h)
	t.Cleanup(func() {
		proxy.Close()
		streams.Close()
	})
	return proxy.URL
}

// answer is what every generated response has.
type answer interface{ StatusCode() int }

// driver calls operations and notes which ones answered as they should.
type driver struct {
	t      *testing.T
	called []string
}

// ok notes op as called and fails unless it answered want with a body
// that decoded (decoded reports whether the generated type was filled).
func (d *driver) ok(op string, want int, a answer, body []byte, decoded bool, err error) {
	d.t.Helper()
	d.called = append(d.called, op)
	switch {
	case err != nil:
		d.t.Errorf("%s: %v", op, err)
	case a.StatusCode() != want:
		d.t.Errorf("%s: status %d, want %d; body %s", op, a.StatusCode(), want, body)
	case !decoded:
		d.t.Errorf("%s: %d %s did not decode into the generated type", op, a.StatusCode(), body)
	}
}

// TestAGeneratedSDKDrivesTheWholeAPIThroughV1 points a client generated from
// the Codegen API's own document at the proxy in sandbox mode and calls
// every operation of the document, and the beta stop, through /v1.
func TestAGeneratedSDKDrivesTheWholeAPIThroughV1(t *testing.T) {
	ctx := context.Background()
	clock := sandbox.NewClock(time.Now())
	c, err := NewClientWithResponses(startProxy(t, clock), WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer sandbox")
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t}
	ptr := func(v int) *int { return &v }
	const org = 323

	me, err := c.GetCurrentUserInfoV1UsersMeGetWithResponse(ctx, nil)
	d.ok("get_current_user_info_v1_users_me_get", 200, me, me.Body, me.JSON200 != nil && me.JSON200.Id == 1001, err)
	orgs, err := c.GetOrganizationsV1OrganizationsGetWithResponse(ctx, &GetOrganizationsV1OrganizationsGetParams{Limit: ptr(10), Authorization: bearer})
	d.ok("get_organizations_v1_organizations_get", 200, orgs, orgs.Body, orgs.JSON200 != nil && len(orgs.JSON200.Items) == 2, err)
	users, err := c.GetUsersV1OrganizationsOrgIdUsersGetWithResponse(ctx, org, nil)
	d.ok("get_users_v1_organizations__org_id__users_get", 200, users, users.Body, users.JSON200 != nil && len(users.JSON200.Items) == 2, err)
	user, err := c.GetUserV1OrganizationsOrgIdUsersUserIdGetWithResponse(ctx, org, 1001, nil) // the current user
	d.ok("get_user_v1_organizations__org_id__users__user_id__get", 200, user, user.Body, user.JSON200 != nil && user.JSON200.Id == 1001, err)
	repos, err := c.GetRepositoriesV1OrganizationsOrgIdReposGetWithResponse(ctx, org, nil)
	d.ok("get_repositories_v1_organizations__org_id__repos_get", 200, repos, repos.Body, repos.JSON200 != nil && len(repos.JSON200.Items) > 0, err)
	integ, err := c.GetOrganizationIntegrationsEndpointV1OrganizationsOrgIdIntegrationsGetWithResponse(ctx, org, nil)
	d.ok("get_organization_integrations_endpoint_v1_organizations__org_id__integrations_get", 200, integ, integ.Body, integ.JSON200 != nil, err)

	runOps(ctx, d, c, org, clock)
	settingsOps(ctx, d, c, org)

	assertEveryOperation(t, d.called)
}

// runOps drives the agent run operations. The run it creates takes an hour
// a step, so the stop finds it running (CANCELLED is its answer) however
// long the machine takes between the two calls; clock moves ten minutes
// between them to prove it, as a loaded machine might.
func runOps(ctx context.Context, d *driver, c *ClientWithResponses, org int, clock *sandbox.Clock) {
	d.t.Helper()
	ptr := func(v int) *int { return &v }
	meta := map[string]any{"ticket": 4521}
	created, err := c.CreateAgentRunV1OrganizationsOrgIdAgentRunPostWithResponse(ctx, org, nil, CreateAgentRunInput{
		Prompt: "Add tests sandbox:logs=40 sandbox:step=1h", Metadata: &meta})
	d.ok("create_agent_run_v1_organizations__org_id__agent_run_post", 200, created, created.Body, created.JSON200 != nil, err)
	if created.JSON200 == nil {
		d.t.FailNow()
	}
	id := created.JSON200.Id
	run, err := c.GetAgentRunV1OrganizationsOrgIdAgentRunAgentRunIdGetWithResponse(ctx, org, id, nil)
	d.ok("get_agent_run_v1_organizations__org_id__agent_run__agent_run_id__get", 200, run, run.Body, run.JSON200 != nil && run.JSON200.Id == id, err)
	source := API
	runs, err := c.ListAgentRunsV1OrganizationsOrgIdAgentRunsGetWithResponse(ctx, org, &ListAgentRunsV1OrganizationsOrgIdAgentRunsGetParams{SourceType: &source, Limit: ptr(5), Authorization: bearer})
	d.ok("list_agent_runs_v1_organizations__org_id__agent_runs_get", 200, runs, runs.Body, runs.JSON200 != nil && len(runs.JSON200.Items) > 0, err)
	logs, err := c.GetAgentRunLogsV1AlphaOrganizationsOrgIdAgentRunAgentRunIdLogsGetWithResponse(ctx, org, 12345, &GetAgentRunLogsV1AlphaOrganizationsOrgIdAgentRunAgentRunIdLogsGetParams{Limit: ptr(5), Authorization: bearer})
	d.ok("get_agent_run_logs_v1_alpha_organizations__org_id__agent_run__agent_run_id__logs_get", 200, logs, logs.Body, logs.JSON200 != nil && len(logs.JSON200.Logs) == 5, err)
	clock.Advance(10 * time.Minute)
	stopped, err := c.StopAgentRunV1BetaOrganizationsOrgIdAgentRunStopPostWithResponse(ctx, org, StopAgentRunInput{AgentRunId: id})
	d.ok(betaStopID, 200, stopped, stopped.Body, stopped.JSON200 != nil && stopped.JSON200.Status != nil && *stopped.JSON200.Status == "CANCELLED", err)
	resumed, err := c.ResumeAgentRunV1OrganizationsOrgIdAgentRunResumePostWithResponse(ctx, org, nil, ResumeAgentRunInput{AgentRunId: 12345, Prompt: "Also add docs"})
	d.ok("resume_agent_run_v1_organizations__org_id__agent_run_resume_post", 200, resumed, resumed.Body, resumed.JSON200 != nil, err)
	ban, err := c.BanAllChecksForAgentRunV1OrganizationsOrgIdAgentRunBanPostWithResponse(ctx, org, nil, StopAgentRunInput{AgentRunId: 12345})
	d.ok("ban_all_checks_for_agent_run_v1_organizations__org_id__agent_run_ban_post", 200, ban, ban.Body, ban.JSON200 != nil, err)
	unban, err := c.UnbanAllChecksForAgentRunV1OrganizationsOrgIdAgentRunUnbanPostWithResponse(ctx, org, nil, StopAgentRunInput{AgentRunId: 12345})
	d.ok("unban_all_checks_for_agent_run_v1_organizations__org_id__agent_run_unban_post", 200, unban, unban.Body, unban.JSON200 != nil, err)
	remove, err := c.RemoveCodegenFromPrV1OrganizationsOrgIdAgentRunRemoveFromPrPostWithResponse(ctx, org, nil, StopAgentRunInput{AgentRunId: 12345})
	d.ok("remove_codegen_from_pr_v1_organizations__org_id__agent_run_remove_from_pr_post", 200, remove, remove.Body, remove.JSON200 != nil, err)
	edit, err := c.EditPullRequestSimpleV1OrganizationsOrgIdPrsPrIdPatchWithResponse(ctx, org, 123450, nil, EditPRInput{State: Closed})
	d.ok("edit_pull_request_simple_v1_organizations__org_id__prs__pr_id__patch", 200, edit, edit.Body, edit.JSON200 != nil && edit.JSON200.Success, err)
	repoEdit, err := c.EditPullRequestV1OrganizationsOrgIdReposRepoIdPrsPrIdPatchWithResponse(ctx, org, 42, 123450, nil, EditPRInput{State: Open})
	d.ok("edit_pull_request_v1_organizations__org_id__repos__repo_id__prs__pr_id__patch", 200, repoEdit, repoEdit.Body, repoEdit.JSON200 != nil && repoEdit.JSON200.Success, err)
	// An error answer is the API's own, decoded into the generated type.
	missing, err := c.GetAgentRunV1OrganizationsOrgIdAgentRunAgentRunIdGetWithResponse(ctx, org, 1, nil)
	if err != nil || missing.StatusCode() != 404 || missing.JSON404 == nil || missing.JSON404.Message == nil {
		d.t.Errorf("a missing run: %v, %d %s; want the API's own 404", err, missing.StatusCode(), missing.Body)
	}
}

// settingsOps drives the organization's settings and integrations.
func settingsOps(ctx context.Context, d *driver, c *ClientWithResponses, org int) {
	d.t.Helper()
	suites, err := c.GetCheckSuiteSettingsV1OrganizationsOrgIdReposCheckSuiteSettingsGetWithResponse(ctx, org, &GetCheckSuiteSettingsV1OrganizationsOrgIdReposCheckSuiteSettingsGetParams{RepoId: 42})
	d.ok("get_check_suite_settings_v1_organizations__org_id__repos_check_suite_settings_get", 200, suites, suites.Body, suites.JSON200 != nil && len(suites.JSON200.AvailableCheckSuiteNames) > 0, err)
	retries, ignored := 5, []string{"lint"}
	put, err := c.UpdateCheckSuiteSettingsV1OrganizationsOrgIdReposCheckSuiteSettingsPutWithResponse(ctx, org, &UpdateCheckSuiteSettingsV1OrganizationsOrgIdReposCheckSuiteSettingsPutParams{RepoId: 42},
		CheckSuiteSettingsRequest{CheckRetryCount: &retries, IgnoredChecks: &ignored})
	d.ok("update_check_suite_settings_v1_organizations__org_id__repos_check_suite_settings_put", 200, put, put.Body, put.JSON200 != nil, err)
	setup, err := c.GenerateSetupCommandsV1OrganizationsOrgIdSetupCommandsGeneratePostWithResponse(ctx, org, nil, GenerateSetupCommandsInput{RepoId: 42})
	d.ok("generate_setup_commands_v1_organizations__org_id__setup_commands_generate_post", 200, setup, setup.Body, setup.JSON200 != nil && setup.JSON200.AgentRunId > 0, err)
	analyze, err := c.AnalyzeSandboxLogsV1OrganizationsOrgIdSandboxSandboxIdAnalyzeLogsPostWithResponse(ctx, org, 42, nil)
	d.ok("analyze_sandbox_logs_v1_organizations__org_id__sandbox__sandbox_id__analyze_logs_post", 200, analyze, analyze.Body, analyze.JSON200 != nil && analyze.JSON200.AgentRunId > 0, err)
	rules, err := c.GetCliRulesV1OrganizationsOrgIdCliRulesGetWithResponse(ctx, org, nil)
	d.ok("get_cli_rules_v1_organizations__org_id__cli_rules_get", 200, rules, rules.Body, rules.JSON200 != nil, err)
	providers, err := c.GetMcpProvidersV1McpProvidersGetWithResponse(ctx, nil)
	d.ok("get_mcp_providers_v1_mcp_providers_get", 200, providers, providers.Body, providers.JSON200 != nil && len(*providers.JSON200) > 0, err)
	status, err := c.GetOauthTokenStatusV1OauthTokensStatusGetWithResponse(ctx, &GetOauthTokenStatusV1OauthTokensStatusGetParams{OrgId: org, Authorization: bearer})
	d.ok("get_oauth_token_status_v1_oauth_tokens_status_get", 200, status, status.Body, status.JSON200 != nil, err)
	revoke, err := c.RevokeOauthTokenV1OauthTokensRevokePostWithResponse(ctx, &RevokeOauthTokenV1OauthTokensRevokePostParams{Provider: "linear", OrgId: org, Authorization: bearer})
	d.ok("revoke_oauth_token_v1_oauth_tokens_revoke_post", 200, revoke, revoke.Body, revoke.JSON200 != nil, err)
	slack, err := c.GenerateSlackConnectTokenEndpointV1SlackConnectGenerateTokenPostWithResponse(ctx, nil, GenerateTokenRequest{OrgId: org})
	d.ok("generate_slack_connect_token_endpoint_v1_slack_connect_generate_token_post", 200, slack, slack.Body, slack.JSON200 != nil && slack.JSON200.Token != "", err)
}

// assertEveryOperation fails unless called names every operation of the
// API's document and the beta stop.
func assertEveryOperation(t *testing.T, called []string) {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(api.CodegenSpec, &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{betaStopID}
	for _, item := range doc.Paths {
		for _, op := range item {
			want = append(want, op.OperationID)
		}
	}
	for _, id := range want {
		if !slices.Contains(called, id) {
			t.Errorf("%s was not called through the generated client", id)
		}
	}
	if len(want) != 26 {
		t.Errorf("the document and the beta stop have %d operations, want 26 (25 and the stop)", len(want))
	}
	t.Logf("called %d operations: %v", len(called), called)
}
