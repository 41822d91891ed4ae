package codegen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Every operation returns the API's JSON body as it was sent, so a proxy can
// pass it on without decoding it. Errors are *Error for API answers of 400 or
// more, or wrap ErrTimeout, ErrBadResponse, ErrUnreachable or the context's
// error.

// PageParams selects one page of a list. A zero Limit leaves the API's default.
type PageParams struct {
	Skip  int
	Limit int
}

// ListRunsParams selects and filters a page of agent runs. Zero UserID and
// empty SourceType mean no filter.
type ListRunsParams struct {
	PageParams
	UserID     int64
	SourceType string
}

// LogsParams selects a page of a run's logs; Reverse asks for newest first.
type LogsParams struct {
	PageParams
	Reverse bool
}

// CurrentUser calls GET /users/me.
func (c *Client) CurrentUser(ctx context.Context, token string) ([]byte, error) {
	return c.do(ctx, call{op: "get_user", method: http.MethodGet, path: "/users/me", token: token})
}

// Organizations calls GET /organizations.
func (c *Client) Organizations(ctx context.Context, token string, p PageParams) ([]byte, error) {
	q := make(url.Values, 2)
	p.addTo(q)
	return c.do(ctx, call{op: "list_orgs", method: http.MethodGet, path: "/organizations" + encode(q), token: token})
}

// CreateRun calls POST /organizations/{org}/agent/run.
func (c *Client) CreateRun(ctx context.Context, token string, org int64, in CreateAgentRunInput) ([]byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("create_run: encoding body: %w", err)
	}
	return c.do(ctx, call{op: "create_run", method: http.MethodPost, path: orgPath(org) + "/agent/run", body: body, token: token})
}

// ListRuns calls GET /organizations/{org}/agent/runs.
func (c *Client) ListRuns(ctx context.Context, token string, org int64, p ListRunsParams) ([]byte, error) {
	q := make(url.Values, 4)
	p.addTo(q)
	if p.UserID != 0 {
		q.Set("user_id", strconv.FormatInt(p.UserID, 10))
	}
	if p.SourceType != "" {
		q.Set("source_type", p.SourceType)
	}
	return c.do(ctx, call{op: "list_runs", method: http.MethodGet, path: orgPath(org) + "/agent/runs" + encode(q), token: token})
}

// GetRun calls GET /organizations/{org}/agent/run/{id}.
func (c *Client) GetRun(ctx context.Context, token string, org, id int64) ([]byte, error) {
	path := orgPath(org) + "/agent/run/" + strconv.FormatInt(id, 10)
	return c.do(ctx, call{op: "get_run", method: http.MethodGet, path: path, token: token})
}

// ResumeRun calls POST /organizations/{org}/agent/run/resume.
func (c *Client) ResumeRun(ctx context.Context, token string, org int64, in ResumeAgentRunInput) ([]byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("resume_run: encoding body: %w", err)
	}
	return c.do(ctx, call{op: "resume_run", method: http.MethodPost, path: orgPath(org) + "/agent/run/resume", body: body, token: token})
}

// RunLogs calls the alpha endpoint GET
// /alpha/organizations/{org}/agent/run/{id}/logs, which returns the run with
// one page of its logs.
func (c *Client) RunLogs(ctx context.Context, token string, org, id int64, p LogsParams) ([]byte, error) {
	q := make(url.Values, 3)
	p.addTo(q)
	if p.Reverse {
		q.Set("reverse", "true")
	}
	path := "/alpha" + orgPath(org) + "/agent/run/" + strconv.FormatInt(id, 10) + "/logs" + encode(q)
	return c.do(ctx, call{op: "run_logs", method: http.MethodGet, path: path, token: token})
}

func (p PageParams) addTo(q url.Values) {
	if p.Skip != 0 {
		q.Set("skip", strconv.Itoa(p.Skip))
	}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
}

func orgPath(org int64) string { return "/organizations/" + strconv.FormatInt(org, 10) }

func encode(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
