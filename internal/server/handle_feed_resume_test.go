package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

func TestFeedResumesAfterLastEventIDExactly(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, nil)
	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "PENDING", ""), runJSON(1, "COMPLETE", ""))
	first := e.openFeed(t, secretToken, "")
	o := origin(t, first.next(t, 3)) // the snapshot, up to id o+3
	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", ""))
	first.next(t, 1) // o+4
	e.api.set(secretToken, runJSON(4, "PENDING", ""), runJSON(3, "COMPLETE", ""), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", ""))
	first.next(t, 2) // o+5, o+6

	header := e.openFeed(t, secretToken, "", "Last-Event-ID", after(o, 4))
	wantEvents(t, "resumed after 4", from(t, o, brief(t, header.next(t, 2))),
		[]event{runEvent("5", 4, "PENDING"), runEvent("6", 3, "COMPLETE")})
	query := e.openFeed(t, secretToken, "?after="+after(o, 3))
	wantEvents(t, "resumed after 3", from(t, o, brief(t, query.next(t, 3))),
		[]event{runEvent("4", 2, "RUNNING"), runEvent("5", 4, "PENDING"), runEvent("6", 3, "COMPLETE")})

	e.api.set(secretToken, runJSON(4, "RUNNING", ""), runJSON(3, "COMPLETE", ""), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", ""))
	for name, s := range map[string]*sse{"first": first, "header": header, "query": query} {
		wantEvents(t, name+" stream after the next change", from(t, o, brief(t, s.next(t, 1))), []event{runEvent("7", 4, "RUNNING")})
	}
	if n := e.hub.FeedPollers(); n != 1 {
		t.Errorf("%d feed pollers for one token and organization, want 1", n)
	}
}

func TestFeedResetsWhenTheIDIsNoLongerKept(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, func(h *stream.Hub) { h.FeedHistoryEntries = 2 })
	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "PENDING", ""), runJSON(1, "COMPLETE", ""))
	// An id from before this poller started (another poller's) is not resumed.
	early := e.openFeed(t, secretToken, "", "Last-Event-ID", "2")
	got := brief(t, early.next(t, 4))
	o := origin(t, got[1:])
	snapshot := []event{runEvent("", 3, "RUNNING"), runEvent("", 2, "PENDING"), runEvent("3", 1, "COMPLETE")}
	wantEvents(t, "an id the poller never sent", from(t, o, got), append([]event{{name: "reset", data: "{}"}}, snapshot...))

	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", ""))
	early.next(t, 1) // o+4: the history holds o+3 and o+4
	snapshot = []event{runEvent("", 3, "RUNNING"), runEvent("", 2, "RUNNING"), runEvent("4", 1, "COMPLETE")}
	for _, n := range []int64{1, 99} {
		s := e.openFeed(t, secretToken, "", "Last-Event-ID", after(o, n))
		wantEvents(t, fmt.Sprintf("Last-Event-ID o+%d", n), from(t, o, brief(t, s.next(t, 4))), append([]event{{name: "reset", data: "{}"}}, snapshot...))
	}
	kept := e.openFeed(t, secretToken, "", "Last-Event-ID", after(o, 2))
	wantEvents(t, "Last-Event-ID o+2, the oldest still kept", from(t, o, brief(t, kept.next(t, 2))),
		[]event{runEvent("3", 1, "COMPLETE"), runEvent("4", 2, "RUNNING")})
}

func TestFeedsCountAgainstTheStreamLimits(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, func(h *stream.Hub) { h.MaxPerToken, h.MaxStreams = 2, 3 })
	for _, tok := range []string{secretToken, "other-token", "third-token"} {
		e.api.set(tok, runJSON(1, "COMPLETE", ""))
	}
	e.openFeed(t, secretToken, "").next(t, 1)
	e.openFeed(t, secretToken, "").next(t, 1)
	s := e.openFeed(t, secretToken, "")
	if s.resp.StatusCode != 429 || s.resp.Header.Get("Retry-After") == "" {
		t.Errorf("a third feed past STREAM_MAX_PER_TOKEN=2: %d; want 429 with Retry-After", s.resp.StatusCode)
	}
	if resp, body := call(t, "GET", e.proxy+"/agent-runs/1/wait?timeout=1", ""); resp.StatusCode != 429 || !strings.Contains(body, "too_many_streams") {
		t.Errorf("a wait past STREAM_MAX_PER_TOKEN=2: %d %s; want 429 too_many_streams", resp.StatusCode, body)
	}
	e.openFeed(t, "other-token", "").next(t, 1)
	s = e.openFeed(t, "third-token", "")
	if s.resp.StatusCode != 503 || s.resp.Header.Get("Retry-After") == "" {
		t.Errorf("a feed past STREAM_MAX=3: %d; want 503 with Retry-After", s.resp.StatusCode)
	}
}

