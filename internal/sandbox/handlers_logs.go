package sandbox

import (
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
		snap codegen.AgentRun
		full bool
	)
	if !s.withRun(w, org, in.AgentRunID, func(r *run) {
		if full = r.bytes+len(in.Prompt) > s.opts.MaxRunBytes; full {
			return
		}
		r.bytes += len(in.Prompt) // kept as the USER_MESSAGE log
		s.bytes += len(in.Prompt)
		now := s.opts.Now()
		r.every = s.opts.Step // seed runs were spaced a minute apart
		r.schedule(resumed(in.Prompt), now)
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
		snap codegen.AgentRun
		logs []codegen.AgentRunLog
	)
	if !s.withRun(w, org, id, func(r *run) { snap, logs = r.snapshot(), r.logs[:len(r.logs):len(r.logs)] }) {
		return
	}
	total := len(logs)
	page := []codegen.AgentRunLog{}
	for i := skip; i < skip+limit && i < total; i++ {
		pos := i
		if reverse {
			pos = total - 1 - i
		}
		page = append(page, logs[pos])
	}
	writeJSON(w, http.StatusOK, codegen.AgentRunWithLogs{
		ID: snap.ID, OrganizationID: snap.OrganizationID, Status: snap.Status, CreatedAt: snap.CreatedAt,
		WebURL: snap.WebURL, Result: snap.Result, Metadata: snap.Metadata, Logs: page,
		TotalLogs: ptr(total), Page: ptr(skip/limit + 1), Size: ptr(limit), Pages: ptr((total + limit - 1) / limit),
	})
}
