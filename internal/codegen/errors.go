package codegen

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrTimeout is returned, wrapped, when the API does not answer within the
// Client's Timeout. A caller that went away gets context.Canceled instead.
var ErrTimeout = errors.New("codegen: upstream timed out")

// ErrBadResponse is returned, wrapped, when the API's answer cannot be used: a
// success body that is not JSON, a body over the size limit, a redirect, or a
// connection that broke while the body was read.
var ErrBadResponse = errors.New("codegen: bad upstream response")

// ErrUnreachable is returned, wrapped, when no answer arrived at all: the
// connection was refused, reset or closed before a response.
var ErrUnreachable = errors.New("codegen: upstream unreachable")

// ErrBusy is returned, wrapped, when the answers that calls are reading
// already fill the Client's MaxInFlightBytes: the call's answer was not
// read, and a later call may succeed.
var ErrBusy = errors.New("codegen: too many answer bytes in flight")

// Error is an answer from the API with a status of 400 or more.
type Error struct {
	// Op names the operation, such as "get_run".
	Op string
	// StatusCode is the HTTP status the API answered with.
	StatusCode int
	// Message is the API's own explanation, taken from the body's "message"
	// or "detail", or the status text when the body has neither. It is
	// bounded in length and safe to show to the caller.
	Message string
	// RetryAfter is the API's Retry-After header, verbatim, or "".
	RetryAfter string
}

func (e *Error) Error() string {
	return fmt.Sprintf("codegen: %s: upstream answered %d: %s", e.Op, e.StatusCode, e.Message)
}

// maxMessageLen bounds the upstream message copied into an Error.
const maxMessageLen = 300

// newError builds an Error from an upstream answer and its body.
func newError(op string, resp *http.Response, body []byte) *Error {
	return &Error{
		Op:         op,
		StatusCode: resp.StatusCode,
		Message:    errorMessage(resp.StatusCode, body),
		RetryAfter: resp.Header.Get("Retry-After"),
	}
}

// errorMessage extracts a readable message from the API's error bodies:
// {"message": ...} for 4xx answers and FastAPI's {"detail": ...} for 422s
// and framework errors.
func errorMessage(status int, body []byte) string {
	var b struct {
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	msg := ""
	if json.Unmarshal(body, &b) == nil {
		msg = b.Message
		if msg == "" && len(b.Detail) > 0 {
			msg = detailMessage(b.Detail)
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if len(msg) > maxMessageLen {
		msg = msg[:maxMessageLen] + "..."
	}
	return msg
}

// detailMessage renders FastAPI's detail, either a string or a list of
// validation errors, as "query.limit: Input should be ...; ...".
func detailMessage(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []ValidationError
	if json.Unmarshal(raw, &list) != nil {
		return ""
	}
	parts := make([]string, 0, len(list))
	for _, v := range list {
		loc := make([]string, 0, len(v.Loc))
		for _, l := range v.Loc {
			loc = append(loc, fmt.Sprint(l))
		}
		parts = append(parts, strings.Join(loc, ".")+": "+v.Msg)
	}
	return strings.Join(parts, "; ")
}
