package sandbox

import (
	"net/http"
	"strconv"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Messages of the answers below.
const (
	msgRepoNotFound    = "Repository not found in this organization."
	msgSandboxNotFound = "Sandbox not found in this organization."
	msgPRNotInRepo     = "Pull request not found in this repository."
)

// member records a validation error on org, at loc, unless the sandbox user
// belongs to it: the answer of the operations whose document declares no
// 403.
func member(v *validation, org int64, loc ...any) {
	if !isMember(org) {
		v.add(msgForbidden, "value_error", loc...)
	}
}

// queryID reads a required integer query parameter.
func (v *validation) queryID(r *http.Request, name string) int64 {
	s, ok := r.URL.Query()[name]
	if !ok {
		v.add("Field required", "missing", "query", name)
		return 0
	}
	n, err := strconv.ParseInt(s[len(s)-1], 10, 64)
	if err != nil {
		v.add("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "query", name)
	}
	return n
}

// suiteRepo reads the org and repo_id of the check suite settings, and
// records a validation error unless the repository is one of org's.
func suiteRepo(r *http.Request, v *validation) int64 {
	org, repo := v.pathInt(r, "org_id"), v.queryID(r, "repo_id")
	if len(*v) == 0 {
		member(v, org, "path", "org_id")
	}
	if len(*v) == 0 {
		if _, ok := orgRepo(org, repo); !ok {
			v.add(msgRepoNotFound, "value_error", "query", "repo_id")
		}
	}
	return repo
}

func (s *Sandbox) handleGetCheckSuites(w http.ResponseWriter, r *http.Request) {
	var v validation
	repo := suiteRepo(r, &v)
	if v.failed(w) {
		return
	}
	s.mu.Lock()
	out, ok := s.suites[repo]
	s.mu.Unlock()
	if !ok {
		out = defaultSuites()
	}
	writeJSON(w, http.StatusOK, out)
}

// handlePutCheckSuites changes the settings the body names (null or absent
// fields stay as they are) and answers the settings as they now are. The
// sandbox keeps settings for its few repositories only.
func (s *Sandbox) handlePutCheckSuites(w http.ResponseWriter, r *http.Request) {
	var v validation
	repo := suiteRepo(r, &v)
	in := decodeSuites(r, &v)
	if v.failed(w) {
		return
	}
	s.mu.Lock()
	out, ok := s.suites[repo]
	if !ok {
		out = defaultSuites()
	}
	in.apply(&out)
	s.suites[repo] = out
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) handleSetupCommands(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	var in struct {
		RepoID        int64
		Prompt        *string
		TriggerSource string
	}
	if f := decodeObject(r, &v); f != nil {
		f.decode(&v, "repo_id", true, &in.RepoID, msgInt, "int_type")
		f.decode(&v, "prompt", false, &in.Prompt, msgString, "string_type")
		f.decode(&v, "trigger_source", false, &in.TriggerSource, msgString, "string_type")
	}
	if v.failed(w) {
		return
	}
	repo, ok := orgRepo(org, in.RepoID)
	if !isMember(org) || !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": msgRepoNotFound})
		return
	}
	prompt := "Generate the setup commands of " + repo.FullName
	if in.Prompt != nil && *in.Prompt != "" {
		prompt = *in.Prompt
	}
	if len(prompt) > s.opts.MaxRunBytes {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": tooLarge("The prompt", s.opts.MaxRunBytes)})
		return
	}
	run, ok := s.startRun(w, org, prompt, "SETUP_COMMANDS")
	if ok {
		writeJSON(w, http.StatusOK, codegen.SetupCommandsResponse{AgentRunID: run.ID, Status: *run.Status, URL: *run.WebURL})
	}
}

// startRun creates a run acting out the scenario prompt names, as a create
// does, or answers 422 when prompt names a bad one.
func (s *Sandbox) startRun(w http.ResponseWriter, org int64, prompt, source string) (runJSON, bool) {
	sc, err := parseScenario(prompt, nil)
	if err == nil && sc.outcome == "PAYMENT_REQUIRED" {
		sc.outcome = "COMPLETE" // only creates are refused for payment
	}
	if err != nil {
		var v validation
		v.add(err.Error(), "value_error", "body", "prompt")
		v.failed(w)
		return runJSON{}, false
	}
	return s.create(org, createInput{Prompt: prompt, source: source}, sc), true
}

func (s *Sandbox) handleAnalyzeLogs(w http.ResponseWriter, r *http.Request) {
	var v validation
	box, org := v.pathInt(r, "sandbox_id"), v.pathInt(r, "org_id")
	if v.failed(w) || !allowed(w, org) {
		return
	}
	// A repository whose setup is complete has a sandbox of the same id.
	if repo, ok := orgRepo(org, box); !ok || repo.SetupStatus != "COMPLETE" {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": msgSandboxNotFound})
		return
	}
	run, _ := s.startRun(w, org, "Analyze the logs of sandbox "+itoa(box), "API")
	writeJSON(w, http.StatusOK, codegen.AnalyzeLogsResponse{AgentRunID: run.ID, Status: *run.Status,
		Message: "An agent run is analyzing the logs of sandbox " + itoa(box) + "."})
}

func (s *Sandbox) handleCLIRules(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	if v.failed(w) || !allowed(w, org) {
		return
	}
	writeJSON(w, http.StatusOK, cliRules[org])
}

func (s *Sandbox) handleMCPProviders(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, mcpProviders)
}

