package stream

import (
	"context"
	"errors"
	"fmt"
)

// Shared is a store that replicas of the proxy share, so that one poller
// per run (or runs feed) serves every replica: the replica holding a scope's
// lease polls upstream and writes its history; the others read it. Redis
// implements it through internal/cluster. Every call is bounded in time by
// the implementation, and a failed call never fails a stream: a replica
// that cannot reach the store polls on its own until it can again.
// Implementations are safe for concurrent use.
type Shared interface {
	// Healthy reports whether the store answered the last call or check.
	Healthy() bool
	// Hold contends for s's lease until ctx ends. Each time it gets the
	// lease it calls lead with a context that ends when the lease is lost,
	// and a Leader to write s's history with; when lead returns by itself,
	// Hold gives the lease up and returns nil. A lease not given up (the
	// process died) expires after a few seconds.
	Hold(ctx context.Context, s Scope, lead func(ctx context.Context, w Leader)) error
	// Read returns up to count entries of s's history from position from
	// on, and the position of the first; first is past from when the
	// history no longer holds from. No entry means none at or after from.
	Read(ctx context.Context, s Scope, from, count int) (first int, entries [][]byte, err error)
	// Meta returns the small state the leader last set for s, or nil.
	Meta(ctx context.Context, s Scope) ([]byte, error)
	// Watch returns a channel that receives when s's history or meta may
	// have changed, at the latest after a short period, and a func that
	// stops the watch.
	Watch(s Scope) (changed <-chan struct{}, stop func())
}

// Leader writes a scope's shared history while its lease is held. Every
// write is refused with ErrNotLeader once the lease is lost.
type Leader interface {
	// Append adds entries at positions pos, pos+1, ... and returns the
	// position after them. It refuses with a *PositionError unless pos is
	// the history's next position (any position starts an empty history).
	Append(ctx context.Context, pos int, entries [][]byte) (next int, err error)
	// Clear empties the history, so that the next Append may start it at
	// any position.
	Clear(ctx context.Context) error
	// SetMeta replaces the scope's small state.
	SetMeta(ctx context.Context, data []byte) error
	// Finish marks the scope ended: its history expires soon.
	Finish(ctx context.Context) error
}

// Scope names what one shared poller follows: a run's logs for a token in
// an organization, or, with Feed, the organization's runs feed (Run is 0).
// Token is the SHA-256 of the token, never the token.
type Scope struct {
	Token    [32]byte
	Org, Run int64
	Feed     bool
}

// ErrNotLeader is what a Leader's writes return once its lease is lost.
var ErrNotLeader = errors.New("stream: the shared lease is no longer held")

// PositionError is an Append refused for its position: Next is the
// position the shared history expects.
type PositionError struct{ Pos, Next int }

func (e *PositionError) Error() string {
	return fmt.Sprintf("stream: shared append at %d refused, next is %d", e.Pos, e.Next)
}
