package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// createRunRequest is the body of POST /agent-runs. Pointers tell a missing
// field from a zero one. Prompt, Images and Metadata stay the caller's JSON,
// pointing into the body: they are checked and forwarded, never decoded.
type createRunRequest struct {
	Prompt    rawJSON `json:"prompt" swaggertype:"string" validate:"required" example:"Create a Python function to calculate fibonacci numbers"`
	Images    rawJSON `json:"images,omitempty" swaggertype:"array,string" extensions:"x-nullable"` // base64 data URIs
	Metadata  rawJSON `json:"metadata,omitempty" swaggertype:"object" extensions:"x-nullable"`     // any JSON object, passed on as sent
	RepoID    *int64  `json:"repo_id,omitempty" minimum:"1" extensions:"x-nullable" example:"42"`
	Model     *string `json:"model,omitempty" extensions:"x-nullable" example:"claude-sonnet-4-5"`
	AgentType *string `json:"agent_type,omitempty" enums:"codegen,claude_code" extensions:"x-nullable" example:"codegen"`
} //@name CreateAgentRunRequest

// resumeRunRequest is the body of POST /agent-runs/{id}/resume.
type resumeRunRequest struct {
	Prompt rawJSON `json:"prompt" swaggertype:"string" validate:"required" example:"Also add unit tests"`
	Images rawJSON `json:"images,omitempty" swaggertype:"array,string" extensions:"x-nullable"`
} //@name ResumeAgentRunRequest

// handleCreateRun validates the run and creates it upstream.
//
//	@Summary		Create an agent run
//	@Description	Starts an agent on the prompt. The run completes asynchronously: poll it, or stream its logs. Images are base64 data URIs; metadata is any JSON object, passed on as sent. Never retried: a run is created at most once per call. 408 request_timeout when the body stops arriving for BODY_READ_TIMEOUT; 503 server_busy (with Retry-After) when the bodies being read already fill MAX_INFLIGHT_BODY_BYTES.
//	@Tags			agent-runs
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			X-Codegen-Org-Id			header		int					false	"Organization to act on"
//	@Param			org_id						query		int					false	"Organization to act on (instead of the header)"
//	@Param			run							body		createRunRequest	true	"The run"
//	@Success		200							{object}	codegen.AgentRun
//	@Failure		400,401,402,403,404,408,413,415	{object}	envelope
//	@Failure		422,429						{object}	envelope
//	@Failure		502,503,504					{object}	envelope
//	@Header			429,503						{string}	Retry-After	"Seconds to wait before retrying"
//	@ID			createAgentRun
//	@Router			/agent-runs [post]
func handleCreateRun(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var req createRunRequest
		done, err := bodies.readJSON(w, r, &req)
		if err != nil {
			return err
		}
		defer done()
		in, err := req.validate()
		if err != nil {
			return err
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		answer, err := c.CreateRun(ctx, tok, org, in)
		rd.invalidate(tok, runListPrefix(org)) // even after a failure: the run may exist
		return passOn(w, answer, err)
	})
}

func (req createRunRequest) validate() (codegen.CreateAgentRunInput, error) {
	in := codegen.CreateAgentRunInput{Images: req.Images.orNil(), Metadata: req.Metadata.orNil(), RepoID: req.RepoID, Model: req.Model, AgentType: req.AgentType}
	var err error
	if in.Prompt, err = validPrompt(req.Prompt); err != nil {
		return in, err
	}
	if err := validImages(in.Images); err != nil {
		return in, err
	}
	if in.Metadata != nil && in.Metadata[0] != '{' {
		return in, badRequest("metadata must be an object")
	}
	if req.RepoID != nil && *req.RepoID <= 0 {
		return in, badRequest("repo_id must be a positive integer")
	}
	if req.Model != nil && strings.TrimSpace(*req.Model) == "" {
		return in, badRequest("model must not be empty; leave it out for the organization's default")
	}
	if req.AgentType != nil && !codegen.IsAgentType(*req.AgentType) {
		return in, badRequest("agent_type must be %s", strings.Join(codegen.AgentTypes(), " or "))
	}
	return in, nil
}

