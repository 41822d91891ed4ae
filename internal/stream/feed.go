package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// feedKey names a runs feed poller. The token is kept as a hash, as in key.
type feedKey struct {
	token [32]byte
	org   int64
}

// feedPoller follows the newest page of one organization's runs for one
// token, and numbers an event for every run that appears on it or whose
// status, summary or pull requests change. Its loop goroutine is the only
// writer of its state; subscribers read the state under mu and wait on
// changed, which is closed and replaced on every change. Its life is the
// Hub's. Lock order: the Hub's mutex, then mu.
type feedPoller struct {
	life
	hub   *Hub
	key   feedKey
	token string
	org   int64

	maxEntries, maxBytes int // bounds of the history

	mu      sync.Mutex
	changed chan struct{}
	seq     int64       // the newest event's number; its first (see nextFeedBase) less one before the first
	events  []feedEvent // the latest events, oldest first, the last one numbered seq; never changed in place
	size    int         // bytes of data in events
	page    []feedRun   // the newest page as last read, in upstream order; replaced, never changed
	polled  bool        // a page has been read
	failState
	epoch int  // bumped when the numbering changed under the subscribers: each resends a snapshot
	alone bool // in shared mode: events were numbered here while the store was out of reach

	leading atomic.Bool // in shared mode: this replica holds the feed's lease
	lead1   leaderState // while leading
}

// feedEvent is one numbered run event.
type feedEvent struct {
	seq  int64
	data json.RawMessage
}

// feedRun is one run of a page: its id as upstream wrote it, its JSON, and
// the fields whose change makes an event.
type feedRun struct {
	id   string
	data json.RawMessage
	mark string
}

// feedBaseGap is the least distance between the first event numbers of two
// feed pollers of this process.
const feedBaseGap = 1_000_000

// feedBases holds the last first event number issued.
var feedBases struct {
	sync.Mutex
	last int64
}

// nextFeedBase returns the first event number of a feed poller started at
// now: the Unix time in milliseconds times 1000, and at least feedBaseGap
// past the last one issued in this process. So the numbers of a poller that
// has gone are below the first of any poller started after it (here, or
// after a restart with a clock that did not go back), as long as it
// numbered fewer than 1000 events per millisecond of its life, or fewer than
// feedBaseGap in all; a resume from one of them gets a reset, not the wrong
// events. It is safe for concurrent use.
func nextFeedBase(now time.Time) int64 {
	feedBases.Lock()
	defer feedBases.Unlock()
	feedBases.last = max(now.UnixMilli()*1000, feedBases.last+feedBaseGap)
	return feedBases.last
}

// joinFeed adds s to the feed poller of (token, org), starting one if none
// runs.
func (h *Hub) joinFeed(s *Subscription, org int64) error {
	k := feedKey{s.th, org}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closing:
		return ErrShuttingDown
	default:
	}
	f := h.feeds[k]
	if f == nil {
		f = &feedPoller{hub: h, key: k, token: s.token, org: org, changed: make(chan struct{}), seq: nextFeedBase(time.Now()) - 1,
			alone: h.Shared != nil, maxEntries: positiveOr(h.FeedHistoryEntries, 500), maxBytes: positiveOr(h.FeedHistoryBytes, 1<<20)}
		h.feeds[k] = f
		go f.loop(h.begin(&f.life, k.token, func() { delete(h.feeds, k) }))
	}
	h.attach(&f.life)
	s.f = f
	f.mu.Lock()
	s.late = !f.polled
	f.mu.Unlock()
	return nil
}

// loop follows the feed until a fatal error occurs or ctx ends: alone, or
// with the other replicas when the Hub has a Shared store.
func (f *feedPoller) loop(ctx context.Context) {
	defer f.hub.wg.Done()
	if f.hub.Shared != nil {
		f.hub.share(ctx, f)
		return
	}
	f.pollLoop(ctx, nil)
}

// pollLoop polls until a fatal error occurs, ctx ends, or after, if set,
// returns false (see keepPolling).
func (f *feedPoller) pollLoop(ctx context.Context, after func() bool) {
	f.keepPolling(ctx, f, f.hub.interval(), f.budget, "runs feed", after)
}

