package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// appendLog adds entries at position ARGV[2] and after to the stream
// KEYS[2], as ids 0-(pos+1), if the lease KEYS[1] holds ARGV[1] and the
// position is the stream's next one (any position starts an absent stream:
// that is its oldest retained position). It trims to about ARGV[3] entries,
// sets the stream to expire after ARGV[4] ms and publishes the new end on
// ARGV[5]. It answers {1, end}, or {code, next} when refused: -1 not the
// holder, -2 a position already appended, -3 a position past the next.
// Positions are exact up to 2^53 (Lua's numbers are doubles), and written
// with %d: Lua's own conversion would write a large one as 1.7e+15.
var appendLog = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1, 0} end
local pos = tonumber(ARGV[2])
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then
  local nextpos = tonumber(string.match(last[1][1], '^0%-(%d+)$'))
  if pos < nextpos then return {-2, nextpos} end
  if pos > nextpos then return {-3, nextpos} end
end
for i = 6, #ARGV do
  pos = pos + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], string.format('0-%d', pos), 'd', ARGV[i])
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], string.format('%d', pos))
return {1, pos}
`)

// finishLog sets the stream KEYS[2] and its meta KEYS[3] to expire after
// ARGV[2] ms, if the lease KEYS[1] holds ARGV[1], and notifies ARGV[3].
var finishLog = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('PUBLISH', ARGV[3], 'end')
return 1
`)

// ErrPosition is a position below 0 or above MaxPosition, which
// History.Append refuses. Its other refusals are the stream package's
// (stream.ErrNotLeader, *stream.PositionError): a History is the shared
// store of a stream.Hub.
var ErrPosition = errors.New("cluster: history position out of range")

// MaxPosition is the largest position a history holds: the scripts' Lua
// numbers are doubles, exact up to 2^53, and stream ids are position+1.
// (The scripts write positions with %d: Lua's own conversion prints them as
// integers only below 1e14, and a runs feed numbers from about 1.8e15.)
const MaxPosition int = 1<<53 - 2

// History keeps each scope's log entries in a Redis Stream whose entry ids
// are the entries' positions, written only by the lease holder and read by
// every replica. Client is required; the other fields have useful zero
// values. It is safe for concurrent use.
type History struct {
	Client *Client
	// MaxLen is about how many of the latest entries a stream keeps
	// (XADD MAXLEN ~). If zero, 1000.
	MaxLen int
	// IdleTTL is how long a stream lives after its last append. If zero, 1
	// hour.
	IdleTTL time.Duration
	// EndTTL is how long a stream lives after Finish. If zero, 5 minutes.
	EndTTL time.Duration
}

// Append adds entries at positions pos, pos+1, ... to l's scope, if l holds
// its lease and pos is the next position, and returns the position after
// them. It refuses with stream.ErrNotLeader or a *stream.PositionError
// (Pos below Next: a duplicate; above: a gap), so a stale holder
// can cause neither a gap nor a duplicate, and with ErrPosition positions
// out of 0..MaxPosition.
func (h *History) Append(ctx context.Context, l *Lease, pos int, entries [][]byte) (int, error) {
	if pos < 0 || pos > MaxPosition-len(entries)+1 {
		return pos, fmt.Errorf("%w: append of %d entries at %d", ErrPosition, len(entries), pos)
	}
	if len(entries) == 0 {
		return pos, nil
	}
	c := h.Client
	args := make([]any, 0, 5+len(entries))
	args = append(args, l.value, pos, h.maxLen(), orDefault(h.IdleTTL, time.Hour).Milliseconds(), c.scoped("notify", l.scope))
	for _, e := range entries {
		args = append(args, e)
	}
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	res, err := appendLog.Run(ctx, c.rdb, []string{l.key, c.scoped("log", l.scope)}, args...).Int64Slice()
	if c.note(err) != nil {
		return pos, err
	}
	switch res[0] {
	case 1:
		return int(res[1]), nil
	case -1:
		return pos, stream.ErrNotLeader
	default: // -2 a duplicate, -3 a gap
		return pos, &stream.PositionError{Pos: pos, Next: int(res[1])}
	}
}

// Finish marks l's scope ended: its stream expires after EndTTL, and the
// scope's watchers wake up. It writes no entry: the history does not say
// that a run ended; a reader learns it from the run's status upstream.
func (h *History) Finish(ctx context.Context, l *Lease) error {
	c := h.Client
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	n, err := finishLog.Run(ctx, c.rdb, []string{l.key, c.scoped("log", l.scope), c.scoped("meta", l.scope)},
		l.value, orDefault(h.EndTTL, 5*time.Minute).Milliseconds(), c.scoped("notify", l.scope)).Int()
	if c.note(err) != nil {
		return err
	}
	if n != 1 {
		return stream.ErrNotLeader
	}
	return nil
}

// Page is a run of consecutive entries read from a history. The zero value
// is an empty page at position 0.
type Page struct {
	// From is the position of Entries[0]. It is past the position asked for
	// when the history no longer holds that one (trimmed or expired): the
	// reader fetches the missing positions from upstream.
	From    int
	Entries [][]byte
}

// Next is the position after the page.
func (p Page) Next() int { return p.From + len(p.Entries) }

// Read returns up to count entries of s from position from on (XRANGE).
// An empty page means nothing at or after from is in the history yet. A
// from out of range is ErrPosition.
func (h *History) Read(ctx context.Context, s Scope, from, count int) (Page, error) {
	if from < 0 || from > MaxPosition {
		return Page{From: from}, fmt.Errorf("%w: read from %d", ErrPosition, from)
	}
	c := h.Client
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	msgs, err := c.rdb.XRangeN(ctx, c.scoped("log", s), "0-"+strconv.Itoa(from+1), "+", int64(count)).Result()
	if c.note(err) != nil {
		return Page{From: from}, err
	}
	p := Page{From: from, Entries: make([][]byte, 0, len(msgs))}
	for i, m := range msgs {
		pos, err := positionOf(m.ID)
		if err != nil {
			return Page{From: from}, err
		}
		if i == 0 {
			p.From = pos
		}
		d, _ := m.Values["d"].(string)
		p.Entries = append(p.Entries, []byte(d))
	}
	return p, nil
}

// positionOf turns a stream id 0-(pos+1) into pos.
func positionOf(id string) (int, error) {
	seq, ok := strings.CutPrefix(id, "0-")
	n, err := strconv.Atoi(seq)
	if !ok || err != nil || n < 1 {
		return 0, fmt.Errorf("cluster: history entry id %q is not a position", id)
	}
	return n - 1, nil
}

func (h *History) maxLen() int {
	if h.MaxLen > 0 {
		return h.MaxLen
	}
	return 1000
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
