package server

import (
	"net/http"
	"strconv"
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
		tok := token(r.Context())
		org, err := orgs.resolve(r, tok)
		if err != nil {
			return err
		}
		sub, err := hub.Subscribe(tok, org, id)
		if err != nil {
			return err
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

// resumePosition returns the first log position to send: after the
// Last-Event-ID header, else after the after query parameter (for clients
// that cannot set headers), else 0. The header wins because a browser
// reconnecting sends it along with the original URL.
func resumePosition(r *http.Request) (int, error) {
	name, v := "Last-Event-ID", strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		name, v = "after", r.URL.Query().Get("after")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1_000_000_000 {
		return 0, badRequest("%s must be a log position: a non-negative integer", name)
	}
	return n + 1, nil
}
