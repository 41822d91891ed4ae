package server

import (
	"context"
	"net/http"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// defaultWait is the timeout of a wait that names none, in seconds.
const defaultWait = 60

// writeMargin is how long past its timeout a wait may take to write its
// answer.
const writeMargin = 30 * time.Second

// handleWait answers a run once it is settled (terminal or PAUSED), or at
// the timeout with the run as it is and X-Wait-Timed-Out: true. A waiter is
// a subscriber of the run's shared log poller, so it makes no upstream call
// of its own and counts against the stream limits.
//
//	@Summary		Wait for an agent run to finish or pause
//	@Description	Answers the run (as GET /agent-runs/{id} does) as soon as its status is terminal (COMPLETE, FAILED, ERROR, CANCELLED, STOPPED, TIMEOUT, MAX_ITERATIONS_REACHED, OUT_OF_TOKENS) or PAUSED (it waits for a resume); at the timeout, the run as it is then, with `X-Wait-Timed-Out: true`. For scripts: one call instead of a polling loop.
//	@Description
//	@Description	The wait rides on the run's shared poller, the one its log streams use: a thousand waiters on one run cost the API what one stream costs. Each waiter counts as a stream: STREAM_MAX_PER_TOKEN per token (429 past it) and STREAM_MAX in all (503 past it), both with Retry-After. A client that leaves ends its wait. When the server shuts down, 503 shutting_down.
//	@Tags			agent-runs
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id						path		int	true	"Agent run id"	minimum(1)	example(12345)
//	@Param			timeout					query		int	false	"Seconds to wait at most, 1 to WAIT_MAX_TIMEOUT (300 by default)"	minimum(1)	default(60)	example(30)
//	@Param			X-Codegen-Org-Id		header		int	false	"Organization to act on"
//	@Param			org_id					query		int	false	"Organization to act on (instead of the header)"
//	@Success		200						{object}	codegen.AgentRun
//	@Header			200						{string}	X-Wait-Timed-Out	"true when the timeout came before the run settled"
//	@Failure		400,401,403,404,422,429	{object}	envelope
//	@Header			429,503					{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,503,504				{object}	envelope
//	@ID			waitAgentRun
//	@Router			/agent-runs/{id}/wait [get]
func handleWait(hub *stream.Hub, c *codegen.Client, orgs *orgResolver, maxTimeout time.Duration) http.Handler {
	most := max(int(maxTimeout/time.Second), 1)
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		secs, err := intParam(r.URL.Query(), "timeout", min(defaultWait, most), 1, most)
		if err != nil {
			return err
		}
		timeout := time.Duration(secs) * time.Second
		sub, err := hub.Reserve(token(r.Context())) // before any upstream call
		if err != nil {
			return subscribeError(err)
		}
		defer sub.Close()
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		if err := sub.Join(org, id); err != nil {
			return err
		}
		// The server's read and write timeouts are shorter than the longest
		// wait: its read timeout would end the request's context (see
		// stream.NewWriter), its write timeout the answer.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{}) // not every writer supports it
		_ = rc.SetWriteDeadline(time.Now().Add(timeout + writeMargin))
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		run, settled, err := sub.Wait(ctx)
		switch {
		case r.Context().Err() != nil:
			return r.Context().Err() // the client left: nobody to answer
		case err != nil:
			return err
		case !settled:
			w.Header().Set("X-Wait-Timed-Out", "true")
		}
		if run == nil { // the poller has not read the run: read it once
			ctx, release := codegen.HoldAnswers(codegen.WithPriority(r.Context(), codegen.PriorityStream))
			defer release()
			run, err = c.GetRun(ctx, tok, org, id)
		}
		return passOn(w, run, err)
	})
}
