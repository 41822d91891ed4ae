package sandbox

import (
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Messages of the answers below.
const (
	msgUserNotFound = "User not found."
	msgPRNotFound   = "Pull request not found in this organization."
)

// actionInput is a decoded StopAgentRunInput.
type actionInput struct {
	AgentRunID        int64
	BeforeCardOrderID *string
	AfterCardOrderID  *string
}

func decodeAction(r *http.Request, v *validation) actionInput {
	var in actionInput
	f := decodeObject(r, v)
	if f == nil {
		return in
	}
	f.decode(v, "agent_run_id", true, &in.AgentRunID, msgInt, "int_type")
	f.decode(v, "before_card_order_id", false, &in.BeforeCardOrderID, msgString, "string_type")
	f.decode(v, "after_card_order_id", false, &in.AfterCardOrderID, msgString, "string_type")
	return in
}

// handleStopRun serves the beta stop: a run still going ends CANCELLED at
// once, its remaining steps never happen; a finished run is answered as it
// is. Either way the answer is the run.
func (s *Sandbox) handleStopRun(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	in := decodeAction(r, &v)
	if v.failed(w) || !allowed(w, org) {
		return
	}
	var snap runJSON
	if s.withRun(w, org, in.AgentRunID, func(r *run) {
		if r.Status == nil || !codegen.IsTerminal(*r.Status) {
			r.stopped = true
			r.Status = ptr("CANCELLED")
		}
		snap = r.snapshot()
	}) {
		writeJSON(w, http.StatusOK, snap)
	}
}

// handleRunChecks serves ban, unban and remove-from-pr, which the sandbox
// only acknowledges, with an empty object: its runs trigger no checks, and
// the API's document gives these answers no properties.
func (s *Sandbox) handleRunChecks() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var v validation
		org := v.pathInt(r, "org_id")
		in := decodeAction(r, &v)
		if v.failed(w) || !allowed(w, org) {
			return
		}
		if s.withRun(w, org, in.AgentRunID, func(*run) {}) {
			writeJSON(w, http.StatusOK, struct{}{})
		}
	}
}

func (s *Sandbox) handleUser(w http.ResponseWriter, r *http.Request) {
	var v validation
	org, id := v.pathInt(r, "org_id"), v.pathInt(r, "user_id")
	if v.failed(w) || !allowed(w, org) {
		return
	}
	for _, u := range []codegen.User{sandboxUser, teammate} {
		if u.ID == id {
			writeJSON(w, http.StatusOK, u)
			return
		}
	}
	writeMessage(w, http.StatusNotFound, msgUserNotFound)
}

func (s *Sandbox) handleRepos(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	skip, limit := pageParams(r, &v)
	if v.failed(w) || !allowed(w, org) {
		return
	}
	writeJSON(w, http.StatusOK, paginate(orgRepos(org), skip, limit))
}

func (s *Sandbox) handleIntegrations(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	if v.failed(w) || !allowed(w, org) {
		return
	}
	writeJSON(w, http.StatusOK, orgIntegrations(org))
}

// handleEditPR sets the state of a pull request one of org's runs opened.
// A pull request it does not know is answered 200 with success false, as
// the API's EditPRResponse allows: the API documents no 404 here.
func (s *Sandbox) handleEditPR(w http.ResponseWriter, r *http.Request) {
	s.editPR(w, r, false)
}

// handleEditRepoPR is handleEditPR for a pull request of one repository:
// the sandbox's runs open theirs in their organization's first repository.
func (s *Sandbox) handleEditRepoPR(w http.ResponseWriter, r *http.Request) {
	s.editPR(w, r, true)
}

func (s *Sandbox) editPR(w http.ResponseWriter, r *http.Request, inRepo bool) {
	var v validation
	org, id := v.pathInt(r, "org_id"), v.pathInt(r, "pr_id")
	var repo int64
	if inRepo {
		repo = v.pathInt(r, "repo_id")
	}
	var state string
	if f := decodeObject(r, &v); f != nil {
		before := len(v)
		f.decode(&v, "state", true, &state, msgString, "string_type")
		if len(v) == before && !codegen.IsPRState(state) { // a string, and not a state ("" included)
			v.add("Input should be 'open', 'closed', 'draft' or 'ready_for_review'", "literal_error", "body", "state")
		}
	}
	if v.failed(w) || !allowed(w, org) {
		return
	}
	if repos := orgRepos(org); inRepo && (len(repos) == 0 || repos[0].ID != repo) {
		msg := msgPRNotInRepo
		if _, ok := orgRepo(org, repo); !ok {
			msg = msgRepoNotFound
		}
		writeJSON(w, http.StatusOK, codegen.EditPRResponse{Success: false, Error: ptr(msg)})
		return
	}
	var pr codegen.GithubPullRequest // a copy, read under the lock
	s.mu.Lock()
	if run := s.runs[id/10]; run != nil && run.OrganizationID == org {
		for _, p := range run.GithubPullRequests {
			if p.ID == id {
				pr = p
			}
		}
	}
	s.mu.Unlock()
	if pr.ID == 0 {
		writeJSON(w, http.StatusOK, codegen.EditPRResponse{Success: false, Error: ptr(msgPRNotFound)})
		return
	}
	num := (id/10)%1000 + (id%10)*1000 + 1 // as pullRequest numbers it
	writeJSON(w, http.StatusOK, codegen.EditPRResponse{Success: true, URL: pr.URL, Number: &num, Title: pr.Title, State: &state})
}
