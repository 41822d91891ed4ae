package codegen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// The operations below act on a run's checks and pull requests and read an
// organization's repositories, users and integrations. Like every operation
// they return the API's JSON body as it was sent; a write (POST, PATCH) is
// never retried once anything may have reached the API.

// StopRun calls the beta POST /beta/organizations/{org}/agent/run/stop,
// which the official clients call but the API's document does not list.
// Its body is a StopAgentRunInput and its answer the run.
func (c *Client) StopRun(ctx context.Context, token string, org int64, in StopAgentRunInput) ([]byte, error) {
	return c.runAction(ctx, token, "stop_run", "/beta"+orgPath(org)+"/agent/run/stop", in)
}

// BanChecks calls POST /organizations/{org}/agent/run/ban: the run's
// pull request checks stop triggering the agent.
func (c *Client) BanChecks(ctx context.Context, token string, org int64, in StopAgentRunInput) ([]byte, error) {
	return c.runAction(ctx, token, "ban_checks", orgPath(org)+"/agent/run/ban", in)
}

// UnbanChecks calls POST /organizations/{org}/agent/run/unban.
func (c *Client) UnbanChecks(ctx context.Context, token string, org int64, in StopAgentRunInput) ([]byte, error) {
	return c.runAction(ctx, token, "unban_checks", orgPath(org)+"/agent/run/unban", in)
}

// RemoveFromPR calls POST /organizations/{org}/agent/run/remove-from-pr.
func (c *Client) RemoveFromPR(ctx context.Context, token string, org int64, in StopAgentRunInput) ([]byte, error) {
	return c.runAction(ctx, token, "remove_from_pr", orgPath(org)+"/agent/run/remove-from-pr", in)
}

func (c *Client) runAction(ctx context.Context, token, op, path string, in StopAgentRunInput) ([]byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding body: %w", op, err)
	}
	return c.do(ctx, call{op: op, method: http.MethodPost, path: path, body: body, token: token})
}

// Repositories calls GET /organizations/{org}/repos.
func (c *Client) Repositories(ctx context.Context, token string, org int64, p PageParams) ([]byte, error) {
	q := make(url.Values, 2)
	p.addTo(q)
	return c.do(ctx, call{op: "list_repos", method: http.MethodGet, path: orgPath(org) + "/repos" + encode(q), token: token})
}

// Users calls GET /organizations/{org}/users.
func (c *Client) Users(ctx context.Context, token string, org int64, p PageParams) ([]byte, error) {
	q := make(url.Values, 2)
	p.addTo(q)
	return c.do(ctx, call{op: "list_users", method: http.MethodGet, path: orgPath(org) + "/users" + encode(q), token: token})
}

// User calls GET /organizations/{org}/users/{id}.
func (c *Client) User(ctx context.Context, token string, org, id int64) ([]byte, error) {
	path := orgPath(org) + "/users/" + strconv.FormatInt(id, 10)
	return c.do(ctx, call{op: "get_org_user", method: http.MethodGet, path: path, token: token})
}

// EditPR calls PATCH /organizations/{org}/prs/{id}, the simple pull
// request edit, and returns its EditPRResponse.
func (c *Client) EditPR(ctx context.Context, token string, org, id int64, in EditPRInput) ([]byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("edit_pr: encoding body: %w", err)
	}
	path := orgPath(org) + "/prs/" + strconv.FormatInt(id, 10)
	return c.do(ctx, call{op: "edit_pr", method: http.MethodPatch, path: path, body: body, token: token})
}

// Integrations calls GET /organizations/{org}/integrations.
func (c *Client) Integrations(ctx context.Context, token string, org int64) ([]byte, error) {
	return c.do(ctx, call{op: "list_integrations", method: http.MethodGet, path: orgPath(org) + "/integrations", token: token})
}
