package stream

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// runMeta is a run's state beside its shared history, as the leader last
// saw it. Its size is that of a few answers of the run, which the upstream
// client bounds.
type runMeta struct {
	Described bool            `json:"described,omitempty"` // a status was read
	Status    string          `json:"status,omitempty"`
	Event     json.RawMessage `json:"event,omitempty"`
	Current   json.RawMessage `json:"current,omitempty"`
	Done      bool            `json:"done,omitempty"`
	End       int             `json:"end,omitempty"` // when done: the position after the last log
	Final     json.RawMessage `json:"final,omitempty"`
	Fatal     *codegen.Error  `json:"fatal,omitempty"`
	Read      int             `json:"read,omitempty"` // the leader's read that described the run, numbered by the leader
}

// meta encodes the poller's state for the shared history.
func (p *poller) meta() []byte {
	p.mu.Lock()
	m := runMeta{Described: p.statusV > 0, Status: p.status, Event: p.event, Current: p.current, Done: p.done,
		Final: p.final, Read: p.described}
	if p.done {
		m.End = p.base + len(p.logs)
	}
	var apiErr *codegen.Error
	if errors.As(p.fatal, &apiErr) {
		m.Fatal = apiErr
	}
	p.mu.Unlock()
	b, _ := json.Marshal(m)
	return b
}

// applyMeta takes the leader's state: a status event when the status
// changed, the run, a fatal error, and the end once every log is here too
// (or no end, when the run was resumed). A describing read of the leader's
// that this replica had not seen counts as a read of its own made now, for
// waiters (see Wait): it was made at most a notification ago.
func (p *poller) applyMeta(b []byte) {
	var m runMeta
	if json.Unmarshal(b, &m) != nil {
		return
	}
	p.mu.Lock()
	end := p.base + len(p.logs)
	status := m.Described && (p.statusV == 0 || m.Status != p.status)
	current := m.Described && !bytes.Equal(m.Current, p.current)
	done := m.Done && !p.done && end >= m.End
	undone := m.Described && !m.Done && p.done
	read := m.Described && m.Read != p.seenRead
	fatal := m.Fatal != nil && p.fatal == nil
	p.mu.Unlock()
	if !status && !current && !done && !undone && !read && !fatal {
		return
	}
	p.update(func() {
		if status {
			p.status, p.statusV, p.event = m.Status, p.statusV+1, m.Event
		}
		if current {
			p.current = m.Current
		}
		if done {
			p.done, p.final = true, m.Final
		}
		if undone {
			p.done = false
		}
		if read {
			p.seenRead, p.reads = m.Read, p.reads+1
			p.described, p.recheck = p.reads, false
		}
		if fatal {
			p.fatal = m.Fatal
		}
	})
}
