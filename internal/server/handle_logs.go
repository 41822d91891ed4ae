package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// handleRunLogs returns a run with one page of its logs. Without a
// message_type filter the upstream answer is passed on as it is.
//
//	@Summary		Get an agent run's logs
//	@Description	The run with one page of its logs, oldest first (or newest first with reverse). A message_type filter reads the run's logs from the start, 100 per call, up to FILTER_SCAN_LIMIT, and reports it in X-Filter-Scanned and X-Filter-Complete, as the status filter of the run list does.
//	@Tags			logs
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id						path		int		true	"Agent run id"	minimum(1)	example(12345)
//	@Param			page					query		int		false	"Page number, 1-based (instead of skip)"	minimum(1)
//	@Param			skip					query		int		false	"Logs to skip (instead of page)"			minimum(0)	default(0)
//	@Param			limit					query		int		false	"Page size"									minimum(1)	maximum(100)	default(100)	example(10)
//	@Param			reverse					query		bool	false	"Newest first"
//	@Param			message_type			query		string	false	"Only these message types: one or a comma list, any case, of ACTION, PLAN_EVALUATION, FINAL_ANSWER, ERROR, USER_MESSAGE, USER_GITHUB_ISSUE_COMMENT, INITIAL_PR_GENERATION, DETECT_PR_ERRORS, FIX_PR_ERRORS, PR_CREATION_FAILED, PR_EVALUATION, COMMIT_EVALUATION, AGENT_RUN_LINK (400 for any other)"	example(ACTION,FINAL_ANSWER)
//	@Param			X-Codegen-Org-Id		header		int		false	"Organization to act on"
//	@Param			org_id					query		int		false	"Organization to act on (instead of the header)"
//	@Success		200						{object}	codegen.AgentRunWithLogs
//	@Header			200						{string}	X-Filter-Scanned	"With a message_type filter: upstream logs read"
//	@Header			200						{string}	X-Filter-Complete	"With a message_type filter: false when total_logs is a lower bound"
//	@Failure		400,401,403,404,422,429	{object}	envelope
//	@Header			429						{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504					{object}	envelope
//	@ID			getAgentRunLogs
//	@Router			/agent-runs/{id}/logs [get]
func handleRunLogs(c *codegen.Client, orgs *orgResolver, scanLimit int, rd *reads) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		p, err := parsePage(q, maxLimit)
		if err != nil {
			return err
		}
		reverse, err := boolParam(q, "reverse")
		if err != nil {
			return err
		}
		types, err := messageTypeParam(q)
		if err != nil {
			return err
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		params := codegen.LogsParams{PageParams: codegen.PageParams(p), Reverse: reverse}
		logsName := func(params codegen.LogsParams) string { return paramsName(runName(org, id)+"logs?", params) }
		if types == nil {
			return rd.serve(w, r, tok, cache.ClassLogs, logsName(params), func(ctx context.Context) ([]byte, error) {
				return c.RunLogs(ctx, tok, org, id, params)
			})
		}
		var ages scanAges
		read := func(ctx context.Context, params codegen.LogsParams) ([]byte, error) {
			return rd.fetch(ctx, &ages, tok, cache.ClassLogs, logsName(params), func(ctx context.Context) ([]byte, error) {
				return c.RunLogs(ctx, tok, org, id, params)
			})
		}
		page, res, err := filterRunLogs(r.Context(), read, params, messageTypeIn(types), p, scanLimit)
		if err != nil {
			return err
		}
		setScanHeaders(w, res)
		return rd.writeComputed(w, r, &ages, page)
	})
}

// runFields are a run's own fields in an AgentRunWithLogs, kept as the
// upstream sent them; one it left out is null.
type runFields struct {
	ID             json.RawMessage `json:"id"`
	OrganizationID json.RawMessage `json:"organization_id"`
	Status         json.RawMessage `json:"status"`
	CreatedAt      json.RawMessage `json:"created_at"`
	WebURL         json.RawMessage `json:"web_url"`
	Result         json.RawMessage `json:"result"`
	Metadata       json.RawMessage `json:"metadata"`
}

// filteredLogs is the answer to a logs request with a message_type filter:
// the run as the first upstream page gave it and one page of the matching
// logs, counted as filterScan counted them.
type filteredLogs struct {
	runFields
	Logs      []json.RawMessage `json:"logs"`
	TotalLogs int               `json:"total_logs"`
	Page      int               `json:"page"`
	Size      int               `json:"size"`
	Pages     int               `json:"pages"`
}

// filterRunLogs reads the run's logs through read from the start, with
// params' other settings, and returns page p of those match accepts, with
// how it was made for setScanHeaders.
func filterRunLogs(ctx context.Context, read func(context.Context, codegen.LogsParams) ([]byte, error),
	params codegen.LogsParams, match func(json.RawMessage) bool, p pageQuery, scanLimit int) (filteredLogs, scanResult, error) {
	var run runFields
	first := true
	fetch := func(ctx context.Context, skip, limit int) ([]json.RawMessage, int, error) {
		params.Skip, params.Limit = skip, limit
		body, err := read(ctx, params)
		if err != nil {
			return nil, 0, err
		}
		var page struct {
			runFields
			Logs      []json.RawMessage `json:"logs"`
			TotalLogs *int              `json:"total_logs"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, 0, fmt.Errorf("%w: decoding logs: %w", codegen.ErrBadResponse, err)
		}
		if first {
			run, first = page.runFields, false
		}
		total := 0
		if page.TotalLogs != nil {
			total = *page.TotalLogs
		}
		return page.Logs, total, nil
	}
	res, err := filterScan(ctx, fetch, match, p, scanLimit)
	if err != nil {
		return filteredLogs{}, res, err
	}
	return filteredLogs{runFields: run, Logs: res.items, TotalLogs: res.matched,
		Page: p.Skip/p.Limit + 1, Size: p.Limit, Pages: pageCount(res.matched, p.Limit)}, res, nil
}
