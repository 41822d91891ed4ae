// Package cluster lets several codegen-proxy replicas share work through
// Redis: a lease gives one replica the poller of a run, a Redis Stream keeps
// the run's history for every replica, a GCRA limiter on the Redis server's
// clock holds one budget per token, and cache entries with a short lock let
// one replica fetch while the others wait for its answer.
//
// Every Redis call has a short timeout. A replica that loses Redis reports
// itself degraded (Ready, logs and a metric) so that its callers fall back
// to local behaviour, and rejoins when a health check answers again.
// Tokens never reach Redis: keys are built from a TokenHash.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Options configure a Client. URL is required; every other field has a
// useful zero value.
type Options struct {
	// URL is the Redis server (REDIS_URL): redis://[user:pass@]host:port/db,
	// rediss:// for TLS, or unix:///path/to/redis.sock.
	URL string
	// Timeout bounds every Redis call, dial included (REDIS_TIMEOUT). If
	// zero, 200 milliseconds.
	Timeout time.Duration
	// CheckInterval is the time between health checks, which are also this
	// replica's heartbeat in the replica count. If zero, 1 second.
	CheckInterval time.Duration
	// Prefix starts every key and channel name. If empty, "cgp:".
	Prefix string
	// Replica names this process in the replica count and lease values. If
	// empty, a random name.
	Replica string
	// Logger receives the transitions to and from degraded mode. If nil,
	// slog.Default().
	Logger *slog.Logger
	// Metrics records leases, takeovers, Redis errors and degraded mode. If
	// nil, nothing is recorded.
	Metrics *Metrics
	// OnHealth, if set, is called with false when Redis is lost and with
	// true when it is back, one call at a time and in order, from a
	// goroutine that noticed a change. It must not block; it may call the
	// Client.
	OnHealth func(healthy bool)
}

// Client is one replica's connection to the shared state. Create it with
// New and Close it. It is safe for concurrent use.
type Client struct {
	rdb     *redis.Client
	opt     Options
	log     *slog.Logger
	met     *Metrics
	life    context.Context // ends at Close, and with it a check in flight
	end     context.CancelFunc
	done    sync.WaitGroup
	closing sync.Once
	closed  error // Close's result
	notify  *notifier
	mu      sync.Mutex
	healthy bool
	cause   error
	count   int // the last replica count Redis gave, at least 1
	// The health last announced (metric, log, OnHealth), and whether a
	// goroutine is announcing and has changes left to announce.
	announced, announcing, pending bool
}

// ErrDegraded is what Ready returns, wrapping the last Redis error, while
// Redis cannot be reached.
var ErrDegraded = errors.New("cluster: Redis unreachable, running on local state")

// New connects to opt.URL and starts the health checks. It does not wait for
// Redis: a replica starts degraded if Redis is down, and rejoins when it
// comes up. Only a URL that cannot be parsed is an error.
func New(opt Options) (*Client, error) {
	ro, err := redisOptions(opt)
	if err != nil {
		return nil, err
	}
	if opt.Replica == "" {
		opt.Replica = randomValue()
	}
	c := &Client{rdb: redis.NewClient(ro), opt: opt, log: opt.Logger, met: opt.Metrics, healthy: true, announced: true,
		count: 1}
	c.life, c.end = context.WithCancel(context.Background())
	if c.log == nil {
		c.log = slog.Default()
	}
	c.notify = newNotifier(c)
	c.done.Add(1)
	go c.checkLoop()
	return c, nil
}

func redisOptions(opt Options) (*redis.Options, error) {
	ro, err := redis.ParseURL(opt.URL)
	if err != nil {
		// A *url.Error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cluster: REDIS_URL: %w", err)
	}
	t := opt.timeout()
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = t, t, t, t
	// No retries inside go-redis: a retry would double the wait past the
	// timeout, and callers fall back to local state instead.
	ro.MaxRetries = -1
	// Without it go-redis bounds socket reads by ReadTimeout alone and
	// ignores a call's context deadline, which a lease renewal relies on.
	ro.ContextTimeoutEnabled = true
	ro.DisableIdentity = true
	// Open-source Redis answers the maintenance-notifications probe with an
	// error that go-redis would log on every connection.
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return ro, nil
}

// Close stops the health checks and notifications, leaves the replica
// count, and closes the connections. It waits one Timeout at most in all,
// and leaves the count only in what is left of it and while healthy.
// Later calls return the first one's result.
func (c *Client) Close() error {
	c.closing.Do(func() { c.closed = c.close() })
	return c.closed
}

func (c *Client) close() error {
	// A check in flight started before now, so it ends by then; go-redis
	// does not stop a read when its context is cancelled.
	deadline := time.Now().Add(c.timeout())
	c.end()
	c.done.Wait()
	c.notify.close()
	if c.Healthy() {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		c.rdb.ZRem(ctx, c.key("replicas"), c.opt.Replica)
		cancel()
	}
	return c.rdb.Close()
}

// Redis returns the underlying go-redis client, for tests and tools.
func (c *Client) Redis() *redis.Client { return c.rdb }

// Ready is nil while Redis answers, and wraps ErrDegraded and the last
// error while it does not. It is for reporting degraded mode (in /ready's
// body, a log); a readiness probe that failed on it would take every
// replica out of service at once when Redis goes down, while they could
// all still serve on local state.
func (c *Client) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.healthy {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrDegraded, c.cause)
}

// Healthy reports whether the last Redis call or check succeeded.
func (c *Client) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthy
}

// Replicas is the number of replicas that sent a heartbeat within three
// check intervals, as Redis last told; at least 1. It stays at its last
// value while Redis is down, for dividing a budget among replicas.
func (c *Client) Replicas() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

func (c *Client) timeout() time.Duration { return c.opt.timeout() }

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 200 * time.Millisecond
}

func (c *Client) interval() time.Duration {
	if c.opt.CheckInterval > 0 {
		return c.opt.CheckInterval
	}
	return time.Second
}

// callCtx bounds one Redis call by the timeout.
func (c *Client) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout())
}

// randomValue is 128 random bits in hex: lease values and replica names.
func randomValue() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
