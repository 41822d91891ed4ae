package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/launchdarkly/eventsource"
)

// clusterResult is what one row of `codegen-bench cluster` measured.
type clusterResult struct {
	subscribers, exact int
	logReads           int64
	missing, repeated  int
	fault              *faultResult
}

func (r clusterResult) row(name string) string {
	handover, bad := "", ""
	if r.fault != nil {
		bad = strconv.Itoa(r.fault.bad)
		if r.fault.handover > 0 {
			handover = r.fault.handover.Round(time.Millisecond).String()
		}
	}
	return fmt.Sprintf("| %s | %d | %d | %d / %d | %s | %d / %d | %s |", name, r.subscribers, r.logReads, r.exact,
		r.subscribers, handover, r.missing, r.repeated, bad)
}

// benchSub is one subscriber's log ids, in the order they came.
type benchSub struct {
	mu   sync.Mutex
	ids  []int
	done bool
}

func (s *benchSub) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

// follow creates a run, follows it with n subscribers spread over the
// replicas, runs fault (if any) once a subscriber has a third of the logs,
// and counts the upstream log reads and what each subscriber got.
func (c *benchCluster) follow(ctx context.Context, prompt string, n int, fault func(*benchCluster) faultResult) (clusterResult, error) {
	res := clusterResult{subscribers: n}
	id, err := createRun(ctx, "http://"+c.replicas[0].addr, prompt)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	logs0 := c.up.logs.Load()
	subs := make([]*benchSub, n)
	var wg sync.WaitGroup
	for i := range subs {
		subs[i] = &benchSub{}
		wg.Add(1)
		go func() { defer wg.Done(); c.subscribe(ctx, id, i, subs[i]) }()
	}
	if fault != nil {
		for subs[0].count() < c.o.logs/3 && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		f := fault(c)
		if f.err != nil {
			cancel()
			wg.Wait()
			return res, f.err
		}
		res.fault = &f
	}
	wg.Wait()
	res.logReads = c.up.logs.Load() - logs0
	for _, s := range subs {
		missing, repeated := tally(s.ids, c.o.logs)
		res.missing += missing
		res.repeated += repeated
		if missing == 0 && repeated == 0 && s.done {
			res.exact++
		}
	}
	return res, ctx.Err()
}

// tally counts the positions of 0..want-1 missing from ids, and the ids
// repeated or out of order.
func tally(ids []int, want int) (missing, repeated int) {
	seen := make(map[int]bool, len(ids))
	prev := -1
	for _, id := range ids {
		if seen[id] || id < prev {
			repeated++
		}
		seen[id], prev = true, id
	}
	for p := range want {
		if !seen[p] {
			missing++
		}
	}
	return missing, repeated
}

// subscribe follows run id from replica first on, to its done event: a
// subscriber whose stream ends early reconnects to the next live replica
// with Last-Event-ID after EventSource's usual pause, a few times at most.
func (c *benchCluster) subscribe(ctx context.Context, id int64, first int, s *benchSub) {
	last := -1
	for try, rep := 0, first; try < 20 && ctx.Err() == nil && !s.done; try, rep = try+1, rep+1 {
		p := c.replicas[rep%len(c.replicas)]
		if !p.alive() {
			continue
		}
		streamFrom(ctx, p.addr, id, last, func(ev eventsource.Event) bool { //nolint:errcheck // a failed stream is retried
			s.mu.Lock()
			defer s.mu.Unlock()
			switch ev.Event() {
			case "log":
				pos, _ := strconv.Atoi(ev.Id())
				s.ids, last = append(s.ids, pos), pos
			case "done":
				s.done = true
				return false
			}
			return true
		})
		if !s.done {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// streamFrom reads run id's log stream on addr after position last (none
// if negative), calling fn with each named event until it returns false.
func streamFrom(ctx context.Context, addr string, id int64, last int, fn func(eventsource.Event) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/agent-runs/%d/logs/stream", addr, id), nil)
	req.Header.Set("Authorization", "Bearer sk-bench")
	if last >= 0 {
		req.Header.Set("Last-Event-ID", strconv.Itoa(last))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	dec := eventsource.NewDecoder(resp.Body)
	for {
		ev, err := dec.Decode()
		if err != nil {
			return err
		}
		if ev.Event() != "" && !fn(ev) {
			return nil
		}
	}
}