// sleep waits d, or until ctx ends (false).
func (f *feedPoller) sleep(ctx context.Context, d time.Duration, _ bool) bool {
	return codegen.Sleep(ctx, d)
}

// poll reads the newest page of runs, within the token's budget and only
// while someone is subscribed, and numbers an event per new or changed run.
// active reports whether there was one.
func (f *feedPoller) poll(ctx context.Context) (active bool, err error) {
	if err := f.hub.readAllowed(ctx, &f.life); err != nil {
		return false, err
	}
	body, err := f.hub.Client.ListRuns(ctx, f.token, f.org,
		codegen.ListRunsParams{PageParams: codegen.PageParams{Limit: positiveOr(f.hub.FeedRuns, 20)}})
	f.hub.feedPolls.Add(1)
	if err != nil {
		return false, err
	}
	runs, err := parseFeedPage(body, positiveOr(f.hub.FeedRuns, 20))
	if err != nil {
		return false, err
	}
	f.update(func() {
		active = f.apply(runs)
		f.trouble = nil
	})
	return active, nil
}

// parseFeedPage reads a page of runs, keeping the first limit of them (see
// feedRuns).
func parseFeedPage(body []byte, limit int) ([]feedRun, error) {
	var page codegen.RawPage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("%w: decoding runs: %w", codegen.ErrBadResponse, err)
	}
	return feedRuns(page.Items, limit), nil
}

// feedRuns reads the first limit runs of a page's items. A run without an
// id cannot be followed and is left out, and so is a run listed again (the
// page moved while upstream read it, or upstream is hostile): its other
// copy would look like a change on every read.
func feedRuns(items []json.RawMessage, limit int) []feedRun {
	runs := make([]feedRun, 0, min(len(items), limit))
	seen := make(map[string]bool, cap(runs))
	for _, item := range items {
		if len(runs) == limit {
			break
		}
		var r struct {
			ID                 json.RawMessage `json:"id"`
			Status             json.RawMessage `json:"status"`
			Summary            json.RawMessage `json:"summary"`
			GithubPullRequests json.RawMessage `json:"github_pull_requests"`
		}
		if json.Unmarshal(item, &r) != nil || len(r.ID) == 0 || string(r.ID) == "null" || seen[string(r.ID)] {
			continue
		}
		seen[string(r.ID)] = true
		mark := string(r.Status) + "\x00" + string(r.Summary) + "\x00" + string(r.GithubPullRequests)
		runs = append(runs, feedRun{id: string(r.ID), data: item, mark: mark})
	}
	return runs
}

// apply numbers an event, in page order, for each run of runs that the last
// page lacked or held with another mark, keeps runs as the page, and trims
// the history to its bounds. It reports whether there was an event. f.mu is
// held.
func (f *feedPoller) apply(runs []feedRun) bool {
	prev := make(map[string]string, len(f.page))
	for _, r := range f.page {
		prev[r.id] = r.mark
	}
	added := 0
	for _, r := range runs {
		if m, ok := prev[r.id]; ok && m == r.mark {
			continue
		}
		f.seq++
		f.events = append(f.events, feedEvent{f.seq, r.data}) // past every view's end: views are capped
		f.size += len(r.data)
		added++
	}
	f.page, f.polled = runs, true
	f.trim()
	return added > 0
}

// trim drops the oldest events past the history's bounds. f.mu is held.
func (f *feedPoller) trim() {
	drop := 0
	for size := f.size; drop < len(f.events) && (len(f.events)-drop > f.maxEntries || size > f.maxBytes); drop++ {
		size -= len(f.events[drop].data)
	}
	if drop == 0 {
		return
	}
	for _, e := range f.events[:drop] {
		f.size -= len(e.data)
	}
	// A fresh array, so that the dropped events can be freed once no view holds them.
	f.events = append([]feedEvent(nil), f.events[drop:]...)
}

// update changes the state under the lock and wakes every subscriber.
func (f *feedPoller) update(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *feedPoller) log(msg string, err error) {
	if f.hub.Logger != nil {
		f.hub.Logger.Warn(msg, "org", f.org, "error", err.Error())
	}
}
