package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// pageSize is the most logs the API returns per call.
const pageSize = 100

// poller follows one run for one token. Its loop goroutine is the only
// writer of its state; subscribers read the state under mu and wait on
// changed, which is closed and replaced on every change. Its life is the
// Hub's.
type poller struct {
	life
	hub      *Hub
	key      key
	token    string
	org, run int64

	maxEntries, maxBytes int // bounds of the history

	poke chan struct{} // buffered 1: a waiter wants a poll now (see Wait)

	mu      sync.Mutex
	changed chan struct{}
	base    int               // position of logs[0]
	logs    []json.RawMessage // the latest entries; never changed in place, as views share them
	size    int               // bytes in logs
	status  string            // upstream status, as sent
	statusV int               // bumped on every status change; 0 before the first poll
	event   []byte            // status event data for statusV
	current []byte            // the run as read at statusV; nil if that read failed
	final   []byte            // the finished run, once done
	done    bool              // terminal status reached and every log read
	failState

	// Guarded by mu too: what tells a waiter a fresh status from one read
	// before it came.
	reads     int  // upstream log reads started, numbered from 1
	described int  // the read that last described the run (status, event, current)
	recheck   bool // a waiter wants the run described at the next read even if its status stays

	leading  atomic.Bool // in shared mode: this replica holds the run's lease
	lead1    leaderState // while leading
	seenRead int         // in shared mode, guarded by mu: the leader's describing read last taken from the meta
}

// loop follows the run until a fatal error occurs or ctx ends: alone, or
// with the other replicas when the Hub has a Shared store.
func (p *poller) loop(ctx context.Context) {
	defer p.hub.wg.Done()
	if p.hub.Shared != nil {
		p.hub.share(ctx, p)
		return
	}
	p.pollLoop(ctx, nil)
}

// pollLoop polls until a fatal error occurs, ctx ends, or after, if set,
// returns false (see keepPolling). Once the run is done it polls again only
// when a subscriber asks (see askRecheck).
func (p *poller) pollLoop(ctx context.Context, after func() bool) {
	p.keepPolling(ctx, p, p.hub.interval(), p.budget, "stream", after)
}

// poll reads every log past the history, 100 at a time, and the run when its
// status changed. active reports whether anything new arrived. It makes no
// upstream call while the poller has no subscriber.
func (p *poller) poll(ctx context.Context) (active bool, err error) {
	for {
		if err := p.hub.readAllowed(ctx, &p.life); err != nil {
			return active, err
		}
		p.mu.Lock()
		next := p.base + len(p.logs)
		p.reads++
		read := p.reads
		p.mu.Unlock()
		select { // this read answers every poke so far
		case <-p.poke:
		default:
		}
		body, err := p.hub.Client.RunLogs(ctx, p.token, p.org, p.run, codegen.LogsParams{PageParams: codegen.PageParams{Skip: next, Limit: pageSize}})
		p.hub.polls.Add(1)
		p.hub.pollsSaved.Add(int64(max(p.hub.subscribers(&p.life)-1, 0)))
		if err != nil {
			return active, err
		}
		var page codegen.RawRunLogs
		if err := json.Unmarshal(body, &page); err != nil {
			return active, fmt.Errorf("%w: decoding logs: %w", codegen.ErrBadResponse, err)
		}
		status := ""
		if page.Status != nil {
			status = *page.Status
		}
		caughtUp := len(page.Logs) < pageSize || (page.TotalLogs != nil && next+len(page.Logs) >= *page.TotalLogs)
		// A status change is described, and so recorded, only for someone:
		// an idle poller leaves it to be found again when a subscriber comes.
		describe := (p.statusChanged(status) || (caughtUp && codegen.IsTerminal(status))) && p.hub.subscribers(&p.life) > 0
		var event, final []byte
		var got bool
		if describe {
			event, final, got = p.describe(ctx, body)
		}
		p.update(func() {
			p.keepAt(next, page.Logs, page.TotalLogs)
			p.trouble = nil
			if describe && (p.statusV == 0 || status != p.status) {
				p.status, p.statusV, p.event = status, p.statusV+1, event
				active = true
			}
			if describe {
				p.current = nil
				if got {
					p.current = final
				}
				p.described, p.recheck = read, false
			}
			if describe && caughtUp && codegen.IsTerminal(status) {
				p.done, p.final = true, final
			} else if describe {
				p.done = false // resumed
			}
		})
		active = active || len(page.Logs) > 0
		if caughtUp {
			return active, nil
		}
	}
}

