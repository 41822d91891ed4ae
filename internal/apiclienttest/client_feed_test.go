package apiclienttest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/launchdarkly/eventsource"
)

// waitAndFeedOperations waits for run id through the generated client, and
// opens the runs feed, whose stream never ends: through the client's plain
// call, which leaves the body to read, up to its first run event.
func waitAndFeedOperations(t *testing.T, ctx context.Context, c *ClientWithResponses, id int) []string {
	t.Helper()
	timeout := 30
	waited, err := c.WaitAgentRunWithResponse(ctx, id, &WaitAgentRunParams{Timeout: &timeout})
	want2xx(t, "waitAgentRun", waited.HTTPResponse, waited.Body, err)
	if waited.JSON200 == nil || waited.JSON200.Id == nil || *waited.JSON200.Id != id || waited.JSON200.Status == nil ||
		*waited.JSON200.Status != "COMPLETE" || waited.HTTPResponse.Header.Get("X-Wait-Timed-Out") != "" {
		t.Errorf("waitAgentRun decoded %+v (X-Wait-Timed-Out %q), want run %d COMPLETE", waited.JSON200,
			waited.HTTPResponse.Header.Get("X-Wait-Timed-Out"), id)
	}

	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	resp, err := c.StreamAgentRuns(ctx, &StreamAgentRunsParams{})
	if err != nil {
		t.Fatalf("streamAgentRuns: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("streamAgentRuns: status %d, Content-Type %q; want an event stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	dec := eventsource.NewDecoder(resp.Body)
	ev, err := dec.Decode()
	for err == nil && ev.Event() == "" { // the retry hint
		ev, err = dec.Decode()
	}
	if err != nil || ev.Event() != "run" {
		t.Errorf("streamAgentRuns: first event %v (%v), want a run", ev, err)
	}
	resp.Body.Close()
	for err == nil { // until the decoder's reader has stopped
		_, err = dec.Decode()
	}
	return []string{"waitAgentRun", "streamAgentRuns"}
}
