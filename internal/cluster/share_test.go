package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// replicasOn starts n replicas sharing srv, with leases of ttl.
func replicasOn(t *testing.T, srv *redistest.Server, up *upstream, n int, ttl time.Duration) []*replica {
	t.Helper()
	rs := make([]*replica, n)
	for i := range rs {
		rs[i] = startReplica(t, srv.URL(), up, ttl)
	}
	return rs
}

// spread subscribes per times to run 1 on each replica.
func spread(t *testing.T, rs []*replica, per int) []*sub {
	t.Helper()
	var subs []*sub
	for range per {
		for _, r := range rs {
			subs = append(subs, subscribe(t, r, ""))
		}
	}
	return subs
}

func TestSharedSubscribersAcrossReplicasCostOnePoller(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	rs := replicasOn(t, srv, up, 3, 3*time.Second)
	subs := spread(t, rs, 10)
	up.set(150, "ACTIVE")
	allHave(t, subs, 150, false)
	up.set(250, "COMPLETE")
	allHave(t, subs, 250, true)
	for i, s := range subs {
		s.check(t, fmt.Sprintf("subscriber %d on replica %d", i, i%3), 0, 250)
	}
	at := pollingReplica(t, rs)
	if got, want := up.logReads.Load(), rs[at].hub.Polls(); got != want {
		t.Errorf("upstream answered %d log reads, want %d: the leader's alone", got, want)
	}
}

func TestSharedLeaderCrashIsTakenOverWithoutGapOrDuplicate(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	rs := replicasOn(t, srv, up, 3, time.Second)
	subs := spread(t, rs, 2)
	up.set(40, "ACTIVE")
	allHave(t, subs, 40, false)
	at := pollingReplica(t, rs)
	rs[at].crash()
	survivors := survivorsOf(subs, at)
	up.set(100, "ACTIVE")
	allHave(t, survivors, 100, false) // the lease expires after 1 s: within the 10 s deadline
	up.set(130, "COMPLETE")
	allHave(t, survivors, 130, true)
	for i, s := range survivors {
		s.check(t, fmt.Sprintf("survivor %d", i), 0, 130)
	}
}

func TestSharedGracefulStopHandsOverAtOnce(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	// Leases of a minute: were it not given up, no survivor could take the
	// run over before the 10 s deadline.
	rs := replicasOn(t, srv, up, 3, time.Minute)
	subs := spread(t, rs, 2)
	up.set(40, "ACTIVE")
	allHave(t, subs, 40, false)
	at := pollingReplica(t, rs)
	rs[at].stop()
	survivors := survivorsOf(subs, at)
	up.set(100, "COMPLETE")
	allHave(t, survivors, 100, true)
	for i, s := range survivors {
		s.check(t, fmt.Sprintf("survivor %d", i), 0, 100)
	}
}

func TestSharedResumeOnAnotherReplicaIsExact(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	rs := replicasOn(t, srv, up, 2, 3*time.Second)
	first := subscribe(t, rs[0], "")
	up.set(30, "ACTIVE")
	allHave(t, []*sub{first}, 30, false)
	first.stop()
	resumed := subscribe(t, rs[1], "29")
	up.set(60, "COMPLETE")
	allHave(t, []*sub{resumed}, 30, true)
	resumed.check(t, "the stream resumed after 29 on the other replica", 30, 60)
}

func TestSharedRedisRestartMidRun(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	rs := replicasOn(t, srv, up, 3, time.Second)
	subs := spread(t, rs, 2)
	up.set(40, "ACTIVE")
	allHave(t, subs, 40, false)

	srv.Stop()
	eventually(t, "every replica to report Redis lost", func() bool {
		for _, r := range rs {
			if r.cc.Healthy() {
				return false
			}
		}
		return true
	})
	up.set(80, "ACTIVE")
	// While Redis is down every replica serves on its own: new streams
	// and waits answer 200, never 5xx.
	subs = append(subs, spread(t, rs, 1)...)
	for i, r := range rs {
		resp, err := http.Get(r.srv.URL + "/agent-runs/1/wait?timeout=1&access_token=x")
		if err == nil {
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode >= 500 {
			t.Errorf("replica %d: wait while Redis is down: %v %v", i, resp.Status, err)
		}
	}
	allHave(t, subs, 80, false)

	srv.Restart()
	eventually(t, "every replica to rejoin", func() bool {
		for _, r := range rs {
			if !r.cc.Healthy() {
				return false
			}
		}
		return true
	})
	up.set(150, "ACTIVE")
	allHave(t, subs, 150, false)
	up.set(180, "COMPLETE")
	allHave(t, subs, 180, true)
	for i, s := range subs {
		s.check(t, fmt.Sprintf("subscriber %d", i), 0, 180)
	}
}

func TestSharedLateJoinerReadsWhatNoHistoryKeepsFromUpstream(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	small := func(h *stream.Hub, s *StreamShare) {
		h.HistoryEntries = 20
		s.Logs = &History{Client: s.Client, MaxLen: 20}
	}
	rs := []*replica{startReplica(t, srv.URL(), up, 3*time.Second, small), startReplica(t, srv.URL(), up, 3*time.Second, small)}
	early := subscribe(t, rs[0], "")
	up.set(300, "ACTIVE")
	allHave(t, []*sub{early}, 300, false)
	late := subscribe(t, rs[1], "")
	up.set(320, "COMPLETE")
	allHave(t, []*sub{early, late}, 320, true)
	early.check(t, "the early subscriber", 0, 320)
	late.check(t, "the late subscriber on the other replica", 0, 320)
	if rs[1].hub.Polls() == 0 {
		t.Error("the late subscriber's replica read nothing upstream: what did it send for the positions nobody keeps?")
	}
}

func TestSharedWaitOnAnotherReplicaAnswersFromAFreshRead(t *testing.T) {
	srv, up := redistest.Start(t), newUpstream(t)
	rs := replicasOn(t, srv, up, 2, 3*time.Second)
	first := subscribe(t, rs[0], "")
	up.set(10, "ACTIVE")
	allHave(t, []*sub{first}, 10, false)
	wait := func(r *replica) (int, string, string) {
		req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/agent-runs/1/wait?timeout=5", nil)
		req.Header.Set("Authorization", "Bearer sk-shared-test")
		req.Header.Set("X-Codegen-Org-Id", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var run struct{ Status string }
		json.NewDecoder(resp.Body).Decode(&run)
		return resp.StatusCode, run.Status, resp.Header.Get("X-Wait-Timed-Out")
	}
	up.set(12, "COMPLETE")
	allHave(t, []*sub{first}, 12, true)
	for i, r := range rs {
		if code, status, timedOut := wait(r); code != http.StatusOK || status != "COMPLETE" || timedOut != "" {
			t.Errorf("wait on replica %d: %d %q timed out %q; want 200 COMPLETE at once", i, code, status, timedOut)
		}
	}
}

// survivorsOf returns the subscribers spread (round robin over three
// replicas) to replicas other than at.
func survivorsOf(subs []*sub, at int) []*sub {
	var out []*sub
	for i, s := range subs {
		if i%3 != at {
			out = append(out, s)
		}
	}
	return out
}
