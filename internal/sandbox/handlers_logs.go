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
	s.mu.Lock()
	run := s.lookup(org, in.AgentRunID)
	var snap codegen.AgentRun
	if run != nil {
		now := s.opts.Now()
		run.every = s.opts.Step // seed runs were spaced a minute apart
		run.schedule(resumed(in.Prompt), now)
		run.advance(now)
		snap = run.snapshot()
	}
	s.mu.Unlock()
	if run == nil {
		writeMessage(w, http.StatusNotFound, msgRunNotFound)
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
	s.mu.Lock()
	run := s.lookup(org, id)
	var (
		snap codegen.AgentRun
		logs []codegen.AgentRunLog
	)
	if run != nil {
		snap, logs = run.snapshot(), run.logs[:len(run.logs):len(run.logs)]
	}
	s.mu.Unlock()
	if run == nil {
		writeMessage(w, http.StatusNotFound, msgRunNotFound)
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
