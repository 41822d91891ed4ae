package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// v1Routes is the pass-through: one handler for GET, POST, PUT, PATCH and
// DELETE (HEAD goes with GET; OPTIONS is the proxy's own).
// OpenAPI names one operation per method, so each method has a documented
// accessor that routes.go registers.
type v1Routes struct{ h http.Handler }

// get passes GET (and HEAD) requests under /v1/ on to the Codegen API.
//
//	@Summary		The Codegen API itself, passed through
//	@Description	Any request under `/v1/` goes to the Codegen API (CODEGEN_BASE_URL, which ends in `/v1`) plus the rest of the path, with the same method, query and body and the caller's own bearer token, so an SDK or generated client whose base URL is `http://proxy/v1` (or whose paths start with `/v1`, as the API's own OpenAPI document's do) works unchanged, with the proxy's request id, metrics and access log. The answer is the API's own: its status and body unchanged, its own error shapes included, with Content-Type, caching headers (ETag, Last-Modified, Cache-Control, Vary), Retry-After and the rate-limit headers (X-RateLimit-*, RateLimit-*). Sent on of the request: Accept, Accept-Language, Content-Type, Idempotency-Key and the If-* conditional headers; never cookies or hop-by-hop headers. The proxy answers in its own envelope only when there is no answer to pass on: 400 for a path with `.` or `..` segments, escaped slashes (%2F, %5C), `//`, or an absolute-form target (nothing can leave the configured upstream); 401 without a token; 413/415/503 for a body past MAX_BODY_BYTES, not JSON, or past MAX_INFLIGHT_BODY_BYTES; 502 for a broken upstream; 504 when it is too slow. GETs are retried on connection failures and 502/503/504; nothing else is. In sandbox mode the sandbox answers every operation of the API's document and the beta stop.
//	@Tags			passthrough
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			path			path		string	true	"The API path below /v1, such as users/me or organizations/323/agent/run/12345 (slashes as they are, not escaped)"	example(organizations)
//	@Success		200				{object}	object	"The API's answer, as it came (any status the API gives)"
//	@Failure		400,401,413,415	{object}	envelope
//	@Failure		502,503,504		{object}	envelope
//	@Header			429,503			{string}	Retry-After	"Seconds to wait before retrying"
//	@ID				passThroughGet
//	@Router			/v1/{path} [get]
func (v v1Routes) get() http.Handler { return v.h }

// post passes POST requests under /v1/ on to the Codegen API.
//
//	@Summary		The Codegen API itself, passed through (POST)
//	@Description	As GET /v1/{path} (see there), with the request's JSON body (bounded by MAX_BODY_BYTES and MAX_INFLIGHT_BODY_BYTES, sent with a Content-Length) passed on byte for byte. Never retried.
//	@Tags			passthrough
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			path			path		string	true	"The API path below /v1 (slashes as they are, not escaped)"	example(organizations)
//	@Param			body			body		object	false	"The operation's JSON body, passed on as it is"
//	@Success		200				{object}	object	"The API's answer, as it came (any status the API gives)"
//	@Failure		400,401,413,415	{object}	envelope
//	@Failure		502,503,504		{object}	envelope
//	@Header			429,503			{string}	Retry-After	"Seconds to wait before retrying"
//	@ID				passThroughPost
//	@Router			/v1/{path} [post]
func (v v1Routes) post() http.Handler { return v.h }

// put passes PUT requests under /v1/ on to the Codegen API.
//
//	@Summary		The Codegen API itself, passed through (PUT)
//	@Description	As GET /v1/{path} (see there), with the request's JSON body (bounded by MAX_BODY_BYTES and MAX_INFLIGHT_BODY_BYTES, sent with a Content-Length) passed on byte for byte. Never retried.
//	@Tags			passthrough
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			path			path		string	true	"The API path below /v1 (slashes as they are, not escaped)"	example(organizations)
//	@Param			body			body		object	false	"The operation's JSON body, passed on as it is"
//	@Success		200				{object}	object	"The API's answer, as it came (any status the API gives)"
//	@Failure		400,401,413,415	{object}	envelope
//	@Failure		502,503,504		{object}	envelope
//	@Header			429,503			{string}	Retry-After	"Seconds to wait before retrying"
//	@ID				passThroughPut
//	@Router			/v1/{path} [put]
func (v v1Routes) put() http.Handler { return v.h }

// patch passes PATCH requests under /v1/ on to the Codegen API.
//
//	@Summary		The Codegen API itself, passed through (PATCH)
//	@Description	As GET /v1/{path} (see there), with the request's JSON body (bounded by MAX_BODY_BYTES and MAX_INFLIGHT_BODY_BYTES, sent with a Content-Length) passed on byte for byte. Never retried.
//	@Tags			passthrough
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			path			path		string	true	"The API path below /v1 (slashes as they are, not escaped)"	example(organizations)
//	@Param			body			body		object	false	"The operation's JSON body, passed on as it is"
//	@Success		200				{object}	object	"The API's answer, as it came (any status the API gives)"
//	@Failure		400,401,413,415	{object}	envelope
//	@Failure		502,503,504		{object}	envelope
//	@Header			429,503			{string}	Retry-After	"Seconds to wait before retrying"
//	@ID				passThroughPatch
//	@Router			/v1/{path} [patch]
func (v v1Routes) patch() http.Handler { return v.h }