// validPrompt checks p, the prompt's JSON, and returns it: a string that is
// not blank. Its first bytes settle it for nearly every prompt; only one
// that starts with blanks written as escapes is decoded (copied) whole.
func validPrompt(p rawJSON) (json.RawMessage, error) {
	switch {
	case p.orNil() == nil:
		return nil, badRequest("prompt is required and must not be empty")
	case p[0] != '"':
		return nil, badRequest("prompt must be a string")
	}
	s := bytes.TrimLeft(p[1:], " \t\r\n")
	if r, _ := utf8.DecodeRune(s); r != '\\' && r != '"' && !unicode.IsSpace(r) {
		return json.RawMessage(p), nil
	}
	var prompt string
	if err := json.Unmarshal(p, &prompt); err != nil || strings.TrimSpace(prompt) == "" {
		return nil, badRequest("prompt is required and must not be empty")
	}
	return json.RawMessage(p), nil
}

// handleListRuns lists the organization's runs, newest first. Without a
// status filter the upstream page is passed on as it is.
//
//	@Summary		List agent runs
//	@Description	The organization's runs, newest first. A status filter is applied by reading the upstream list from the start, 100 runs per call, up to FILTER_SCAN_LIMIT runs: items and totals are exact, X-Filter-Scanned tells how many runs were read, and X-Filter-Complete is false when the total is only a lower bound. A page the limit cannot fill is refused with 422 filter_scan_limit.
//	@Tags			agent-runs
//	@Produce		json
//	@Security		BearerAuth
//	@Param			page				query		int		false	"Page number, 1-based (instead of skip)"	minimum(1)
//	@Param			skip				query		int		false	"Runs to skip (instead of page)"			minimum(0)	default(0)
//	@Param			limit				query		int		false	"Page size"									minimum(1)	maximum(100)	default(100)
//	@Param			user_id				query		int		false	"Only runs started by this user"
//	@Param			source_type			query		string	false	"Only runs from this source"	Enums(LOCAL, SLACK, GITHUB, GITHUB_CHECK_SUITE, GITHUB_PR_REVIEW, LINEAR, API, CHAT, JIRA, CLICKUP, MONDAY, SETUP_COMMANDS)
//	@Param			status				query		string	false	"Only runs in these statuses: one or a comma list, any case, of ACTIVE, RUNNING, PENDING, EVALUATION, PAUSED, COMPLETE, ERROR, FAILED, CANCELLED, STOPPED, TIMEOUT, MAX_ITERATIONS_REACHED, OUT_OF_TOKENS (400 for any other)"	example(COMPLETE,FAILED)
//	@Param			X-Codegen-Org-Id	header		int		false	"Organization to act on"
//	@Param			org_id				query		int		false	"Organization to act on (instead of the header)"
//	@Success		200					{object}	codegen.Page[codegen.AgentRun]
//	@Header			200					{string}	X-Filter-Scanned	"With a status filter: upstream runs read"
//	@Header			200					{string}	X-Filter-Complete	"With a status filter: false when total is a lower bound"
//	@Failure		400,401,403,422,429	{object}	envelope
//	@Header			429					{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504				{object}	envelope
//	@ID			listAgentRuns
//	@Router			/agent-runs [get]
func handleListRuns(c *codegen.Client, orgs *orgResolver, scanLimit int, rd *reads) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		p, err := parsePage(q, maxLimit)
		if err != nil {
			return err
		}
		params := codegen.ListRunsParams{PageParams: codegen.PageParams(p)}
		if params.UserID, err = idParam(q, "user_id"); err != nil {
			return err
		}
		if params.SourceType, err = sourceTypeParam(q); err != nil {
			return err
		}
		statuses, err := statusParam(q)
		if err != nil {
			return err
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		if statuses == nil {
			return rd.serve(w, r, tok, cache.ClassRunList, paramsName(runListPrefix(org), params), func(ctx context.Context) ([]byte, error) {
				return c.ListRuns(ctx, tok, org, params)
			})
		}
		var ages scanAges
		fetch := func(ctx context.Context, skip, limit int) ([]json.RawMessage, int, error) {
			params.Skip, params.Limit = skip, limit
			at := params
			body, err := rd.fetch(ctx, &ages, tok, cache.ClassRunList, paramsName(runListPrefix(org), at), func(ctx context.Context) ([]byte, error) {
				return c.ListRuns(ctx, tok, org, at)
			})
			if err != nil {
				return nil, 0, err
			}
			var page codegen.RawPage
			if err := json.Unmarshal(body, &page); err != nil {
				return nil, 0, fmt.Errorf("%w: decoding runs: %w", codegen.ErrBadResponse, err)
			}
			return page.Items, page.Total, nil
		}
		res, err := filterScan(r.Context(), fetch, statusIn(statuses), p, scanLimit)
		if err != nil {
			return err
		}
		setScanHeaders(w, res)
		return rd.writeComputed(w, r, &ages, codegen.RawPage{
			Items: res.items, Total: res.matched, Page: p.Skip/p.Limit + 1, Size: p.Limit, Pages: pageCount(res.matched, p.Limit),
		})
	})
}

