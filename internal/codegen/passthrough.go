package codegen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ErrBadTarget is returned, wrapped, by CheckTarget and Forward for a path
// that could reach anything but the API below BaseURL.
var ErrBadTarget = errors.New("codegen: refused path")

// Forwarded is the API's answer to a Forward call, whatever its status.
type Forwarded struct {
	// Status is the status the API answered with: 2xx, 304 or 4xx/5xx.
	Status int
	// Header holds only the answer headers of ForwardedAnswerHeaders and,
	// for HEAD, the API's Content-Length when it sent one, so that a HEAD
	// answer says what a GET's would.
	Header http.Header
	// Body is the answer's body as it came, nil for HEAD, 204 and 304.
	Body []byte
}

// forwardedRequestHeaders are the caller's headers Forward sends on: content
// negotiation and conditional requests. Authorization is the token Forward
// is given, and X-Request-ID the Client's; cookies, hop-by-hop headers and
// everything else stay behind. Never Idempotency-Key or X-Idempotency-Key:
// the API documents neither, and net/http's Transport sends a request that
// holds one again by itself when a kept-alive connection dies after the
// request was written, so one create would become two runs.
var forwardedRequestHeaders = []string{
	"Accept", "Accept-Language", "Content-Type",
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
}

// forwardedAnswerHeaders are the API's answer headers Forward returns: the
// body's type, caching and the rate limits (Retry-After, and the
// X-RateLimit-* and IETF RateLimit-* fields). Never Set-Cookie, Location or
// hop-by-hop headers.
var forwardedAnswerHeaders = []string{
	"Content-Type", "Content-Language", "Cache-Control", "Expires", "ETag", "Last-Modified", "Vary",
	"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
	"RateLimit", "RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
}

// ForwardedRequestHeaders returns the request headers Forward sends on, in
// canonical form, in a new slice.
func ForwardedRequestHeaders() []string { return slices.Clone(forwardedRequestHeaders) }

// ForwardedAnswerHeaders returns the answer headers Forward returns, in
// canonical form, in a new slice.
func ForwardedAnswerHeaders() []string { return slices.Clone(forwardedAnswerHeaders) }

// pathTemplates are the paths of the API's OpenAPI document, and the beta
// stop its official clients call, which the document does not list.
var pathTemplates = []string{
	"/v1/alpha/organizations/{org_id}/agent/run/{agent_run_id}/logs",
	"/v1/beta/organizations/{org_id}/agent/run/stop",
	"/v1/mcp-providers",
	"/v1/oauth/tokens/revoke",
	"/v1/oauth/tokens/status",
	"/v1/organizations",
	"/v1/organizations/{org_id}/agent/run",
	"/v1/organizations/{org_id}/agent/run/ban",
	"/v1/organizations/{org_id}/agent/run/remove-from-pr",
	"/v1/organizations/{org_id}/agent/run/resume",
	"/v1/organizations/{org_id}/agent/run/unban",
	"/v1/organizations/{org_id}/agent/run/{agent_run_id}",
	"/v1/organizations/{org_id}/agent/runs",
	"/v1/organizations/{org_id}/cli/rules",
	"/v1/organizations/{org_id}/integrations",
	"/v1/organizations/{org_id}/prs/{pr_id}",
	"/v1/organizations/{org_id}/repos",
	"/v1/organizations/{org_id}/repos/check-suite-settings",
	"/v1/organizations/{org_id}/repos/{repo_id}/prs/{pr_id}",
	"/v1/organizations/{org_id}/sandbox/{sandbox_id}/analyze-logs",
	"/v1/organizations/{org_id}/setup-commands/generate",
	"/v1/organizations/{org_id}/users",
	"/v1/organizations/{org_id}/users/{user_id}",
	"/v1/slack-connect/generate-token",
	"/v1/users/me",
}

// PathTemplates returns the API's path templates, such as
// /v1/organizations/{org_id}/agent/run/{agent_run_id}, sorted, in a new
// slice: a bounded set of names for what Forward reaches.
func PathTemplates() []string { return slices.Clone(pathTemplates) }

