package codegen

import (
	"container/list"
	"crypto/sha256"
	"net/http"
	"sync"

	"golang.org/x/sync/semaphore"
)

// tokenIdleConns is how many idle connections one token's Transport keeps
// per host, and in all: enough for a busy UI's or script's concurrent calls
// over HTTP/1.1 (over HTTP/2 one connection carries them all; at 32, 50
// concurrent calls of one token kept opening new connections), few enough
// that a full set of pools (128 by default) holds at most 8192 idle sockets.
const tokenIdleConns = 64

// NewTokenTransport returns NewTransport sized for the calls of one token:
// it keeps at most 64 idle connections. It is what a Client uses for each
// token's connection pool when its NewPool is nil.
func NewTokenTransport() *http.Transport {
	tr := NewTransport()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = tokenIdleConns, tokenIdleConns
	return tr
}

// pools keeps one Transport, and so one connection pool, per token, so that
// no connection ever carries two tokens' calls: HTTP/1.1 cannot tell which
// answer belongs to which request, and an upstream that sends a surplus
// answer would otherwise have it read by another token's call. Tokens are
// known by their SHA-256 only.
//
// It holds at most max pools and evicts the least recently used one past
// that. An evicted pool's idle connections are closed when no call is using
// it any more, so that none lingers in a pool nobody will take it from.
//
// The zero value is not ready: use newPools. It is safe for concurrent use.
type pools struct {
	max     int
	newPool func() *http.Transport

	mu    sync.Mutex
	lru   list.List // of *pool, most recently used first
	byKey map[[sha256.Size]byte]*list.Element
}

// pool is one token's Transport and the calls using it.
type pool struct {
	key     [sha256.Size]byte
	tr      *http.Transport
	users   int  // calls between acquire and release; guarded by pools.mu
	evicted bool // guarded by pools.mu
}

func newPools(max int, newPool func() *http.Transport) *pools {
	return &pools{max: max, newPool: newPool, byKey: make(map[[sha256.Size]byte]*list.Element)}
}

// acquire returns token's pool, creating it (and evicting the least
// recently used pool past the bound) if there is none. The caller must
// release it once it has read or closed every answer it got through it.
func (p *pools) acquire(token string) *pool {
	key := sha256.Sum256([]byte(token))
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.byKey[key]; ok {
		p.lru.MoveToFront(e)
		pl := e.Value.(*pool)
		pl.users++
		return pl
	}
	for p.lru.Len() >= p.max {
		old := p.lru.Remove(p.lru.Back()).(*pool)
		delete(p.byKey, old.key)
		old.evicted = true
		if old.users == 0 {
			old.tr.CloseIdleConnections()
		}
	}
	pl := &pool{key: key, tr: p.newPool(), users: 1}
	p.byKey[key] = p.lru.PushFront(pl)
	return pl
}

// release ends a call's use of pl. The last call of an evicted pool closes
// its idle connections: the one it has just put back included, as
// net/http's Transport returns a connection to its pool before the body's
// reader sees EOF.
func (p *pools) release(pl *pool) {
	p.mu.Lock()
	pl.users--
	closeIdle := pl.evicted && pl.users == 0
	p.mu.Unlock()
	if closeIdle {
		pl.tr.CloseIdleConnections()
	}
}

// closeIdle closes the idle connections of every pool.
func (p *pools) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for e := p.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*pool).tr.CloseIdleConnections()
	}
}

// len returns how many pools there are.
func (p *pools) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lru.Len()
}

// setup builds the Client's pools and answer budget on first use.
func (c *Client) setup() {
	c.once.Do(func() {
		c.answers = semaphore.NewWeighted(c.maxInFlightBytes())
		if c.Transport != nil {
			return
		}
		newPool := c.NewPool
		if newPool == nil {
			newPool = NewTokenTransport
		}
		maxPools := c.MaxPools
		if maxPools <= 0 {
			maxPools = 128
		}
		c.pools = newPools(maxPools, newPool)
	})
}

// transportFor returns the RoundTripper for a call with token and the pool
// it came from, nil when the Client has no pools. The caller must pass the
// pool to releasePool once the call has read or closed every answer it got.
func (c *Client) transportFor(token string) (http.RoundTripper, *pool) {
	c.setup()
	if c.pools == nil {
		return c.Transport, nil
	}
	pl := c.pools.acquire(token)
	return pl.tr, pl
}

// releasePool ends a call's use of pl, which transportFor returned; a nil
// pl is a no-op. A method rather than a closure transportFor returns, which
// would cost an allocation per call.
func (c *Client) releasePool(pl *pool) {
	if pl != nil {
		c.pools.release(pl)
	}
}

// CloseIdleConnections closes the idle connections of every token's pool,
// and of Transport if it has such a method. Calls may go on afterwards; they
// open new connections.
func (c *Client) CloseIdleConnections() {
	c.setup()
	if c.pools != nil {
		c.pools.closeIdle()
	}
	if tr, ok := c.Transport.(interface{ CloseIdleConnections() }); ok {
		tr.CloseIdleConnections()
	}
}