// delete passes DELETE requests under /v1/ on to the Codegen API.
//
//	@Summary		The Codegen API itself, passed through (DELETE)
//	@Description	As GET /v1/{path} (see there), with the request's JSON body (bounded by MAX_BODY_BYTES and MAX_INFLIGHT_BODY_BYTES, sent with a Content-Length) passed on byte for byte. Never retried.
//	@Tags			passthrough
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			path			path		string	true	"The API path below /v1 (slashes as they are, not escaped)"	example(organizations)
//	@Success		200				{object}	object	"The API's answer, as it came (any status the API gives)"
//	@Failure		400,401,413,415	{object}	envelope
//	@Failure		502,503,504		{object}	envelope
//	@Header			429,503			{string}	Retry-After	"Seconds to wait before retrying"
//	@ID				passThroughDelete
//	@Router			/v1/{path} [delete]
func (v v1Routes) delete() http.Handler { return v.h }

// handleV1 passes a request under /v1/ on to the Codegen API with
// Client.Forward, and answers with the API's answer as it came. A write
// (any method but GET and HEAD) drops the caller's cached reads it may
// have changed, as the REST routes' writes do.
func handleV1(c *codegen.Client, bodies *bodyLimits, rd *reads) v1Routes {
	templates := chi.NewRouter()
	for _, p := range codegen.PathTemplates() {
		templates.Handle(p, http.NotFoundHandler()) // only for Find: never served
	}
	return v1Routes{apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		target, err := v1Target(r)
		if err != nil {
			return err
		}
		nameRoute(r, templates)
		var body []byte
		if r.ContentLength != 0 {
			b, release, err := bodies.read(w, r)
			if err != nil {
				return err
			}
			defer release()
			body = b
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		f, err := c.Forward(ctx, token(r.Context()), r.Method, target, r.Header, body)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !refusedHere(err) {
			rd.invalidate(token(r.Context()), v1WriteScope(target)) // even after a failure: it may have acted
		}
		if err != nil {
			return err
		}
		writeForwarded(w, r, f)
		return nil
	})}
}

// v1Target returns the path and query below /v1 of r, as the request line
// spells them, or a 400 naming what is wrong when they could reach anything
// but the API below CODEGEN_BASE_URL (see codegen.CheckTarget).
func v1Target(r *http.Request) (string, error) {
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/v1/") && uri != "/v1" && !strings.HasPrefix(uri, "/v1?") {
		return "", badRequest("the request target must be a path under /v1/ (absolute-form targets are refused)")
	}
	target := strings.TrimPrefix(uri, "/v1")
	if target == "" || target[0] == '?' {
		target = "/" + target
	}
	if err := codegen.CheckTarget(target); err != nil {
		msg := err.Error()
		if errors.Is(err, codegen.ErrBadTarget) {
			msg = strings.TrimPrefix(msg, codegen.ErrBadTarget.Error()+": ")
		}
		return "", badRequest("refused /v1 path: %s", msg)
	}
	return target, nil
}

// refusedHere reports whether err refused a call before it was sent: the
// budget had no slot for it.
func refusedHere(err error) bool {
	return errors.Is(err, codegen.ErrOverBudget) || errors.Is(err, codegen.ErrTooManyTokens)
}

// v1WriteScope is the prefix of the cached reads that a write to target
// may change: those of the organization its path names
// ([/alpha|/beta]/organizations/{org}/...), or, when it names none, every
// read of the token.
func v1WriteScope(target string) string {
	path, _, _ := strings.Cut(target, "?")
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if v := unescaped(segs[0]); v == "alpha" || v == "beta" {
		segs = segs[1:]
	}
	if len(segs) < 2 || unescaped(segs[0]) != "organizations" {
		return ""
	}
	org, err := strconv.ParseInt(unescaped(segs[1]), 10, 64)
	if err != nil {
		return ""
	}
	return orgName(org)
}

// unescaped is seg without its %-escapes; CheckTarget refused a target
// whose escapes are malformed.
func unescaped(seg string) string {
	s, _ := url.PathUnescape(seg)
	return s
}

// nameRoute names r's route, for the metrics and the access log, after the
// API's path template its path matches, such as
// /v1/organizations/{org_id}/agent/run/{agent_run_id}, and leaves chi's
// "/v1/*" for any other path: a label never holds a raw path. chi appends
// each pattern it matches to RoutePatterns; this replaces the last one.
func nameRoute(r *http.Request, templates *chi.Mux) {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil || len(rctx.RoutePatterns) == 0 {
		return
	}
	if p := templates.Find(chi.NewRouteContext(), http.MethodGet, r.URL.EscapedPath()); p != "" {
		rctx.RoutePatterns[len(rctx.RoutePatterns)-1] = p
	}
}

// writeForwarded answers with the API's answer: its status, the headers
// Forward kept and its body. nosniff keeps a browser from reading a body
// as anything but its declared type.
func writeForwarded(w http.ResponseWriter, r *http.Request, f *codegen.Forwarded) {
	h := w.Header()
	for k, vs := range f.Header {
		if k == "Vary" {
			for _, v := range vs {
				h.Add(k, v) // after the CORS middleware's
			}
			continue
		}
		h[k] = vs
	}
	if _, ok := f.Header["Content-Type"]; !ok {
		h["Content-Type"] = nil // as the API sent it: net/http would sniff one
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if f.Status != http.StatusNotModified && f.Status != http.StatusNoContent && r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.Itoa(len(f.Body)))
	}
	w.WriteHeader(f.Status)
	w.Write(f.Body) //nolint:errcheck // the caller has gone
}
