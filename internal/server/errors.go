package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// Error is a failure with the answer it deserves. Message is shown to the
// caller; Cause is logged and never shown.
type Error struct {
	Status     int
	Code       string // stable, machine-readable: "invalid_request", "rate_limited", ...
	Message    string
	Cause      error
	RetryAfter string // Retry-After header to send, if any
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// badRequest is a 400 whose message names what is wrong with the input.
func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: fmt.Sprintf(format, args...)}
}

// envelope is the body of every error answer, compatible with the seed
// server's {"error","status_code","request_id"} and adding a stable code.
type envelope struct {
	Error      string `json:"error" example:"Authentication failed"`
	StatusCode int    `json:"status_code" example:"401"`
	RequestID  string `json:"request_id" example:"abc-123-def"`
	Code       string `json:"code" example:"unauthorized"`
} //@name ErrorResponse

// ErrShuttingDown is the cause with which the server cancels the contexts
// of requests still running shortly before its shutdown deadline (see
// http.Server.BaseContext), so that they stop waiting on the upstream and
// answer 503 shutting_down while there is still time to answer.
var ErrShuttingDown = errors.New("server: shutting down")

// upstreamCodes are the upstream statuses passed on to the caller as they
// are, with the code each gets. Other upstream errors become 502.
var upstreamCodes = map[int]string{
	http.StatusBadRequest:          "invalid_request",
	http.StatusUnauthorized:        "unauthorized",
	http.StatusPaymentRequired:     "payment_required",
	http.StatusForbidden:           "forbidden",
	http.StatusNotFound:            "not_found",
	http.StatusConflict:            "conflict",
	http.StatusUnprocessableEntity: "unprocessable",
	http.StatusTooManyRequests:     "rate_limited",
}

// asError maps any error to the answer it deserves. ok is false when no
// answer should be written because the caller has gone.
func asError(err error) (e *Error, ok bool) {
	var apiErr *codegen.Error
	var over *codegen.BudgetError
	switch {
	case errors.As(err, &e):
		return e, true
	case errors.As(err, &over):
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: over.RetryAfterSeconds(), Cause: err,
			Message: "this token's Codegen API budget (" + over.Class.String() + " calls) is spent: retry after " + over.RetryAfterSeconds() + " s"}, true
	case errors.Is(err, stream.ErrShuttingDown), errors.Is(err, ErrShuttingDown):
		return &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "the server is shutting down: reconnect", RetryAfter: "1"}, true
	case errors.Is(err, context.Canceled):
		return nil, false
	case errors.Is(err, codegen.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "server_busy", Message: "the server is busy reading other answers: retry shortly", RetryAfter: "1", Cause: err}, true
	case errors.Is(err, codegen.ErrTooManyTokens):
		return &Error{Status: http.StatusServiceUnavailable, Code: "server_busy", Message: "the server is pacing as many tokens as it may, all busy: retry shortly", RetryAfter: "1", Cause: err}, true
	case errors.As(err, &apiErr):
		if code, pass := upstreamCodes[apiErr.StatusCode]; pass {
			return &Error{Status: apiErr.StatusCode, Code: code, Message: apiErr.Message, Cause: err, RetryAfter: apiErr.RetryAfter}, true
		}
		return &Error{Status: http.StatusBadGateway, Code: "upstream_error",
			Message: "the Codegen API failed (" + strconv.Itoa(apiErr.StatusCode) + ")", Cause: err}, true
	case errors.Is(err, codegen.ErrTimeout):
		return &Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Message: "the Codegen API did not answer in time", Cause: err}, true
	case errors.Is(err, codegen.ErrBadResponse), errors.Is(err, codegen.ErrUnreachable):
		return &Error{Status: http.StatusBadGateway, Code: "upstream_error", Message: "the Codegen API could not be reached or gave an unusable answer", Cause: err}, true
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Cause: err}, true
}

// errorBody returns the answer err deserves and its envelope, encoded; ok is
// false when the caller has gone and nothing should be written. A request
// ended by the shutdown, or whose body stopped arriving, still gets its
// answer.
func errorBody(r *http.Request, err error) (e *Error, body []byte, ok bool) {
	e, ok = asError(err)
	ctx := r.Context()
	if !ok || (ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrShuttingDown) && !errors.Is(err, errBodyStalled)) {
		return nil, nil, false
	}
	body, _ = json.Marshal(envelope{Error: e.Message, StatusCode: e.Status, RequestID: RequestID(r.Context()), Code: e.Code})
	return e, body, true
}

// writeError answers r with err's status and envelope, and leaves the error
// for the access log (see noteCause). It writes nothing when the caller has
// gone.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	noteCause(r.Context(), err)
	dropBody(w, r)
	e, body, ok := errorBody(r, err)
	if !ok {
		return
	}
	h := w.Header()
	if e.RetryAfter != "" {
		h.Set("Retry-After", e.RetryAfter)
	}
	writeRaw(w, e.Status, body)
}

// apiHandler is a handler that returns its failure for writeError to answer.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

func (h apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, r, err)
	}
}

var jsonContentType = []string{"application/json"}

// writeRaw answers with a JSON body that is already encoded. A failed write
// means the caller has gone; there is no one left to tell.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType // shared: net/http only reads it
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // see above
}

// passOn answers with an upstream body as it came, or returns the error of
// the call that fetched it.
func passOn(w http.ResponseWriter, body []byte, err error) error {
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, body)
	return nil
}

// writeJSON encodes v fully before answering, so an encoding failure is a
// clean 500 rather than half a response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	writeRaw(w, status, body)
	return nil
}
