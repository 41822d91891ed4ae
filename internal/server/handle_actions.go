package server

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// runActionRequest is the optional body of POST /agent-runs/{id}/stop,
// /ban-checks, /unban-checks and /remove-from-pr: the rest of the API's
// StopAgentRunInput, whose agent_run_id is the path's. An empty body is no
// card order.
type runActionRequest struct {
	BeforeCardOrderID *string `json:"before_card_order_id,omitempty" extensions:"x-nullable" example:"a0"`
	AfterCardOrderID  *string `json:"after_card_order_id,omitempty" extensions:"x-nullable" example:"a2"`
} //@name RunActionRequest

// editPRRequest is the body of PATCH /pull-requests/{id}.
type editPRRequest struct {
	State *string `json:"state" validate:"required" enums:"open,closed,draft,ready_for_review" example:"closed"`
} //@name EditPullRequestRequest

// runAction is one of the codegen.Client's calls that act on a run.
type runAction func(c *codegen.Client, ctx context.Context, token string, org int64, in codegen.StopAgentRunInput) ([]byte, error)

// handleRunAction reads the run id and the optional body, then makes the
// call: stop, ban, unban or remove-from-pr. Never retried.
func handleRunAction(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads, act runAction) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		body, done, err := bodies.read(w, r)
		if err != nil {
			return err
		}
		defer done()
		var req runActionRequest
		if len(bytes.Trim(body, " \t\r\n")) > 0 {
			if err := decodeBody(body, &req); err != nil {
				return err
			}
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		in := codegen.StopAgentRunInput{AgentRunID: id, BeforeCardOrderID: req.BeforeCardOrderID, AfterCardOrderID: req.AfterCardOrderID}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		answer, err := act(c, ctx, tok, org, in)
		rd.invalidate(tok, runName(org, id), runListPrefix(org)) // even after a failure: it may have acted
		return passOn(w, answer, err)
	})
}

// handleStopRun stops a run.
//
//	@Summary		Stop an agent run
//	@Description	Stops a running agent; it ends CANCELLED. Calls the API's beta stop operation, which its OpenAPI document does not list. A run that has already finished gets the API's own answer, passed on as it is. The body is optional: the Kanban card order of the run in the CANCELLED column. Never retried. 503 server_busy (with Retry-After) when the bodies being read already fill MAX_INFLIGHT_BODY_BYTES.
//	@Tags			agent-runs
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id							path		int					true	"Agent run id"	minimum(1)	example(12345)
//	@Param			order						body		runActionRequest	false	"Card order (optional)"
//	@Param			X-Codegen-Org-Id			header		int					false	"Organization to act on"
//	@Param			org_id						query		int					false	"Organization to act on (instead of the header)"
//	@Success		200							{object}	codegen.AgentRun
//	@Failure		400,401,403,404,413,415		{object}	envelope
//	@Failure		422,429						{object}	envelope
//	@Failure		502,503,504					{object}	envelope
//	@Header			429,503						{string}	Retry-After	"Seconds to wait before retrying"
//	@ID			stopAgentRun
//	@Router			/agent-runs/{id}/stop [post]
func handleStopRun(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads) http.Handler {
	return handleRunAction(c, orgs, bodies, rd, (*codegen.Client).StopRun)
}

// handleBanChecks bans the checks of a run's pull request.
//
//	@Summary		Ban a run's checks
//	@Description	Stops the checks of the run's pull request from triggering the agent. The API's answer is passed on as it is. The body is optional. Never retried. 503 server_busy (with Retry-After) when the bodies being read already fill MAX_INFLIGHT_BODY_BYTES.
//	@Tags			agent-runs
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id							path		int					true	"Agent run id"	minimum(1)	example(12345)
//	@Param			order						body		runActionRequest	false	"Card order (optional)"
//	@Param			X-Codegen-Org-Id			header		int					false	"Organization to act on"
//	@Param			org_id						query		int					false	"Organization to act on (instead of the header)"
//	@Success		200							{object}	object
//	@Failure		400,401,403,404,413,415		{object}	envelope
//	@Failure		422,429						{object}	envelope
//	@Failure		502,503,504					{object}	envelope
//	@Header			429,503						{string}	Retry-After	"Seconds to wait before retrying"
//	@ID			banAgentRunChecks
//	@Router			/agent-runs/{id}/ban-checks [post]
func handleBanChecks(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads) http.Handler {
	return handleRunAction(c, orgs, bodies, rd, (*codegen.Client).BanChecks)
}