// statusChanged reports whether status is news to the poller, or a waiter
// asked for the run to be described again.
func (p *poller) statusChanged(status string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statusV == 0 || status != p.status || p.recheck
}

// sleep waits for d, or until ctx ends (false), or, when pokable, until a
// subscriber asks for a read (see askRecheck). A finished poller waits for
// the ask alone, unless its last read failed.
func (p *poller) sleep(ctx context.Context, d time.Duration, pokable bool) bool {
	poke := p.poke
	if !pokable {
		poke = nil // a failing upstream is left its backoff
	}
	var timer <-chan time.Time
	if !pokable || !p.isDone() {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	for {
		select {
		case <-timer:
			return true
		case <-poke:
			if p.rechecking() { // else a read since has answered the ask
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

// describe returns the status event data (id, status, result, summary,
// github_pull_requests) and the whole run, read once per status change;
// read reports whether the run was read. If it cannot be, the fields of the
// logs answer stand in, and the event data doubles as the run.
func (p *poller) describe(ctx context.Context, logsBody []byte) (event, run []byte, read bool) {
	run, err := p.hub.Client.GetRun(ctx, p.token, p.org, p.run)
	source := run
	if err != nil {
		p.log("reading the run for a status event", err)
		source = logsBody
	}
	var ev statusEvent
	if json.Unmarshal(source, &ev) != nil {
		ev = statusEvent{}
	}
	event, _ = json.Marshal(ev)
	if err != nil {
		run = event
	}
	return event, run, err == nil
}

// statusEvent is the data of a status event, fields in the documented order.
// A missing field encodes as null.
type statusEvent struct {
	ID                 json.RawMessage `json:"id"`
	Status             json.RawMessage `json:"status"`
	Result             json.RawMessage `json:"result"`
	Summary            json.RawMessage `json:"summary"`
	GithubPullRequests json.RawMessage `json:"github_pull_requests"`
}

// update changes the state under the lock and wakes every subscriber.
func (p *poller) update(change func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	change()
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *poller) isDone() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// retryWait is the wait after the n-th failure in a row: the API's
// Retry-After when it gave one (paused for every poller of the token, whose
// budget is b), else exponential from the base interval, capped at 30 s.
func retryWait(b *budget, err error, n int, base time.Duration) time.Duration {
	var apiErr *codegen.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests {
		d, ok := codegen.ParseRetryAfter(apiErr.RetryAfter, time.Now())
		if !ok || d <= 0 {
			d = base << min(n, 4)
		}
		b.pauseFor(d)
		return d
	}
	var over *codegen.BudgetError // the token's budget has its next slot then
	if errors.As(err, &over) && over.RetryAfter > 0 {
		return over.RetryAfter
	}
	return min(base<<min(n, 5), 30*time.Second)
}

// isFatal reports errors after which polling is pointless: the token is
// refused or the run is not there.
func isFatal(err error) bool {
	var apiErr *codegen.Error
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.StatusCode {
	case http.StatusUnauthorized, http.StatusPaymentRequired, http.StatusForbidden, http.StatusNotFound,
		http.StatusUnprocessableEntity, http.StatusBadRequest:
		return true
	}
	return false
}

func (p *poller) log(msg string, err error) {
	if p.hub.Logger != nil {
		p.hub.Logger.Warn(msg, "org", p.org, "run", p.run, "error", err.Error())
	}
}
