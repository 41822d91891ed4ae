package server

import (
	"context"
	"net/http"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// handleFeed serves an organization's runs feed as Server-Sent Events from a
// poller shared with every other subscriber of the organization with the
// same token. Before the stream starts, failures are plain HTTP errors;
// after, they are error events. Like the logs stream it starts within the
// Hub's StartWait of its place being reserved, whatever the upstream does.
//
//	@Summary		Stream an organization's runs (Server-Sent Events)
//	@Description	A text/event-stream of the organization's newest runs and their changes, for dashboards. Events: `run` (data = one run, as GET /agent-runs/{id} answers it; id = the feed's event number: decimal, strictly increasing, and each new poller of the feed (after its last subscriber left, or a restart) numbers from above every number an earlier one gave); `reset` (data `{}`, no id: the Last-Event-ID given is older than the events the proxy keeps, past the latest, or not from this poller; a snapshot follows); `error` (data = the error envelope; 5xx, 504 and 429 are transient and the stream goes on, 401/403/404 and 503 shutting_down end it). A `: ping` comment every 15 s keeps the connection; `retry: 3000` opens the stream.
//	@Description
//	@Description	Without Last-Event-ID the stream opens with a snapshot: a `run` event for each run of the newest page (FEED_RUNS runs, newest first), only the last of them with an id. Then a numbered `run` event whenever a run appears on that page or its status, summary or github_pull_requests change. Resume with the Last-Event-ID header (sent by browsers on reconnect) or ?after=N: the events numbered after N, with no gap and no duplicate, while the proxy keeps them (FEED_HISTORY_ENTRIES, FEED_HISTORY_BYTES); otherwise `reset` and a snapshot. Each feed counts as a stream: STREAM_MAX_PER_TOKEN per token (429 past it) and STREAM_MAX in all (503 past it), both with Retry-After. All subscribers of an organization with the same token share one upstream poller, which reads the newest page every STREAM_POLL_INTERVAL (twice as often after a change, up to 2.5 times slower when idle) within the token's STREAM_LOGS_BUDGET. Browsers' EventSource cannot send headers, so this route also takes the token as ?access_token=. HEAD answers the stream's headers after the checks that need no upstream call, without opening the stream.
//	@Tags			agent-runs
//	@Produce		text/event-stream
//	@Security		BearerAuth
//	@Param			Last-Event-ID			header		int		false	"Resume after this event number"
//	@Param			after					query		int		false	"Resume after this event number (for clients that cannot set headers)"	minimum(0)
//	@Param			access_token			query		string	false	"The bearer token, for EventSource (prefer the header)"
//	@Param			X-Codegen-Org-Id		header		int		false	"Organization to act on"
//	@Param			org_id					query		int		false	"Organization to act on (instead of the header)"
//	@Param			timeout					query		int		false	"End the stream after this many seconds, 1 to WAIT_MAX_TIMEOUT (default: never), for scripts and for Try it out, which shows an answer only once it ends"	minimum(1)	example(3)
//	@Success		200						{string}	string	"event: run / reset / error, as described above"
//	@Failure		400,401,403,404,422,429	{object}	envelope
//	@Header			429						{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,503,504				{object}	envelope
//	@ID			streamAgentRuns
//	@Router			/agent-runs/stream [get]
func handleFeed(hub *stream.Hub, orgs *orgResolver, heartbeat, maxTimeout time.Duration) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		after, err := feedPosition(r)
		if err != nil {
			return err
		}
		secs, err := intParam(r.URL.Query(), "timeout", 0, 1, int(maxTimeout/time.Second))
		if err != nil {
			return err
		}
		return serveStream(w, r, hub, orgs,
			func(sub *stream.Subscription, org int64) error { return sub.JoinFeed(org) },
			func(sub *stream.Subscription, sw *stream.Writer, render func(error) []byte) {
				ctx := r.Context()
				if secs > 0 { // the stream ends quietly then, as when the client leaves
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Duration(secs)*time.Second)
					defer cancel()
				}
				sub.RunFeed(ctx, sw, after, heartbeat, render)
			})
	})
}

// feedPosition returns the feed event number to resume after (see
// resumeAfter), else -1 (none).
func feedPosition(r *http.Request) (int64, error) {
	name, v, err := resumeAfter(r)
	if err != nil {
		return 0, err
	}
	if v == "" {
		return -1, nil
	}
	n, ok := decimal(v)
	if !ok || n < 0 {
		return 0, badRequest("%s must be a feed event number: a non-negative integer", name)
	}
	return n, nil
}
