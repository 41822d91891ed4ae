package apiclienttest

import (
	"context"
	"testing"
)

// runAndOrgOperations calls the routes that act on a finished run's checks
// and pull requests and read the organization, checking each answer decodes.
func runAndOrgOperations(t *testing.T, ctx context.Context, c *ClientWithResponses) []string {
	t.Helper()
	ptr := func(v int) *int { return &v }
	stopped, err := c.StopAgentRunWithResponse(ctx, 12341, nil, StopAgentRunJSONRequestBody{})
	want2xx(t, "stopAgentRun", stopped.HTTPResponse, stopped.Body, err)
	if stopped.JSON200 == nil || stopped.JSON200.Status == nil || *stopped.JSON200.Status != "COMPLETE" {
		t.Errorf("stopAgentRun of a finished run decoded %+v, want it unchanged, COMPLETE", stopped.JSON200)
	}
	ban, err := c.BanAgentRunChecksWithResponse(ctx, 12345, nil, BanAgentRunChecksJSONRequestBody{})
	want2xx(t, "banAgentRunChecks", ban.HTTPResponse, ban.Body, err)
	unban, err := c.UnbanAgentRunChecksWithResponse(ctx, 12345, nil, UnbanAgentRunChecksJSONRequestBody{})
	want2xx(t, "unbanAgentRunChecks", unban.HTTPResponse, unban.Body, err)
	removed, err := c.RemoveAgentRunFromPRWithResponse(ctx, 12345, nil, RemoveAgentRunFromPRJSONRequestBody{})
	want2xx(t, "removeAgentRunFromPR", removed.HTTPResponse, removed.Body, err)

	edited, err := c.EditPullRequestWithResponse(ctx, 123450, nil, EditPullRequestJSONRequestBody{State: Closed})
	want2xx(t, "editPullRequest", edited.HTTPResponse, edited.Body, err)
	if edited.JSON200 == nil || edited.JSON200.Success == nil || !*edited.JSON200.Success || edited.JSON200.State == nil || *edited.JSON200.State != "closed" {
		t.Errorf("editPullRequest decoded %+v, want success and state closed", edited.JSON200)
	}

	repos, err := c.ListRepositoriesWithResponse(ctx, &ListRepositoriesParams{Limit: ptr(2)})
	want2xx(t, "listRepositories", repos.HTTPResponse, repos.Body, err)
	if repos.JSON200 == nil || repos.JSON200.Items == nil || len(*repos.JSON200.Items) != 2 || repos.JSON200.Total == nil || *repos.JSON200.Total != 3 {
		t.Errorf("listRepositories decoded %+v, want 2 of org 323's 3 repositories", repos.JSON200)
	}
	users, err := c.ListUsersWithResponse(ctx, nil)
	want2xx(t, "listUsers", users.HTTPResponse, users.Body, err)
	if users.JSON200 == nil || users.JSON200.Items == nil || len(*users.JSON200.Items) != 2 {
		t.Errorf("listUsers decoded %+v, want two users", users.JSON200)
	}
	user, err := c.GetUserWithResponse(ctx, 1002, nil)
	want2xx(t, "getUser", user.HTTPResponse, user.Body, err)
	if user.JSON200 == nil || user.JSON200.Id == nil || *user.JSON200.Id != 1002 {
		t.Errorf("getUser decoded %+v, want user 1002", user.JSON200)
	}
	integ, err := c.ListIntegrationsWithResponse(ctx, nil)
	want2xx(t, "listIntegrations", integ.HTTPResponse, integ.Body, err)
	if integ.JSON200 == nil || integ.JSON200.Integrations == nil || len(*integ.JSON200.Integrations) != 3 {
		t.Errorf("listIntegrations decoded %+v, want org 323's three integrations", integ.JSON200)
	}
	return []string{"stopAgentRun", "banAgentRunChecks", "unbanAgentRunChecks", "removeAgentRunFromPR",
		"editPullRequest", "listRepositories", "listUsers", "getUser", "listIntegrations"}
}
