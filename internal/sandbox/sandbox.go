// Package sandbox is an in-process look-alike of the Codegen API: the
// upstream of codegen-proxy's offline mode and of its tests.
//
// It serves every operation of the real API's OpenAPI document, and the beta
// stop its official clients call, with the shapes, error bodies and rate
// limits the document gives. Every other path answers 404, and a known path
// with another method 405, as FastAPI does upstream. Where an operation's
// document declares no 403, an organization the user does not belong to is
// answered with the status it does declare (422 naming org_id, or 404).
//
// Runs progress on their own: a run is a script of steps applied lazily
// against the clock whenever it is read, so the sandbox starts no goroutines
// and a test that owns the clock controls exactly what has happened. A run's log entries are computed from
// its script when they are read, never stored, so a run's memory does not
// grow with its logs.
package sandbox

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Options configure a Sandbox. The zero value is a working sandbox on the
// real clock without rate limits.
type Options struct {
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
	// Step is the time between a run's steps; a default run takes ten steps.
	// If zero, 1.2 seconds.
	Step time.Duration
	// RateLimits applies the API's documented limits per token: 10 creates
	// per minute, 60 log reads per 60 s, 60 other requests per 30 s.
	RateLimits bool
	// MaxRuns bounds the runs kept; past it the oldest created run is
	// forgotten (seed runs stay). If zero, 1000.
	MaxRuns int
	// MaxRunBytes bounds what one run keeps of its callers' input: its
	// metadata as sent plus, for each resume, its prompt and 512 bytes of
	// bookkeeping (what a resume adds to the run). A create or resume
	// past it is refused with 422, so that one caller cannot make the run
	// list, which every caller shares, too large to serve. If zero, 64 KiB.
	MaxRunBytes int
	// MaxBytes bounds the callers' input all runs keep together; past it
	// the oldest created runs are forgotten. If zero, 64 MiB.
	MaxBytes int
	// MaxInflightBodyBytes bounds the request body bytes all requests may
	// hold at once: a request of any method but GET and HEAD reserves its
	// Content-Length, or 64 MiB (the largest body read) when it has none
	// (chunked), and past the bound is answered
	// 503 with Retry-After. If zero, 128 MiB.
	MaxInflightBodyBytes int64
	// WebURL prefixes a run's id to make its web_url. If empty, a clearly
	// fake https://sandbox.codegen.invalid/agent/trace/ is used.
	WebURL string
}

// Sandbox is the fake API, an http.Handler rooted like the real API's host
// (paths start with /v1). It is safe for concurrent use.
type Sandbox struct {
	opts   Options
	mux    *http.ServeMux
	limits *limiter
	bodies *semaphore.Weighted // body bytes that requests may still reserve

	mu     sync.Mutex
	runs   map[int64]*run
	order  []int64 // ids of created (not seed) runs, oldest first
	bytes  int     // callers' input kept by all runs (run.bytes summed)
	nextID int64

	// What the API's smaller operations change, bounded by the sandbox's
	// few repositories, organizations and providers.
	suites      map[int64]codegen.CheckSuiteSettings // by repository id
	revoked     map[revokedKey]bool
	slackTokens int64 // Slack Connect tokens made
}