// handleGetRun passes on one run.
//
//	@Summary		Get an agent run
//	@Description	A run's status, result, summary and pull requests.
//	@Tags			agent-runs
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id						path		int	true	"Agent run id"	minimum(1)	example(12345)
//	@Param			X-Codegen-Org-Id		header		int	false	"Organization to act on"
//	@Param			org_id					query		int	false	"Organization to act on (instead of the header)"
//	@Success		200						{object}	codegen.AgentRun
//	@Failure		400,401,403,404,422,429	{object}	envelope
//	@Header			429						{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504					{object}	envelope
//	@ID			getAgentRun
//	@Router			/agent-runs/{id} [get]
func handleGetRun(c *codegen.Client, orgs *orgResolver, rd *reads) http.Handler {
	return passOnOrgItem(orgs, rd, cache.ClassRun, "run", c.GetRun)
}

// handleResumeRun resumes a run with a new prompt.
//
//	@Summary		Resume an agent run
//	@Description	Sends a paused (or finished) run a new instruction; it goes on working. 408 request_timeout when the body stops arriving for BODY_READ_TIMEOUT; 503 server_busy (with Retry-After) when the bodies being read already fill MAX_INFLIGHT_BODY_BYTES.
//	@Tags			agent-runs
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id							path		int					true	"Agent run id"	minimum(1)	example(12345)
//	@Param			resume						body		resumeRunRequest	true	"The new instruction"
//	@Param			X-Codegen-Org-Id			header		int					false	"Organization to act on"
//	@Param			org_id						query		int					false	"Organization to act on (instead of the header)"
//	@Success		200							{object}	codegen.AgentRun
//	@Failure		400,401,403,404,408,413,415	{object}	envelope
//	@Failure		422,429						{object}	envelope
//	@Failure		502,503,504					{object}	envelope
//	@Header			429,503						{string}	Retry-After	"Seconds to wait before retrying"
//	@ID			resumeAgentRun
//	@Router			/agent-runs/{id}/resume [post]
func handleResumeRun(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var req resumeRunRequest
		done, err := bodies.readJSON(w, r, &req)
		if err != nil {
			return err
		}
		defer done()
		in := codegen.ResumeAgentRunInput{AgentRunID: id, Images: req.Images.orNil()}
		if in.Prompt, err = validPrompt(req.Prompt); err != nil {
			return err
		}
		if err := validImages(in.Images); err != nil {
			return err
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		answer, err := c.ResumeRun(ctx, tok, org, in)
		rd.invalidate(tok, runName(org, id), runListPrefix(org))
		return passOn(w, answer, err)
	})
}