// CheckTarget reports, with an error wrapping ErrBadTarget that says why,
// whether target, a path and query below BaseURL as a request line spells
// it, could reach anything but the API below BaseURL, or could be read
// upstream as another path than the one the proxy classes and names: it
// must hold no "#" (in the query either: it would cut the query short) and
// start with "/", and its path must hold no "." or ".." segment
// (escaped or not), no empty segment but a last one, no escaped "/" or "\",
// no "\", ";" or control characters, no escaped "%" or non-ASCII
// byte, no malformed escape, and only canonical segments (see
// checkSegment).
func CheckTarget(target string) error {
	if strings.Contains(target, "#") { // url.Parse would cut the rest off as a fragment
		return fmt.Errorf("%w: the target holds a # (escape it as %%23)", ErrBadTarget)
	}
	path, _, _ := strings.Cut(target, "?")
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%w: the path must start with /", ErrBadTarget)
	}
	segs := strings.Split(path[1:], "/")
	for i, seg := range segs {
		if seg == "" && i < len(segs)-1 {
			return fmt.Errorf("%w: the path holds an empty segment (//)", ErrBadTarget)
		}
		if err := checkSegment(seg); err != nil {
			return err
		}
	}
	for j := 0; j < len(target); j++ {
		if target[j] <= ' ' || target[j] >= 0x7f {
			return fmt.Errorf("%w: the target holds a space, control or non-ASCII byte", ErrBadTarget)
		}
	}
	return nil
}

