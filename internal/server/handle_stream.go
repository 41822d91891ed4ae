package server

import (
	"context"
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
// EventSource from reconnecting); after, they are error events. The stream
// starts within the Hub's StartWait of its place being reserved, whatever
// the upstream is doing.
//
//	@Summary		Stream an agent run's logs (Server-Sent Events)
//	@Description	A text/event-stream of the run until it ends. Events: `status` (first, and on every change: data {id, status, result, summary, github_pull_requests}); `log` (one per entry, id = the entry's 0-based position, data = the entry as the API returned it); `done` (after the last log of a run in a terminal status: COMPLETE, FAILED, ERROR, CANCELLED, STOPPED, TIMEOUT, MAX_ITERATIONS_REACHED, OUT_OF_TOKENS; data = the finished run; the stream then closes); `error` (data = the error envelope; 5xx, 504 and 429 are transient and the stream goes on, 401/403/404 and 503 shutting_down end it). Control events carry no id. A `: ping` comment every 15 s keeps the connection; `retry: 3000` opens the stream.
//	@Description
//	@Description	Resume with the Last-Event-ID header (sent by browsers on reconnect) or ?after=N: the stream continues at position N+1 with no gap and no duplicate, even from before the entries the proxy keeps (those are read again from the API). Each token may have STREAM_MAX_PER_TOKEN streams open (429 past it) and the server STREAM_MAX (503 past it), both with Retry-After. If the API has not answered within half a second (the run's first read, or the lookup of the caller's first organization when none is named), the stream starts with a `: waiting for the upstream` comment, and a failure then comes as an `error` event. Browsers' EventSource cannot send headers, so this route alone also takes the token as ?access_token=. All subscribers of a run with the same token share one upstream poller. HEAD answers the stream's headers after the checks that need no upstream call, without opening the stream (so it cannot tell a missing run).
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
		return serveStream(w, r, hub, orgs,
			func(sub *stream.Subscription, org int64) error { return sub.Join(org, id) },
			func(sub *stream.Subscription, sw *stream.Writer, render func(error) []byte) {
				sub.Run(r.Context(), sw, from, heartbeat, render)
			})
	})
}

// serveStream serves a stream of the request's organization (HEAD answers
// its headers only): it reserves a place before any upstream call, finds
// the organization, attaches the subscription with join, and starts the
// stream within the Hub's StartWait, then hands it to run. Failures before
// the stream starts are returned as plain HTTP errors; after, they are
// error events and it returns nil, as it does when the client leaves.
func serveStream(w http.ResponseWriter, r *http.Request, hub *stream.Hub, orgs *orgResolver,
	join func(sub *stream.Subscription, org int64) error,
	run func(sub *stream.Subscription, sw *stream.Writer, render func(error) []byte)) error {
	if r.Method == http.MethodHead {
		return streamHead(w, r)
	}
	tok := token(r.Context())
	sub, err := hub.Reserve(tok) // before any upstream call
	if err != nil {
		return subscribeError(err)
	}
	defer sub.Close()
	render := func(err error) []byte {
		_, body, _ := errorBody(r, err)
		return body
	}
	org, late, err := streamOrg(r, orgs, tok, sub.StartBy())
	if err != nil {
		return err
	}
	var sw *stream.Writer // set once the stream has started
	if late != nil {
		if sw, org = startLate(r.Context(), w, hub.Closing(), late, render); sw == nil {
			return nil // ended, or the client left
		}
	}
	if err := join(sub, org); err != nil {
		if sw != nil {
			sw.Event("error", render(err))
			sw.Flush() //nolint:errcheck // the stream ends either way
			return nil
		}
		return subscribeError(err)
	}
	if sw == nil {
		if err := sub.Ready(r.Context()); err != nil {
			return err
		}
		if sw, err = stream.NewWriter(w, retryHint); err != nil {
			return nil // the client left; the header is already out
		}
	}
	run(sub, sw, render)
	return nil
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

// orgAnswer is the end of an organization lookup.
type orgAnswer struct {
	org int64
	err error
}

// streamOrg returns the organization a stream request acts on if it is
// known by startBy. Otherwise late delivers it, or the lookup's error, when
// the upstream answers: the stream must not wait longer for its headers.
func streamOrg(r *http.Request, orgs *orgResolver, tok string, startBy time.Time) (org int64, late <-chan orgAnswer, err error) {
	org, err = requestedOrg(r)
	if err != nil || org != 0 {
		return org, nil, err
	}
	if orgs.fallback != 0 {
		return orgs.fallback, nil, nil
	}
	answer := make(chan orgAnswer, 1)
	ctx := r.Context() // ends when the handler returns, and the lookup with it
	go func() {
		org, err := orgs.firstOrg(ctx, tok)
		answer <- orgAnswer{org, err}
	}()
	t := time.NewTimer(time.Until(startBy))
	defer t.Stop()
	select {
	case a := <-answer:
		return a.org, nil, a.err
	case <-t.C:
		return 0, answer, nil
	}
}

// startLate starts the stream with the waiting comment before its
// organization is known, and returns it once late answers. If the lookup
// fails or the server shuts down meanwhile, it ends the stream with an
// error event and returns a nil Writer, as it does if the client leaves.
func startLate(ctx context.Context, w http.ResponseWriter, closing <-chan struct{}, late <-chan orgAnswer,
	render func(error) []byte) (*stream.Writer, int64) {
	sw, err := stream.NewWriter(w, retryHint)
	if err != nil {
		return nil, 0
	}
	sw.Waiting()
	if sw.Flush() != nil {
		return nil, 0
	}
	var a orgAnswer
	select {
	case a = <-late:
	case <-closing:
		a.err = stream.ErrShuttingDown
	case <-ctx.Done():
		return nil, 0
	}
	if a.err != nil {
		sw.Event("error", render(a.err))
		sw.Flush() //nolint:errcheck // the stream ends either way
		return nil, 0
	}
	return sw, a.org
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

// resumePosition returns the first log position to send: after the one
// the client resumes from (see resumeAfter), else 0.
func resumePosition(r *http.Request) (int, error) {
	name, v, err := resumeAfter(r)
	if err != nil || v == "" {
		return 0, err
	}
	n, ok := decimal(v)
	if !ok || n < 0 || n > 1_000_000_000 {
		return 0, badRequest("%s must be a log position: a non-negative integer", name)
	}
	return int(n) + 1, nil
}

// resumeAfter returns, unparsed, what a client resumes after, and where it
// gave it: the Last-Event-ID header, else the after query parameter (for
// clients that cannot set headers), else "". The header wins because a
// browser reconnecting sends it along with the original URL. Either given
// twice is a 400.
func resumeAfter(r *http.Request) (name, v string, err error) {
	if len(r.Header.Values("Last-Event-ID")) > 1 {
		return "", "", badRequest("Last-Event-ID: give it once")
	}
	if v := strings.TrimSpace(r.Header.Get("Last-Event-ID")); v != "" {
		return "Last-Event-ID", v, nil
	}
	v, err = oneValue(r.URL.Query(), "after")
	return "after", v, err
}