func TestFeedPollersAreNeverSharedAcrossTokens(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, nil)
	e.api.set(secretToken, runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", ""))
	e.api.set("other-token", runJSON(9, "PAUSED", ""))
	mine := e.openFeed(t, secretToken, "")
	theirs := e.openFeed(t, "other-token", "")
	got := brief(t, mine.next(t, 2))
	wantEvents(t, "the first token's feed", from(t, origin(t, got), got), []event{runEvent("", 2, "RUNNING"), runEvent("2", 1, "COMPLETE")})
	got = brief(t, theirs.next(t, 1))
	o := origin(t, got)
	wantEvents(t, "the second token's feed", from(t, o, got), []event{runEvent("1", 9, "PAUSED")})
	if n := e.hub.FeedPollers(); n != 2 {
		t.Errorf("two tokens have %d feed pollers, want 2", n)
	}
	e.api.set("other-token", runJSON(9, "COMPLETE", ""))
	wantEvents(t, "the second token's change, in its own numbering", from(t, o, brief(t, theirs.next(t, 1))), []event{runEvent("2", 9, "COMPLETE")})
	e.api.mu.Lock()
	defer e.api.mu.Unlock()
	if e.api.readsBy["Bearer "+secretToken] == 0 || e.api.readsBy["Bearer other-token"] == 0 {
		t.Errorf("upstream reads by token: %v; want each token's own", len(e.api.readsBy))
	}
}

// runData is what brief made of events' data: "id status" per run.
func runData(t *testing.T, evs []event) string {
	t.Helper()
	var out []string
	for _, ev := range brief(t, evs) {
		out = append(out, ev.name+" "+ev.data)
	}
	return strings.Join(out, ", ")
}

// A page that lists a run twice (the page moved while upstream read it, or
// a hostile upstream) is read as if the run were listed once: no event on
// every poll for a change that is not one.
func TestFeedTakesARunListedTwiceOnce(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, nil)
	e.api.set(secretToken, runJSON(2, "RUNNING", ""), runJSON(2, "COMPLETE", ""), runJSON(1, "COMPLETE", ""))
	s := e.openFeed(t, secretToken, "")
	if got := runData(t, s.next(t, 2)); got != "run 2 RUNNING, run 1 COMPLETE" {
		t.Errorf("snapshot: %s; want run 2 once, as first listed", got)
	}
	reads := e.api.reads.Load()
	waitUntil(t, "three more reads", func() bool { return e.api.reads.Load() >= reads+3 })
	e.api.set(secretToken, runJSON(3, "PENDING", ""), runJSON(2, "RUNNING", ""), runJSON(2, "COMPLETE", ""), runJSON(1, "COMPLETE", ""))
	if got := runData(t, s.next(t, 1)); got != "run 3 PENDING" {
		t.Errorf("the next event: %s; want the new run 3, nothing before it", got)
	}
}

// An upstream page longer than FEED_RUNS is cut to its first FEED_RUNS runs.
func TestFeedKeepsAtMostFeedRunsOfALongPage(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, func(h *stream.Hub) { h.FeedRuns = 2 })
	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", ""))
	s := e.openFeed(t, secretToken, "")
	reads := e.api.reads.Load()
	if got := runData(t, s.next(t, 2)); got != "run 3 RUNNING, run 2 RUNNING" {
		t.Errorf("snapshot: %s; want the first two runs", got)
	}
	waitUntil(t, "another read", func() bool { return e.api.reads.Load() > reads })
	again := e.openFeed(t, secretToken, "")
	if got := runData(t, again.next(t, 2)); got != "run 3 RUNNING, run 2 RUNNING" {
		t.Errorf("a later snapshot: %s; want the first two runs", got)
	}
	e.api.set(secretToken, runJSON(3, "COMPLETE", ""), runJSON(2, "RUNNING", ""), runJSON(1, "FAILED", ""))
	if got := runData(t, s.next(t, 1)); got != "run 3 COMPLETE" {
		t.Errorf("the next event: %s; want run 3's change, none for run 1 past the page", got)
	}
}

// A browser reconnects with the last id it saw. When the poller that gave
// it has gone and a new one has numbered as far, the id must not be taken
// for the new poller's: the client gets a reset and the snapshot, and so
// learns what changed meanwhile.
func TestFeedIDOfAGonePollerGetsAResetAndASnapshot(t *testing.T) {
	t.Parallel()
	e := newFeedEnv(t, func(h *stream.Hub) { h.Linger = 20 * time.Millisecond })
	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "PENDING", ""), runJSON(1, "COMPLETE", ""))
	a := e.openFeed(t, secretToken, "")
	a.next(t, 3)
	e.api.set(secretToken, runJSON(3, "RUNNING", ""), runJSON(2, "RUNNING", ""), runJSON(1, "COMPLETE", ""))
	last := a.next(t, 1)[0].id
	a.resp.Body.Close()
	waitUntil(t, "the feed poller to go", func() bool { return e.hub.FeedPollers() == 0 })

	// Meanwhile run 5 appears and run 2 fails; another tab starts a new poller.
	e.api.set(secretToken, runJSON(5, "PENDING", ""), runJSON(3, "RUNNING", ""), runJSON(2, "FAILED", ""), runJSON(1, "COMPLETE", ""))
	b := e.openFeed(t, secretToken, "")
	latest := b.next(t, 4)[3].id

	back := e.openFeed(t, secretToken, "", "Last-Event-ID", last)
	want := []event{{name: "reset", data: "{}"}, runEvent("", 5, "PENDING"), runEvent("", 3, "RUNNING"), runEvent("", 2, "FAILED"), runEvent(latest, 1, "COMPLETE")}
	wantEvents(t, "resumed with "+last+" from the gone poller", brief(t, back.next(t, 5)), want)
}
