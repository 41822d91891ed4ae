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
	small, err := json.Marshal(struct {
		RepoID    *int64  `json:"repo_id,omitempty"`
		Model     *string `json:"model,omitempty"`
		AgentType *string `json:"agent_type,omitempty"`
	}{in.RepoID, in.Model, in.AgentType})
	if err != nil {
		return nil, fmt.Errorf("create_run: encoding body: %w", err)
	}
	body, err := rawObject(nil, []rawMember{{"prompt", in.Prompt, true}, {"images", in.Images, false}, {"metadata", in.Metadata, false}}, small)
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
	id := strconv.AppendInt([]byte(`{"agent_run_id":`), in.AgentRunID, 10)
	body, err := rawObject(append(id, '}'), []rawMember{{"prompt", in.Prompt, true}, {"images", in.Images, false}}, nil)
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

// rawMember is a member of an object that rawObject writes: a JSON value
// written as it is, left out when nil unless required.
type rawMember struct {
	name     string
	value    json.RawMessage
	required bool
}

// rawObject returns the members of head, then members, then those of
// tail (head and tail are encoded JSON objects, or nil), as one object in
// one buffer of its final size: the raw values, which may be large (a
// prompt, images, metadata), are copied once and never re-encoded. Each
// must be valid JSON; json.Valid checks it in place.
func rawObject(head []byte, members []rawMember, tail []byte) ([]byte, error) {
	n := len(head) + len(tail) + 2
	for _, m := range members {
		n += len(m.name) + len(m.value) + 4 // ,"name":
	}
	b := make([]byte, 0, n)
	b = appendMembers(b, head)
	for _, m := range members {
		switch {
		case m.value == nil && !m.required:
			continue
		case !json.Valid(m.value):
			return nil, fmt.Errorf("%s is not valid JSON", m.name)
		}
		b = append(append(append(append(separate(b), '"'), m.name...), `":`...), m.value...)
	}
	return append(appendMembers(b, tail), '}'), nil
}

// appendMembers appends the members of obj, an encoded JSON object or nil,
// to b, the start of an object.
func appendMembers(b, obj []byte) []byte {
	if len(obj) <= 2 { // nil or {}
		if len(b) == 0 {
			b = append(b, '{')
		}
		return b
	}
	return append(separate(b), obj[1:len(obj)-1]...)
}

// separate starts b, an object being written, or puts a comma after its
// last member.
func separate(b []byte) []byte {
	switch {
	case len(b) == 0:
		return append(b, '{')
	case len(b) > 1:
		return append(b, ',')
	}
	return b
}
