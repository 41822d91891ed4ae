package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// retryHint is the reconnection delay suggested to SSE clients.
const retryHint = 3 * time.Second

// handleStream serves a run's logs as Server-Sent Events from a poller shared
// with every other subscriber of the run with the same token. Before the
// stream starts, failures are plain HTTP errors (a 404 stops a browser's
// EventSource from reconnecting); after, they are error events.
//
//	@Summary		Stream an agent run's logs (Server-Sent Events)
//	@Description	A text/event-stream of the run until it ends. Events: `status` (first, and on every change: data {id, status, result, summary, github_pull_requests}); `log` (one per entry, id = the entry's 0-based position, data = the entry as the API returned it); `done` (after the last log of a run in a terminal status: COMPLETE, FAILED, ERROR, CANCELLED, STOPPED, TIMEOUT, MAX_ITERATIONS_REACHED, OUT_OF_TOKENS; data = the finished run; the stream then closes); `error` (data = the error envelope; 5xx, 504 and 429 are transient and the stream goes on, 401/403/404 and 503 shutting_down end it). Control events carry no id. A `: ping` comment every 15 s keeps the connection; `retry: 3000` opens the stream.
//	@Description
//	@Description	Resume with the Last-Event-ID header (sent by browsers on reconnect) or ?after=N: the stream continues at position N+1 with no gap and no duplicate, even from before the entries the proxy keeps (those are read again from the API). Each token may have STREAM_MAX_PER_TOKEN streams open (429 past it) and the server STREAM_MAX (503 past it), both with Retry-After. If the API has not answered within half a second, the stream starts with a `: waiting for the upstream` comment. Browsers' EventSource cannot send headers, so this route alone also takes the token as ?access_token=. All subscribers of a run with the same token share one upstream poller. HEAD answers the stream's headers after the checks that need no upstream call, without opening the stream (so it cannot tell a missing run).
//	@Tags			logs
//	@Produce		text/event-stream
//	@Security		BearerAuth
//	@Param			id						path		int		true	"Agent run id"	minimum(1)	example(12345)
//	@Param			Last-Event-ID			header		int		false	"Resume after this log position"
//	@Param			after					query		int		false	"Resume after this log position (for clients that cannot set headers)"	minimum(0)
//	@Param			access_token			query		string	false	"The bearer token, for EventSource (prefer the header)"
//	@Param			X-Codegen-Org-Id		header		int		false	"Organization to act on"
//	@Param			org_id					query		int		false	"Organization to act on (instead of the header)"
//	@Success		200						{string}	string	"event: status / log / done / error, as described above"
//	@Failure		400,401,403,404,422,429	{object}	envelope
//	@Header			429						{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,503,504				{object}	envelope
//	@ID			streamAgentRunLogs
//	@Router			/agent-runs/{id}/logs/stream [get]
func handleStream(hub *stream.Hub, orgs *orgResolver, heartbeat time.Duration) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		from, err := resumePosition(r)
		if err != nil {
			return err
		}
		if r.Method == http.MethodHead {
			return streamHead(w, r)
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		sub, err := hub.Subscribe(tok, org, id)
		if err != nil {
			return subscribeError(err)
		}
		defer sub.Close()
		if err := sub.Ready(r.Context()); err != nil {
			return err
		}
		sw, err := stream.NewWriter(w, retryHint)
		if err != nil {
			return nil // the client left; the header is already out
		}
		sub.Run(r.Context(), sw, from, heartbeat, func(err error) []byte {
			_, body, _ := errorBody(r, err)
			return body
		})
		return nil
	})
}

// streamHead answers a HEAD of a stream with the headers a GET would start
// the stream with, after the checks that need no upstream call: it opens no
// stream and starts no poller, so it cannot tell a run that does not exist
// (a GET answers 404).
func streamHead(w http.ResponseWriter, r *http.Request) error {
	if _, err := requestedOrg(r); err != nil {
		return err
	}
	_, _ = stream.NewWriter(w, retryHint) // net/http drops the body of a HEAD answer
	return nil
}

// subscribeError is the answer to a refused subscription: 429 past the
// token's stream limit, 503 past the server's.
func subscribeError(err error) error {
	switch {
	case errors.Is(err, stream.ErrTooManyStreams):
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_streams", RetryAfter: "10",
			Message: "this token has too many open streams: close one first"}
	case errors.Is(err, stream.ErrStreamsFull):
		return &Error{Status: http.StatusServiceUnavailable, Code: "too_many_streams", RetryAfter: "10",
			Message: "the server has too many open streams: retry later"}
	}
	return err
}

// resumePosition returns the first log position to send: after the
// Last-Event-ID header, else after the after query parameter (for clients
// that cannot set headers), else 0. The header wins because a browser
// reconnecting sends it along with the original URL.
func resumePosition(r *http.Request) (int, error) {
	name, v := "Last-Event-ID", strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		name = "after"
		var err error
		if v, err = oneValue(r.URL.Query(), "after"); err != nil {
			return 0, err
		}
	}
	if v == "" {
		return 0, nil
	}
	n, ok := decimal(v)
	if !ok || n < 0 || n > 1_000_000_000 {
		return 0, badRequest("%s must be a log position: a non-negative integer", name)
	}
	return int(n) + 1, nil
}
