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
// with settled true. When ctx ends first it returns the run as the poller
// last read it with settled false and no error: the caller decides whether the
// client left or its time ran out. A fatal poller error (such as a 404 for
// an unknown run) is returned as it is, and ErrShuttingDown when the Hub
// shuts down. The run is nil when the poller has not read it, or its last
// read of it failed: the caller reads it itself then. A waiter makes no upstream call of its own: it costs the
// upstream nothing beyond the poller it shares.
func (s *Subscription) Wait(ctx context.Context) (run []byte, settled bool, err error) {
	for {
		st := s.p.runState()
		switch {
		case st.fatal != nil:
			return nil, false, st.fatal
		case st.statusV > 0 && Settled(st.status):
			return st.current, true, nil
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return st.current, false, nil
		case <-s.hub.closing:
			return nil, false, ErrShuttingDown
		}
	}
}

// runState is what a waiter reads of a poller.
type runState struct {
	status  string
	statusV int
	current []byte
	fatal   error
	changed <-chan struct{}
}

func (p *poller) runState() runState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return runState{status: p.status, statusV: p.statusV, current: p.current, fatal: p.fatal, changed: p.changed}
}
