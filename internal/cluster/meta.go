package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// setMeta sets KEYS[2], a scope's small state beside its history (a run's
// status, a feed's newest page), to ARGV[2] for ARGV[3] ms if the lease
// KEYS[1] holds ARGV[1], and notifies ARGV[4].
var setMeta = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], 'meta')
return 1
`)

// clearLog deletes the stream KEYS[2] if the lease KEYS[1] holds ARGV[1],
// so that the next append may start it at any position: the holder jumps
// past positions it will not write. It notifies ARGV[2].
var clearLog = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[2], 'clear')
return 1
`)

// SetMeta replaces the small state kept beside l's scope's history, if l
// holds its lease; it lives as long as the history (IdleTTL) and is
// bounded by what the caller writes. Readers get it with Meta.
func (h *History) SetMeta(ctx context.Context, l *Lease, data []byte) error {
	c := h.Client
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	n, err := setMeta.Run(ctx, c.rdb, []string{l.key, c.scoped("meta", l.scope)},
		l.value, data, orDefault(h.IdleTTL, time.Hour).Milliseconds(), c.scoped("notify", l.scope)).Int()
	if c.note(err) != nil {
		return err
	}
	if n != 1 {
		return stream.ErrNotLeader
	}
	return nil
}

// Meta returns the state SetMeta last wrote for s, or nil if there is none.
func (h *History) Meta(ctx context.Context, s Scope) ([]byte, error) {
	c := h.Client
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	b, err := c.rdb.Get(ctx, c.scoped("meta", s)).Bytes()
	if errors.Is(c.note(err), redis.Nil) {
		return nil, nil
	}
	return b, err
}

// Clear empties l's scope's history, if l holds its lease, so that its
// next Append may start at any position. Readers behind that position find
// their next page starting past it, and fetch what they miss from upstream.
func (h *History) Clear(ctx context.Context, l *Lease) error {
	c := h.Client
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	n, err := clearLog.Run(ctx, c.rdb, []string{l.key, c.scoped("log", l.scope)}, l.value, c.scoped("notify", l.scope)).Int()
	if c.note(err) != nil {
		return err
	}
	if n != 1 {
		return stream.ErrNotLeader
	}
	return nil
}