// New returns a sandbox holding the seed data: one user, two organizations
// (323 and 324) and a few finished runs, among them run 12345.
func New(o Options) *Sandbox {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Step <= 0 {
		o.Step = 1200 * time.Millisecond
	}
	if o.MaxRuns <= 0 {
		o.MaxRuns = 1000
	}
	if o.MaxRunBytes <= 0 {
		o.MaxRunBytes = 64 << 10
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MaxInflightBodyBytes <= 0 {
		o.MaxInflightBodyBytes = 128 << 20
	}
	if o.WebURL == "" {
		o.WebURL = "https://sandbox.codegen.invalid/agent/trace/"
	}
	s := &Sandbox{opts: o, runs: map[int64]*run{}, nextID: firstRunID, limits: newLimiter(o.Now),
		bodies: semaphore.NewWeighted(o.MaxInflightBodyBytes), suites: map[int64]codegen.CheckSuiteSettings{}, revoked: map[revokedKey]bool{}}
	s.seed()
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	return s
}

func (s *Sandbox) routes(m *http.ServeMux) {
	m.HandleFunc("GET /v1/users/me", s.handleMe)
	m.HandleFunc("GET /v1/organizations", s.handleOrganizations)
	m.HandleFunc("GET /v1/organizations/{org_id}/users", s.handleUsers)
	m.HandleFunc("POST /v1/organizations/{org_id}/agent/run", s.handleCreateRun)
	m.HandleFunc("GET /v1/organizations/{org_id}/agent/run/{agent_run_id}", s.handleGetRun)
	m.HandleFunc("GET /v1/organizations/{org_id}/agent/runs", s.handleListRuns)
	m.HandleFunc("POST /v1/organizations/{org_id}/agent/run/resume", s.handleResumeRun)
	m.HandleFunc("GET /v1/alpha/organizations/{org_id}/agent/run/{agent_run_id}/logs", s.handleLogs)
	m.HandleFunc("POST /v1/beta/organizations/{org_id}/agent/run/stop", s.handleStopRun)
	m.HandleFunc("POST /v1/organizations/{org_id}/agent/run/ban", s.handleRunChecks())
	m.HandleFunc("POST /v1/organizations/{org_id}/agent/run/unban", s.handleRunChecks())
	m.HandleFunc("POST /v1/organizations/{org_id}/agent/run/remove-from-pr", s.handleRunChecks())
	m.HandleFunc("GET /v1/organizations/{org_id}/users/{user_id}", s.handleUser)
	m.HandleFunc("GET /v1/organizations/{org_id}/repos", s.handleRepos)
	m.HandleFunc("PATCH /v1/organizations/{org_id}/prs/{pr_id}", s.handleEditPR)
	m.HandleFunc("GET /v1/organizations/{org_id}/integrations", s.handleIntegrations)
	m.HandleFunc("PATCH /v1/organizations/{org_id}/repos/{repo_id}/prs/{pr_id}", s.handleEditRepoPR)
	m.HandleFunc("GET /v1/organizations/{org_id}/repos/check-suite-settings", s.handleGetCheckSuites)
	m.HandleFunc("PUT /v1/organizations/{org_id}/repos/check-suite-settings", s.handlePutCheckSuites)
	m.HandleFunc("POST /v1/organizations/{org_id}/setup-commands/generate", s.handleSetupCommands)
	m.HandleFunc("POST /v1/organizations/{org_id}/sandbox/{sandbox_id}/analyze-logs", s.handleAnalyzeLogs)
	m.HandleFunc("GET /v1/organizations/{org_id}/cli/rules", s.handleCLIRules)
	m.HandleFunc("GET /v1/mcp-providers", s.handleMCPProviders)
	m.HandleFunc("GET /v1/oauth/tokens/status", s.handleOAuthStatus)
	m.HandleFunc("POST /v1/oauth/tokens/revoke", s.handleOAuthRevoke)
	m.HandleFunc("POST /v1/slack-connect/generate-token", s.handleSlackToken)
	m.HandleFunc("/", s.handleUnknown)
}

// handleUnknown answers a path no operation has, 404, or a method the path
// does not take, 405 with Allow, both in FastAPI's {"detail"} shape.
func (s *Sandbox) handleUnknown(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if _, p := s.mux.Handler(&http.Request{Method: m, URL: r.URL, Host: r.Host}); p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
}

// ServeHTTP checks the token and the rate limits, then serves the API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	if !ok {
		writeMessage(w, http.StatusUnauthorized, "Invalid or missing API token. Send Authorization: Bearer <token>.")
		return
	}
	if s.opts.RateLimits {
		if wait, ok := s.limits.allow(limitFor(r), tok); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			writeMessage(w, http.StatusTooManyRequests, "Rate limit exceeded. Please try again later.")
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead { // every method whose body is read
		n := min(max(r.ContentLength, 0), maxBody)
		if r.ContentLength < 0 {
			n = maxBody
		}
		if !s.bodies.TryAcquire(n) {
			w.Header().Set("Retry-After", "1")
			writeMessage(w, http.StatusServiceUnavailable, "The sandbox is busy reading other requests' bodies. Please try again shortly.")
			return
		}
		defer s.bodies.Release(n)
	}
	s.mux.ServeHTTP(w, r)
}

// bearer returns the token of a "Bearer <token>" Authorization header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}
