package stream

import "encoding/json"

// keepAt adds logs, the first at position from, to the history: those it
// holds already are skipped, and when from is past its end the history
// starts again at from (whoever needs the positions between reads them from
// upstream). Then it keeps them as keep does. With one writer, from is
// always the end; in shared mode a replica's history also takes entries
// from the shared one. p.mu is held.
func (p *poller) keepAt(from int, logs []json.RawMessage, total *int) {
	end := p.base + len(p.logs)
	if from > end {
		p.base, p.logs, p.size = from, nil, 0
		end = from
	}
	logs = logs[min(end-from, len(logs)):]
	p.keep(logs, total)
}

// keep adds a page of logs read at the end of the history and drops the
// oldest entries past the bounds. When the run has more entries past the
// page than the history can hold, the history jumps to the latest ones,
// which a subscriber wants first; older ones are read again by whoever needs
// them. p.mu is held.
func (p *poller) keep(logs []json.RawMessage, total *int) {
	end := p.base + len(p.logs) + len(logs)
	if total != nil && *total-end > p.maxEntries {
		p.base, p.logs, p.size = *total-p.maxEntries, nil, 0
		return
	}
	p.logs = append(p.logs, logs...) // past every view's end: views are capped at their length
	for _, l := range logs {
		p.size += len(l)
	}
	drop := 0
	for size := p.size; drop < len(p.logs) && (len(p.logs)-drop > p.maxEntries || size > p.maxBytes); drop++ {
		size -= len(p.logs[drop])
	}
	if drop == 0 {
		return
	}
	for _, l := range p.logs[:drop] {
		p.size -= len(l)
	}
	// A fresh array, so that the dropped entries can be freed once no view holds them.
	p.logs, p.base = append([]json.RawMessage(nil), p.logs[drop:]...), p.base+drop
}

// view is a consistent look at a poller's state from one position on.
type view struct {
	logs     []json.RawMessage // positions from, from+1, ...; none if from < base
	base     int               // the oldest position the history holds
	total    int               // the position after the newest log read
	statusV  int
	event    []byte
	troubleV int
	trouble  error
	fatal    error
	done     bool
	final    []byte
	changed  <-chan struct{}
}

// view returns the state, sharing log entries, which are never changed.
func (p *poller) view(from int) view {
	p.mu.Lock()
	defer p.mu.Unlock()
	end := p.base + len(p.logs)
	v := view{base: p.base, total: end, statusV: p.statusV, event: p.event, troubleV: p.troubleV, trouble: p.trouble,
		fatal: p.fatal, done: p.done, final: p.final, changed: p.changed}
	if from >= p.base && from < end {
		v.logs = p.logs[from-p.base : len(p.logs) : len(p.logs)]
	}
	return v
}
