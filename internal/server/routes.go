package server

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/codegen-proxy/codegen-proxy/docs"
	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// addRoutes is the whole API on one screen. Every route the server answers
// is registered here and nowhere else.
func addRoutes(r chi.Router, d Deps) {
	orgs := newOrgResolver(d.Client, d.Config.OrgID)
	maxBody, scan := d.Config.MaxBodyBytes, d.Config.FilterScanLimit
	bodies := newBodyLimits(maxBody, d.Config.MaxInflightBodyBytes)
	rd := &reads{cache: d.Cache, answers: d.Client}

	r.NotFound(apiHandler(notFound).ServeHTTP)
	r.MethodNotAllowed(apiHandler(methodNotAllowed).ServeHTTP)

	r.Method(http.MethodGet, "/health", handleHealth(d.Version, d.mode(), d.Started))
	r.Method(http.MethodGet, "/ready", handleReady(&readiness{client: d.Client, token: d.Config.APIToken, ttl: 5 * time.Second, timeout: 2 * time.Second, shared: d.Shared}))
	r.Method(http.MethodGet, "/metrics", handleMetrics(d.Metrics.Handler()))
	r.Method(http.MethodGet, "/openapi.json", handleOpenAPI(specWithInfo(docs.OpenAPI, d.Config.Title, d.apiVersion())))
	r.Method(http.MethodGet, "/docs", handleDocsIndex())
	r.Method(http.MethodGet, "/docs/*", handleSwaggerUI())
	r.Method(http.MethodGet, "/redoc", handleRedoc(d.Config.Title))
	r.Method(http.MethodGet, "/redoc/*", handleRedocAssets())
	console := web.NewConsole()
	r.Method(http.MethodGet, "/", handleConsole(console))
	r.Method(http.MethodGet, web.ConsolePrefix+"*", handleConsoleAssets(console))

	r.Group(func(r chi.Router) {
		r.Use(requireToken(false))
		r.Method(http.MethodGet, "/users/me", handleCurrentUser(d.Client, rd))
		r.Method(http.MethodGet, "/organizations", handleOrganizations(d.Client, rd))
		r.Method(http.MethodPost, "/agent-runs", handleCreateRun(d.Client, orgs, bodies, rd))
		r.Method(http.MethodGet, "/agent-runs", handleListRuns(d.Client, orgs, scan, rd))
		r.Method(http.MethodGet, "/agent-runs/{id}", handleGetRun(d.Client, orgs, rd))
		r.Method(http.MethodGet, "/agent-runs/{id}/wait", handleWait(d.Streams, d.Client, orgs, d.Config.WaitMaxTimeout))
		r.Method(http.MethodPost, "/agent-runs/{id}/resume", handleResumeRun(d.Client, orgs, bodies, rd))
		r.Method(http.MethodGet, "/agent-runs/{id}/logs", handleRunLogs(d.Client, orgs, scan, rd))
		r.Method(http.MethodPost, "/agent-runs/{id}/stop", handleStopRun(d.Client, orgs, bodies, rd))
		r.Method(http.MethodPost, "/agent-runs/{id}/ban-checks", handleBanChecks(d.Client, orgs, bodies, rd))
		r.Method(http.MethodPost, "/agent-runs/{id}/unban-checks", handleUnbanChecks(d.Client, orgs, bodies, rd))
		r.Method(http.MethodPost, "/agent-runs/{id}/remove-from-pr", handleRemoveFromPR(d.Client, orgs, bodies, rd))
		r.Method(http.MethodPatch, "/pull-requests/{id}", handleEditPR(d.Client, orgs, bodies, rd))
		r.Method(http.MethodGet, "/repositories", handleRepositories(d.Client, orgs, rd))
		r.Method(http.MethodGet, "/users", handleUsers(d.Client, orgs, rd))
		r.Method(http.MethodGet, "/users/{id}", handleUser(d.Client, orgs, rd))
		r.Method(http.MethodGet, "/integrations", handleIntegrations(d.Client, orgs, rd))
		v1 := handleV1(d.Client, bodies, rd) // the Codegen API itself, passed through
		r.Method(http.MethodGet, "/v1/*", v1.get())
		r.Method(http.MethodPost, "/v1/*", v1.post())
		r.Method(http.MethodPut, "/v1/*", v1.put())
		r.Method(http.MethodPatch, "/v1/*", v1.patch())
		r.Method(http.MethodDelete, "/v1/*", v1.delete())
	})
	// EventSource cannot send headers: these routes alone also take the
	// token as ?access_token=, and like every route their URLs are never
	// logged.
	r.With(requireToken(true)).Method(http.MethodGet, "/agent-runs/{id}/logs/stream", handleStream(d.Streams, orgs, d.Config.Heartbeat))
	r.With(requireToken(true)).Method(http.MethodGet, "/agent-runs/stream", handleFeed(d.Streams, orgs, d.Config.Heartbeat, d.Config.WaitMaxTimeout))
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such route: see /docs for the API"}
}

// methodNotAllowed answers a method the route does not serve: 405 with the
// Allow header, or for OPTIONS (a preflight without CORS headers, which the
// CORS middleware leaves alone) 204 with Allow. A path that is no route is a
// 404 whatever the method.
func methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	allow := allowedMethods(r)
	if allow == "" {
		return notFound(w, r)
	}
	w.Header().Set("Allow", allow)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: r.Method + " is not allowed on this route: it takes " + allow}
}
