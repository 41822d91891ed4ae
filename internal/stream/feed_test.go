package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// page makes a page of runs with the given ids, all in status.
func page(status string, ids ...int) []feedRun {
	var runs []feedRun
	for _, id := range ids {
		data := fmt.Sprintf(`{"id":%d,"status":%q,"summary":"%s"}`, id, status, strings.Repeat("s", 20))
		runs = append(runs, feedRun{id: fmt.Sprint(id), data: []byte(data), mark: status})
	}
	return runs
}

func TestFeedHistoryKeepsItsBoundsAndResumesInsideThem(t *testing.T) {
	t.Parallel()
	f := &feedPoller{maxEntries: 3, maxBytes: 1 << 20, changed: make(chan struct{})}
	if !f.apply(page("RUNNING", 3, 2, 1)) || f.seq != 3 {
		t.Fatalf("first page: seq %d, want 3 events", f.seq)
	}
	if f.apply(page("RUNNING", 3, 2, 1)) {
		t.Error("an unchanged page made an event")
	}
	f.apply(append(page("PENDING", 4), page("RUNNING", 3, 2, 1)...))  // 4
	f.apply(append(page("COMPLETE", 4), page("RUNNING", 3, 2, 1)...)) // 5
	if v := f.view(2); v.first != 3 || v.seq != 5 || len(v.events) != 3 || v.events[0].seq != 3 {
		t.Errorf("view after 2: first %d, seq %d, %d events; want 3..5", v.first, v.seq, len(v.events))
	}
	if v := f.view(1); v.events != nil {
		t.Errorf("view after 1, no longer kept: %d events, want none", len(v.events))
	}
	if v := f.view(5); len(v.events) != 0 {
		t.Errorf("view after the latest: %d events, want none", len(v.events))
	}
	// The byte bound drops the oldest too, and counts what it keeps.
	f.maxBytes = 2 * len(f.events[0].data)
	f.apply(append(page("FAILED", 4), page("RUNNING", 3, 2, 1)...)) // 6
	if len(f.events) != 2 || f.events[0].seq != 5 || f.size != len(f.events[0].data)+len(f.events[1].data) {
		t.Errorf("under %d bytes: %d events from %d, size %d", f.maxBytes, len(f.events), f.events[0].seq, f.size)
	}
}

func TestWaitAnswersAPausedRunWithOneRunRead(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "PAUSED")
	h := newHub(t, f, nil)
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, settled, err := sub.Wait(ctx)
	if err != nil || !settled || !strings.Contains(string(run), `"PAUSED"`) {
		t.Fatalf("Wait: %s, settled %v, %v; want the PAUSED run", run, settled, err)
	}
	if n := f.runReads.Load(); n != 1 {
		t.Errorf("%d run reads, want 1", n)
	}
}

func TestWaitEndsWithItsContextOrTheShutdown(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, 5, "RUNNING")
	h := newHub(t, f, nil)
	sub, err := h.Subscribe("tok", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	waitFor(t, "the poller to read the run", func() bool { return sub.p.runState().current != nil })
	cancel()
	run, settled, err := sub.Wait(ctx)
	if err != nil || settled || !strings.Contains(string(run), `"RUNNING"`) {
		t.Errorf("Wait with its context ended: %s, settled %v, %v; want the RUNNING run, unsettled", run, settled, err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := sub.Wait(context.Background())
		done <- err
	}()
	h.Shutdown()
	if err := <-done; !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Wait at shutdown: %v, want ErrShuttingDown", err)
	}
}

func TestFeedPageKeepsTheFirstOfEachRunAndAtMostTheLimit(t *testing.T) {
	t.Parallel()
	body := `{"items":[{"id":3,"status":"RUNNING"},{"id":2,"status":"RUNNING"},{"id":3,"status":"COMPLETE"},` +
		`{"status":"RUNNING"},{"id":1,"status":"PENDING"},{"id":0,"status":"PENDING"}],"total":6,"page":1,"size":20,"pages":1}`
	for _, tt := range []struct {
		limit int
		want  string
	}{
		{20, `3 RUNNING, 2 RUNNING, 1 PENDING, 0 PENDING`},
		{2, `3 RUNNING, 2 RUNNING`},
	} {
		runs, err := parseFeedPage([]byte(body), tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range runs {
			var run struct{ Status string }
			json.Unmarshal(r.data, &run)
			got = append(got, r.id+" "+run.Status)
		}
		if strings.Join(got, ", ") != tt.want {
			t.Errorf("limit %d: %s, want %s", tt.limit, strings.Join(got, ", "), tt.want)
		}
	}
	f := &feedPoller{maxEntries: 100, maxBytes: 1 << 20, changed: make(chan struct{})}
	runs, _ := parseFeedPage([]byte(body), 20)
	f.apply(runs)
	if runs, _ = parseFeedPage([]byte(body), 20); f.apply(runs) {
		t.Error("the same page read again made an event")
	}
}

func TestFeedNumbersOfANewPollerStartAboveEveryEarlierOne(t *testing.T) {
	t.Parallel()
	now := time.Now()
	first := nextFeedBase(now)
	if first < now.UnixMilli()*1000 {
		t.Errorf("first number %d, below the time in ms times 1000 (%d)", first, now.UnixMilli()*1000)
	}
	if next := nextFeedBase(now); next < first+feedBaseGap {
		t.Errorf("a poller started in the same millisecond starts at %d, within %d of %d", next, feedBaseGap, first)
	}
	// After a restart (a new process, an hour on): above what an hour of
	// events at the fastest rate could have numbered.
	later := now.Add(time.Hour)
	if got := nextFeedBase(later); got < later.UnixMilli()*1000 {
		t.Errorf("an hour on, the first number %d is below %d", got, later.UnixMilli()*1000)
	}
}
