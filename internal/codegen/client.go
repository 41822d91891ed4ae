// Package codegen is the client of the Codegen API. It is the only code that
// knows the API's URLs, and it holds the API's wire types (types.go), named
// after the schemas of its OpenAPI document. It returns answers as the JSON
// the API sent, unparsed: the code that needs a field reads it itself, as the
// stream pollers (the run's status and logs) and the proxy's filters (status,
// message_type, a filtered page's run) do, some with these types and some
// with small structs of their own. It depends on the standard library and
// golang.org/x/sync only.
package codegen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Client calls the Codegen API on behalf of callers whose token each method
// takes explicitly; the Client holds no credentials of its own.
//
// BaseURL is required; every other field has a useful zero value. A Client is
// safe for concurrent use once its fields are set; they must not change
// after, and the Client must not be copied after its first call.
type Client struct {
	// BaseURL is the API root including its version and no trailing slash,
	// such as https://api.codegen.com/v1.
	BaseURL string

	// Transport, if set, sends every request, whatever its token: one
	// connection pool for all, for tests. If nil, each token's calls go
	// through a Transport of their own (see NewPool and MaxPools), so that
	// no connection carries two tokens' calls and no answer, however an
	// upstream frames it, reaches another token's caller.
	//
	// The Client calls the RoundTripper directly, not through an
	// http.Client, so redirects are never followed (a redirect would carry
	// the caller's token elsewhere): a 3xx answer is an ErrBadResponse.
	// The Client closes an answer's body without reading past
	// MaxResponseBytes; the Transport must then drop the connection rather
	// than drain it, as net/http's does.
	Transport http.RoundTripper

	// NewPool returns a new Transport for the calls of one token. If nil,
	// NewTokenTransport.
	NewPool func() *http.Transport

	// MaxPools bounds the tokens whose connection pools the Client keeps;
	// past it the least recently used pool is dropped, and its idle
	// connections closed once no call uses it. If zero, 128.
	MaxPools int

	// Timeout bounds one call, retries included. If zero, 30 seconds.
	Timeout time.Duration

	// MaxResponseBytes bounds the body read from the API. If zero, 32 MiB.
	MaxResponseBytes int64

	// MaxInFlightBytes bounds the answer bytes that all calls hold at once
	// while they read and check them: a call reserves its answer's
	// Content-Length before reading it, or, for an answer of unknown length,
	// its buffer as it grows. A call that does not fit fails with ErrBusy.
	// The reservation ends when the call returns, or for a call made with a
	// context from HoldAnswers, when the caller releases it. If zero,
	// 256 MiB; a value below MaxResponseBytes is raised to it, so that one
	// largest answer fits.
	MaxInFlightBytes int64

	// Retries is how many times a call is retried after a transient failure.
	// GETs retry on connection failures and 502/503/504 answers; POSTs only
	// when the connection could not be opened, so nothing reached the API.
	// If zero, 2; a negative value disables retries.
	Retries int

	// RequestID, if set, returns the id sent as X-Request-ID on each call.
	RequestID func(ctx context.Context) string

	// Budget, if set, paces each token's calls: every attempt takes a slot
	// of its Class first (at the priority its context carries, see
	// WithPriority), a call that gets none fails with a *BudgetError without
	// reaching the API, and an upstream 429 pauses the class for its
	// Retry-After. If nil, calls are not paced.
	Budget Budget

	// Observe, if set, is called after every attempt with the operation
	// name, the status the API answered with (0 when none arrived) and how
	// long the attempt took. It must be safe for concurrent use.
	Observe func(op string, status int, d time.Duration)

	once    sync.Once
	pools   *pools              // nil when Transport is set
	answers *semaphore.Weighted // the MaxInFlightBytes budget
}

// call describes one API operation.
type call struct {
	op     string // operation name for errors and metrics, e.g. "get_run"
	method string
	path   string // path and query below BaseURL, escaped, starting with "/"
	body   []byte // JSON request body; nil for none
	token  string
	// header, for Forward, holds the caller's headers to send, sent in
	// place of Accept: application/json; nil for the Client's own calls.
	header http.Header
}

// do performs k, retrying as the Client's policy allows, and returns the
// response body when the API answered 2xx with valid JSON.
func (c *Client) do(ctx context.Context, k call) ([]byte, error) {
	var body []byte
	err := c.retrying(ctx, k, func(ctx context.Context, t try) (retry bool, err error) {
		body, retry, err = c.attempt(ctx, t, k)
		return retry, err
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

// attempt makes one request. retry reports whether the failure is transient
// and safe to retry for k's method.
func (c *Client) attempt(ctx context.Context, t try, k call) (body []byte, retry bool, err error) {
	resp, start, retry, err := c.roundTrip(ctx, t, k)
	if err != nil {
		return nil, retry, err
	}
	defer resp.Body.Close()
	body, held, err := c.readBody(resp)
	defer func() { c.release(ctx, held, err == nil) }()
	c.observe(k.op, resp.StatusCode, start)
	if err != nil {
		retry, err = readFailed(k, err)
		return nil, retry, err
	}
	switch {
	case resp.StatusCode >= 400:
		return nil, retryableAnswer(k.method, resp), newError(k.op, resp, body)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, false, fmt.Errorf("%w: %s: unexpected status %d", ErrBadResponse, k.op, resp.StatusCode)
	case !validJSON(body):
		return nil, false, fmt.Errorf("%w: %s: body is not valid JSON", ErrBadResponse, k.op)
	}
	return body, false, nil
}

func (c *Client) newRequest(ctx context.Context, k call) (*http.Request, error) {
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, c.BaseURL+k.path, body)
	if err != nil {
		return nil, fmt.Errorf("%s: building request: %w", k.op, err)
	}
	h := req.Header
	if k.token != "" {
		h["Authorization"] = []string{"Bearer " + k.token}
	}
	// Shared values: transports only read request headers.
	if k.header == nil {
		h["Accept"] = jsonValue
	}
	h["User-Agent"] = userAgent
	if k.body != nil {
		h["Content-Type"] = jsonValue // NewRequestWithContext set GetBody for the bytes.Reader
	}
	maps.Copy(h, k.header)
	if c.RequestID != nil {
		if id := c.RequestID(ctx); id != "" {
			h["X-Request-Id"] = []string{id}
		}
	}
	return req, nil
}

func (c *Client) observe(op string, status int, start time.Time) {
	if c.Observe != nil {
		c.Observe(op, status, time.Since(start))
	}
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 30 * time.Second
}

func (c *Client) maxResponseBytes() int64 {
	if c.MaxResponseBytes > 0 {
		return c.MaxResponseBytes
	}
	return 32 << 20
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return 2
	}
	return c.Retries
}

var (
	jsonValue = []string{"application/json"}
	userAgent = []string{"codegen-proxy"}
)