// handleUnbanChecks lifts a ban on the checks of a run's pull request.
//
//	@Summary		Unban a run's checks
//	@Description	Lets the checks of the run's pull request trigger the agent again. The API's answer is passed on as it is. The body is optional. Never retried. 503 server_busy (with Retry-After) when the bodies being read already fill MAX_INFLIGHT_BODY_BYTES.
//	@Tags			agent-runs
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id							path		int					true	"Agent run id"	minimum(1)	example(12345)
//	@Param			order						body		runActionRequest	false	"Card order (optional)"
//	@Param			X-Codegen-Org-Id			header		int					false	"Organization to act on"
//	@Param			org_id						query		int					false	"Organization to act on (instead of the header)"
//	@Success		200							{object}	object
//	@Failure		400,401,403,404,413,415		{object}	envelope
//	@Failure		422,429						{object}	envelope
//	@Failure		502,503,504					{object}	envelope
//	@Header			429,503						{string}	Retry-After	"Seconds to wait before retrying"
//	@ID			unbanAgentRunChecks
//	@Router			/agent-runs/{id}/unban-checks [post]
func handleUnbanChecks(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads) http.Handler {
	return handleRunAction(c, orgs, bodies, rd, (*codegen.Client).UnbanChecks)
}

// handleRemoveFromPR removes Codegen from a run's pull request.
//
//	@Summary		Remove Codegen from a run's pull request
//	@Description	The agent stops working on the run's pull request. The API's answer is passed on as it is. The body is optional. Never retried. 503 server_busy (with Retry-After) when the bodies being read already fill MAX_INFLIGHT_BODY_BYTES.
//	@Tags			agent-runs
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id							path		int					true	"Agent run id"	minimum(1)	example(12345)
//	@Param			order						body		runActionRequest	false	"Card order (optional)"
//	@Param			X-Codegen-Org-Id			header		int					false	"Organization to act on"
//	@Param			org_id						query		int					false	"Organization to act on (instead of the header)"
//	@Success		200							{object}	object
//	@Failure		400,401,403,404,413,415		{object}	envelope
//	@Failure		422,429						{object}	envelope
//	@Failure		502,503,504					{object}	envelope
//	@Header			429,503						{string}	Retry-After	"Seconds to wait before retrying"
//	@ID			removeAgentRunFromPR
//	@Router			/agent-runs/{id}/remove-from-pr [post]
func handleRemoveFromPR(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads) http.Handler {
	return handleRunAction(c, orgs, bodies, rd, (*codegen.Client).RemoveFromPR)
}

// handleEditPR sets a pull request's state.
//
//	@Summary		Edit a pull request
//	@Description	Opens, closes, drafts or readies for review a pull request an agent made (its id is in a run's github_pull_requests). The API's answer, success or not, is passed on as it is. Never retried. 503 server_busy (with Retry-After) when the bodies being read already fill MAX_INFLIGHT_BODY_BYTES.
//	@Tags			pull-requests
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id							path		int				true	"Pull request id"	minimum(1)	example(123450)
//	@Param			edit						body		editPRRequest	true	"The new state"
//	@Param			X-Codegen-Org-Id			header		int				false	"Organization to act on"
//	@Param			org_id						query		int				false	"Organization to act on (instead of the header)"
//	@Success		200							{object}	codegen.EditPRResponse
//	@Failure		400,401,403,404,413,415		{object}	envelope
//	@Failure		422,429						{object}	envelope
//	@Failure		502,503,504					{object}	envelope
//	@Header			429,503						{string}	Retry-After	"Seconds to wait before retrying"
//	@ID			editPullRequest
//	@Router			/pull-requests/{id} [patch]
func handleEditPR(c *codegen.Client, orgs *orgResolver, bodies *bodyLimits, rd *reads) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var req editPRRequest
		done, err := bodies.readJSON(w, r, &req)
		if err != nil {
			return err
		}
		defer done()
		if req.State == nil || !codegen.IsPRState(*req.State) {
			return badRequest("state is required and must be one of %s", strings.Join(codegen.PRStates(), ", "))
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		answer, err := c.EditPR(ctx, tok, org, id, codegen.EditPRInput{State: *req.State})
		rd.invalidate(tok, orgRunsPrefix(org)) // which run opened the pull request is not known here
		return passOn(w, answer, err)
	})
}
