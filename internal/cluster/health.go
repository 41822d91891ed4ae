package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// heartbeat adds this replica to the replica set with the server's time,
// drops replicas silent for longer than ARGV[2] milliseconds, and answers
// the count. The set expires if every replica goes away.
var heartbeat = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
`)

// checkLoop sends a heartbeat every interval until Close; its answer keeps
// the health and the replica count up to date.
func (c *Client) checkLoop() {
	defer c.done.Done()
	tick := time.NewTicker(c.interval())
	defer tick.Stop()
	for {
		c.check()
		select {
		case <-c.life.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Client) check() {
	ctx, cancel := c.callCtx(c.life)
	defer cancel()
	ttl := 3 * c.interval()
	n, err := heartbeat.Run(ctx, c.rdb, []string{c.key("replicas")}, c.opt.Replica, ttl.Milliseconds()).Int()
	if err != nil && c.life.Err() != nil {
		return // cut short by Close
	}
	if err != nil {
		// Whatever the error, a Redis that cannot take a heartbeat cannot
		// hold the shared state either.
		c.met.redisError()
		c.setHealth(false, err)
		return
	}
	c.setHealth(true, nil)
	c.mu.Lock()
	c.count = max(n, 1)
	c.mu.Unlock()
}

// note records the outcome of a Redis call and returns err. An answer,
// or an error about the request itself (a wrong type, a script's refusal),
// means Redis is up; no answer (dial, I/O, timeout) or an error saying the
// server cannot serve (see unusable) means it is lost, and the replica is
// degraded until a call or check succeeds.
func (c *Client) note(err error) error {
	up := err == nil || errors.Is(err, redis.Nil) || (isServerError(err) && !unusable(err))
	if !up && errors.Is(err, context.Canceled) {
		return err // the caller gave up; says nothing of Redis
	}
	if !up {
		c.met.redisError()
	}
	c.setHealth(up, err)
	return err
}

// setHealth records whether Redis is usable; a change is announced.
func (c *Client) setHealth(up bool, err error) {
	c.mu.Lock()
	changed := c.healthy != up
	c.healthy = up
	if !up {
		c.cause = err
	}
	c.mu.Unlock()
	if changed {
		c.announce()
	}
}

// announce brings the metric, the log and OnHealth up to date with the
// health, one transition at a time: while one goroutine announces, the
// others leave it a note and return, and it goes on until it has announced
// the current health. So they end on it whatever the order of changes, and
// OnHealth may itself make Redis calls.
func (c *Client) announce() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = true
	if c.announcing {
		return
	}
	c.announcing = true
	for c.pending {
		c.pending = false
		up, cause := c.healthy, c.cause
		if up == c.announced {
			continue
		}
		c.announced = up
		c.mu.Unlock()
		c.met.setDegraded(!up)
		if up {
			c.log.Info("redis is back: shared mode resumed")
		} else {
			c.log.Warn("redis lost: degraded to local state", "err", cause)
		}
		if c.opt.OnHealth != nil {
			c.opt.OnHealth(up)
		}
		c.mu.Lock()
	}
	c.announcing = false
}

// isServerError tells an error the Redis server answered (a script's
// refusal, a wrong type) from a failure to reach it.
func isServerError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded)
}

// unusable tells the server errors that say Redis cannot serve this
// replica at all: a read-only replica after a failover, a refused password
// or permission, out of memory, loading its data, a failed save that stops
// writes, a busy script, no master, too many clients.
func unusable(err error) bool {
	return redis.IsReadOnlyError(err) || redis.IsAuthError(err) || redis.IsPermissionError(err) ||
		redis.IsOOMError(err) || redis.IsLoadingError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.HasErrorPrefix(err, "MISCONF") || redis.HasErrorPrefix(err, "BUSY")
}