// checkSegment refuses a path segment that is not in the one spelling
// url.PathEscape gives its decoded form: letters, digits, "-._~" and
// "$&+:=@" as they are, everything else %-escaped in upper case. The API
// routes on the decoded path, and the proxy classes (ClassOf), names
// (PathTemplates) and sends the path as it came; with one spelling per
// path they agree, so an escaped letter (POST .../agent/%72un) cannot move
// a call out of its budget class or its route label.
//
// It also refuses what a server or proxy in front of the API could read
// as "." or "..": a ";" (cut as a path parameter: "..;"), a "%" once
// decoded (a second decode: "%252e"), and any non-ASCII byte once decoded,
// which covers bytes that are not UTF-8 (overlong "%C0%AE") and every
// character that some normalisation or best-fit mapping folds to "."
// (fullwidth "%EF%BC%8E" under NFKC). The API's paths are ASCII, so this
// refuses no real call, and it needs no Unicode tables.
func checkSegment(seg string) error {
	if strings.Contains(seg, `\`) {
		return fmt.Errorf("%w: the path holds a \\", ErrBadTarget)
	}
	dec, err := url.PathUnescape(seg)
	switch {
	case err != nil:
		return fmt.Errorf("%w: the path holds a malformed %%-escape", ErrBadTarget)
	case strings.ContainsAny(dec, `/\`):
		return fmt.Errorf("%w: the path holds an escaped / or \\ (%%2F, %%5C)", ErrBadTarget)
	case dec == "." || dec == "..":
		return fmt.Errorf("%w: the path holds a . or .. segment", ErrBadTarget)
	}
	if strings.ContainsAny(dec, ";%") {
		return fmt.Errorf("%w: the path holds a ; or an escaped %% (%%3B, %%25), which other servers read as another path", ErrBadTarget)
	}
	for j := 0; j < len(dec); j++ {
		switch {
		case dec[j] < ' ' || dec[j] == 0x7f:
			return fmt.Errorf("%w: the path holds a control character", ErrBadTarget)
		case dec[j] >= 0x80:
			return fmt.Errorf("%w: the path holds an escaped non-ASCII byte (the API's paths are ASCII)", ErrBadTarget)
		}
	}
	if url.PathEscape(dec) != seg {
		return fmt.Errorf("%w: the path segment %q is not in canonical form (want %q: escape only what must be, in upper-case hex)",
			ErrBadTarget, seg, url.PathEscape(dec))
	}
	return nil
}

// Forward sends a caller's request to the API as it came: method, target
// (path and query below BaseURL, escaped, as CheckTarget accepts it) and
// body, with the caller's headers of ForwardedRequestHeaders and token as
// its bearer token, and returns the API's answer whatever its status, so
// that the caller sees the API's own error bodies. It is the Client's
// other calls' way: the token's own connection pool, MaxResponseBytes, the
// MaxInFlightBytes budget (HoldAnswers keeps it), Timeout, and retries of
// GETs only, after a connection failure or a 502, 503 or 504 answer
// without Retry-After (the last such answer is returned; one with
// Retry-After is returned at once, so the caller waits as the API asks).
// Other methods are retried only when the connection could not be opened.
//
// The error, when there is no answer to pass on, wraps ErrBadTarget,
// ErrTimeout, ErrUnreachable, ErrBadResponse (a redirect other than 304, or
// a body over the limit or cut short), ErrBusy, or the context's error.
func (c *Client) Forward(ctx context.Context, token, method, target string, header http.Header, body []byte) (*Forwarded, error) {
	if err := CheckTarget(target); err != nil {
		return nil, err
	}
	if len(body) == 0 {
		body = nil
	}
	k := call{op: "passthrough", method: method, path: target, body: body, token: token, header: requestHeaders(header)}
	var f *Forwarded
	err := c.retrying(ctx, k, func(ctx context.Context, t try) (retry bool, err error) {
		f, retry, err = c.forwardOnce(ctx, t, k)
		return retry, err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// forwardOnce makes one attempt of a Forward call. retry reports that the
// attempt failed and may be made again: also when it answered 502, 503 or
// 504 without Retry-After to a GET that is not the last attempt, whose
// answer is then dropped.
func (c *Client) forwardOnce(ctx context.Context, t try, k call) (f *Forwarded, retry bool, err error) {
	resp, start, retry, err := c.roundTrip(ctx, t, k)
	if err != nil {
		return nil, retry, err
	}
	defer resp.Body.Close()
	c.observe(k.op, resp.StatusCode, start)
	if s := resp.StatusCode; s < 200 || s > 599 || (s >= 300 && s < 400 && s != http.StatusNotModified) {
		return nil, false, fmt.Errorf("%w: %s: unexpected status %d", ErrBadResponse, k.op, s)
	}
	f = &Forwarded{Status: resp.StatusCode, Header: answerHeaders(resp.Header)}
	if k.method == http.MethodHead {
		if resp.ContentLength >= 0 {
			f.Header.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
		return f, false, nil
	}
	if resp.Body == http.NoBody {
		return f, false, nil
	}
	body, held, err := c.readBody(resp)
	defer func() { c.release(ctx, held, err == nil) }()
	switch {
	case err != nil:
		retry, err = readFailed(k, err)
		return nil, retry, err
	case !t.last && retryableAnswer(k.method, resp):
		return nil, true, fmt.Errorf("%w: %s: upstream answered %d and no time was left to retry", ErrBadResponse, k.op, f.Status)
	}
	f.Body = body
	return f, false, nil
}

// answerHeaders copies the headers of ForwardedAnswerHeaders out of h.
func answerHeaders(h http.Header) http.Header { return allowed(h, forwardedAnswerHeaders) }

// requestHeaders copies the headers of ForwardedRequestHeaders out of h,
// into a header that is not nil, so that Forward never sends the Client's
// Accept.
func requestHeaders(h http.Header) http.Header { return allowed(h, forwardedRequestHeaders) }

// allowed copies the headers named in names out of h.
func allowed(h http.Header, names []string) http.Header {
	out := make(http.Header, 4)
	for _, name := range names {
		if vs := h.Values(name); len(vs) > 0 {
			out[textproto.CanonicalMIMEHeaderKey(name)] = vs
		}
	}
	return out
}
