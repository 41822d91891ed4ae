package stream

import (
	"context"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Settled reports whether a run in status, in any case, waits for nothing
// but its caller: it has ended (codegen.IsTerminal) or it is PAUSED, waiting
// for a resume.
func Settled(status string) bool {
	s, _ := codegen.ParseStatus(status)
	return s == "PAUSED" || codegen.IsTerminal(status)
}

// Wait waits, on the shared poller of the run s joined, until the run is
// settled (see Settled) and returns it as the API's GET of the run answers,
// with settled true. Only a read the poller started after s joined it
// counts: a status the poller had before may predate a resume, by this
// client or any other. So when the poller's status is settled already,
// Wait asks it to read the run again at once (within the token's budget)
// and answers from that read. When ctx ends first it returns the run as
// the poller last read it with settled false and no error: the caller
// decides whether the client left or its time ran out. A fatal poller error
// (such as a 404 for an unknown run) is returned as it is, and
// ErrShuttingDown when the Hub shuts down. The run is nil when the poller
// has not read it, or its last read of it failed, or it is settled but no
// read since s joined has confirmed it: the caller reads it itself then. A
// waiter makes no upstream call of its own: it costs the upstream nothing
// beyond the poller it shares.
func (s *Subscription) Wait(ctx context.Context) (run []byte, settled bool, err error) {
	for {
		st := s.p.runState()
		stale := st.described <= s.since
		switch {
		case st.fatal != nil:
			return nil, false, st.fatal
		case st.statusV > 0 && Settled(st.status) && !stale:
			return st.current, true, nil
		case st.statusV > 0 && Settled(st.status):
			s.p.askRecheck(s.since)
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			if stale && Settled(st.status) {
				return nil, false, nil
			}
			return st.current, false, nil
		case <-s.hub.closing:
			return nil, false, ErrShuttingDown
		}
	}
}

// runState is what a waiter reads of a poller.
type runState struct {
	status    string
	statusV   int
	described int
	current   []byte
	fatal     error
	changed   <-chan struct{}
}

func (p *poller) runState() runState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return runState{status: p.status, statusV: p.statusV, described: p.described, current: p.current, fatal: p.fatal,
		changed: p.changed}
}

// started is the number of upstream log reads p has started.
func (p *poller) started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reads
}

// askRecheck asks p, unless a read it started after read since has
// described the run, to describe the run at its next read even if the
// status stays, and to read now rather than after its interval (unless it
// is backing off from failures). Asking again before that read costs
// nothing.
func (p *poller) askRecheck(since int) {
	p.mu.Lock()
	stale := p.described <= since
	p.recheck = p.recheck || stale
	p.mu.Unlock()
	if !stale {
		return
	}
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

// rechecking reports whether a subscriber waits for a read.
func (p *poller) rechecking() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.recheck
}

// fresh reports whether a read p started after s joined it has described
// the run; if not, it asks p for one.
func (s *Subscription) fresh() bool {
	s.p.mu.Lock()
	ok := s.p.described > s.since
	s.p.mu.Unlock()
	if !ok {
		s.p.askRecheck(s.since)
	}
	return ok
}