// oauthToken is one organization's token for a provider, as the sandbox
// answers GET /v1/oauth/tokens/status, whose answer the document leaves
// open.
type oauthToken struct {
	Provider  string `json:"provider"`
	Connected bool   `json:"connected"`
}

func (s *Sandbox) handleOAuthStatus(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.queryID(r, "org_id")
	if len(v) == 0 {
		member(&v, org, "query", "org_id")
	}
	if v.failed(w) {
		return
	}
	out := struct {
		OrganizationID int64        `json:"organization_id"`
		Tokens         []oauthToken `json:"tokens"`
	}{OrganizationID: org}
	s.mu.Lock()
	for _, p := range mcpProviders {
		out.Tokens = append(out.Tokens, oauthToken{Provider: p.Name, Connected: !s.revoked[revokedKey{org, p.Name}]})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// revokedKey names an organization's token for a provider.
type revokedKey struct {
	org      int64
	provider string
}

func (s *Sandbox) handleOAuthRevoke(w http.ResponseWriter, r *http.Request) {
	var v validation
	provider := r.URL.Query().Get("provider")
	if _, ok := r.URL.Query()["provider"]; !ok {
		v.add("Field required", "missing", "query", "provider")
	}
	org := v.queryID(r, "org_id")
	if len(v) == 0 {
		member(&v, org, "query", "org_id")
		if !isProvider(provider) {
			v.add("Unknown provider: "+strconv.Quote(provider), "value_error", "query", "provider")
		}
	}
	if v.failed(w) {
		return
	}
	s.mu.Lock()
	s.revoked[revokedKey{org, provider}] = true // bounded: known organizations and providers only
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "The " + provider + " token of organization " + itoa(org) + " is revoked."})
}

func (s *Sandbox) handleSlackToken(w http.ResponseWriter, r *http.Request) {
	var v validation
	var org int64
	if f := decodeObject(r, &v); f != nil {
		f.decode(&v, "org_id", true, &org, msgInt, "int_type")
		if len(v) == 0 {
			member(&v, org, "body", "org_id")
		}
	}
	if v.failed(w) {
		return
	}
	s.mu.Lock()
	s.slackTokens++
	n := s.slackTokens
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, codegen.SlackConnectToken{Token: "sandbox-slack-" + itoa(org) + "-" + itoa(n),
		Message: "Paste this token into Slack Connect to link organization " + itoa(org) + ".", ExpiresInMinutes: 10})
}
