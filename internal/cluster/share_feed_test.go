package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/launchdarkly/eventsource"

	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

// feedSub is one SSE client of org 1's runs feed. It keeps the numbered
// events as "id run status".
type feedSub struct {
	mu       sync.Mutex
	numbered []string
	resets   int
}

func subscribeFeed(t *testing.T, r *replica, lastID string) *feedSub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/agent-runs/stream", nil)
	req.Header.Set("Authorization", "Bearer sk-shared-test")
	req.Header.Set("X-Codegen-Org-Id", "1")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("subscribing to the feed: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("feed answered %d, want 200", resp.StatusCode)
	}
	s := &feedSub{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer resp.Body.Close()
		dec := eventsource.NewDecoder(bufio.NewReader(resp.Body))
		for {
			ev, err := dec.Decode()
			if err != nil {
				return
			}
			var run struct {
				ID     int
				Status string
			}
			json.Unmarshal([]byte(ev.Data()), &run)
			s.mu.Lock()
			switch {
			case ev.Event() == "reset":
				s.resets++
			case ev.Event() == "run" && ev.Id() != "":
				s.numbered = append(s.numbered, fmt.Sprintf("%s %d %s", ev.Id(), run.ID, run.Status))
			}
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s
}

func (s *feedSub) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.numbered)
}

func (s *feedSub) resetCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resets
}

// has reports whether the last numbered event is of run, in status.
func (s *feedSub) has(run, status string) bool {
	ev := s.events()
	return len(ev) > 0 && strings.HasSuffix(ev[len(ev)-1], " "+run+" "+status)
}

func TestSharedRunsFeedNumbersOnceForAllReplicas(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	up.setRuns("ACTIVE")
	rs := replicasOn(t, srv, up, 3, 3*time.Second)
	var subs []*feedSub
	for _, r := range rs {
		subs = append(subs, subscribeFeed(t, r, ""))
	}
	eventually(t, "every feed subscriber to have its snapshot", func() bool {
		for _, s := range subs {
			if !s.has("1", "ACTIVE") {
				return false
			}
		}
		return true
	})
	up.setRuns("COMPLETE", "ACTIVE")
	eventually(t, "every feed subscriber to have the changes", func() bool {
		for _, s := range subs {
			if ev := s.events(); len(ev) < 3 {
				return false
			}
		}
		return true
	})
	want := subs[0].events()
	for i, s := range subs {
		if got := s.events(); !slices.Equal(got, want) {
			t.Errorf("feed subscriber on replica %d got %q, replica 0's got %q", i, got, want)
		}
	}
	polling := 0
	for _, r := range rs {
		if r.hub.FeedPolls() > 0 {
			polling++
		}
	}
	if polling != 1 {
		t.Errorf("%d replicas read the runs upstream, want 1", polling)
	}
	resumed := subscribeFeed(t, rs[2], strings.Fields(want[0])[0])
	up.setRuns("COMPLETE", "COMPLETE")
	eventually(t, "the resumed feed to have the last change", func() bool { return len(resumed.events()) == 3 })
	if got := resumed.events(); !slices.Equal(got[:2], want[1:3]) || resumed.resetCount() != 0 {
		t.Errorf("feed resumed after %q on replica 2 got %q (%d resets), want %q and then the next", want[0], got, resumed.resetCount(), want[1:3])
	}
}

func TestSharedRunsFeedTakesOneNumberingAgainAfterRedisRestarts(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	up.setRuns("ACTIVE")
	rs := replicasOn(t, srv, up, 2, time.Second)
	subs := []*feedSub{subscribeFeed(t, rs[0], ""), subscribeFeed(t, rs[1], "")}
	eventually(t, "the snapshots", func() bool { return subs[0].has("1", "ACTIVE") && subs[1].has("1", "ACTIVE") })

	srv.Stop()
	eventually(t, "both replicas to report Redis lost", func() bool { return !rs[0].cc.Healthy() && !rs[1].cc.Healthy() })
	up.setRuns("PAUSED")
	eventually(t, "each replica to number the change alone", func() bool { return subs[0].has("1", "PAUSED") && subs[1].has("1", "PAUSED") })

	srv.Restart()
	eventually(t, "both replicas to rejoin", func() bool { return rs[0].cc.Healthy() && rs[1].cc.Healthy() })
	up.setRuns("COMPLETE", "ACTIVE")
	var last string
	eventually(t, "both feeds to end on the same numbered event", func() bool {
		a, b := subs[0].events(), subs[1].events()
		if len(a) < 4 || len(b) < 4 || a[len(a)-1] != b[len(b)-1] {
			return false
		}
		last = a[len(a)-1]
		return true
	})
	for i, s := range subs {
		ev := s.events()
		for j := 1; j < len(ev); j++ { // within one numbering, numbers only grow
			var p, n int
			fmt.Sscan(ev[j-1], &p)
			fmt.Sscan(ev[j], &n)
			if n <= p {
				if s.resetCount() == 0 {
					t.Errorf("feed %d went from %q to %q without a reset", i, ev[j-1], ev[j])
				}
			}
		}
	}
	resumed := subscribeFeed(t, rs[1], strings.Fields(last)[0])
	up.setRuns("COMPLETE", "COMPLETE")
	eventually(t, "the resume to get the next change", func() bool { return len(resumed.events()) == 1 })
	if resumed.resetCount() != 0 {
		t.Errorf("a resume from %q after recovery got a reset", last)
	}
}
