package sandbox

import (
	"encoding/json"
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// handleResumeRun appends the user's message to a run and brings it back to
// life: it works a few more steps and ends COMPLETE.
func (s *Sandbox) handleResumeRun(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	in := decodeResume(r, &v)
	if v.failed(w) || !allowed(w, org) {
		return
	}
	var (
		snap runJSON
		full bool
	)
	if !s.withRun(w, org, in.AgentRunID, func(r *run) {
		kept := len(in.Prompt) + resumeBytes // the prompt is kept for the USER_MESSAGE entry
		if full = r.bytes+kept > s.opts.MaxRunBytes; full {
			return
		}
		r.bytes += kept
		s.bytes += kept
		now := s.opts.Now()
		r.begin(resumed(in.Prompt, now, s.opts.Step)) // at the sandbox's step: seed runs' were a minute
		r.advance(now)
		snap = r.snapshot()
		s.evictLocked()
	}) {
		return
	}
	if full {
		v.add(tooLarge("A run's metadata and resume prompts together", s.opts.MaxRunBytes), "value_error", "body", "prompt")
		v.failed(w)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}

// handleLogs serves the alpha logs endpoint: the run and one page of its
// logs, oldest first, or newest first with reverse.
func (s *Sandbox) handleLogs(w http.ResponseWriter, r *http.Request) {
	var v validation
	id, org := v.pathInt(r, "agent_run_id"), v.pathInt(r, "org_id")
	skip, limit := pageParams(r, &v)
	reverse := v.queryBool(r, "reverse")
	if v.failed(w) || !allowed(w, org) {
		return
	}
	var (
		snap  runJSON
		total int
		page  = []codegen.AgentRunLog{}
	)
	if !s.withRun(w, org, id, func(r *run) {
		snap, total = r.snapshot(), r.logCount()
		for i := skip; i < skip+limit && i < total; i++ {
			pos := i
			if reverse {
				pos = total - 1 - i
			}
			page = append(page, r.log(pos))
		}
	}) {
		return
	}
	writeJSON(w, http.StatusOK, logsJSON{
		ID: snap.ID, OrganizationID: snap.OrganizationID, Status: snap.Status, CreatedAt: snap.CreatedAt,
		WebURL: snap.WebURL, Result: snap.Result, Metadata: snap.Metadata, Logs: page,
		TotalLogs: total, Page: skip/limit + 1, Size: limit, Pages: (total + limit - 1) / limit,
	})
}

// logsJSON is codegen.AgentRunWithLogs, fields in the same order, with the
// run's metadata as kept: JSON, not decoded values (see keepJSON).
// TestLogsJSONIsAgentRunWithLogs keeps the two alike.
type logsJSON struct {
	ID             int64                 `json:"id"`
	OrganizationID int64                 `json:"organization_id"`
	Status         *string               `json:"status"`
	CreatedAt      *string               `json:"created_at"`
	WebURL         *string               `json:"web_url"`
	Result         *string               `json:"result"`
	Metadata       json.RawMessage       `json:"metadata"`
	Logs           []codegen.AgentRunLog `json:"logs"`
	TotalLogs      int                   `json:"total_logs"`
	Page           int                   `json:"page"`
	Size           int                   `json:"size"`
	Pages          int                   `json:"pages"`
}
