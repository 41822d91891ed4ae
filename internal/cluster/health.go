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
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

func (c *Client) check() {
	ctx, cancel := c.callCtx(context.Background())
	defer cancel()
	ttl := 3 * c.interval()
	n, err := heartbeat.Run(ctx, c.rdb, []string{c.key("replicas")}, c.opt.Replica, ttl.Milliseconds()).Int()
	if c.note(err) != nil {
		return
	}
	c.mu.Lock()
	c.count = max(n, 1)
	c.mu.Unlock()
}

// note records the outcome of a Redis call and returns err. Answers from
// the server, errors included, mean Redis is up; anything else (dial, I/O,
// timeout) means it is lost and the replica is degraded until a call or
// check succeeds.
func (c *Client) note(err error) error {
	up := err == nil || errors.Is(err, redis.Nil) || isServerError(err)
	if !up && errors.Is(err, context.Canceled) {
		return err // the caller gave up; says nothing of Redis
	}
	if !up {
		c.met.redisError()
	}
	c.mu.Lock()
	changed := c.healthy != up
	c.healthy = up
	if !up {
		c.cause = err
	}
	c.mu.Unlock()
	if !changed {
		return err
	}
	c.met.setDegraded(!up)
	if up {
		c.log.Info("redis is back: shared mode resumed")
	} else {
		c.log.Warn("redis lost: degraded to local state", "err", err)
	}
	if c.opt.OnHealth != nil {
		c.opt.OnHealth(up)
	}
	return err
}

// isServerError tells an error the Redis server answered (a script's
// refusal, a wrong type) from a failure to reach it.
func isServerError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded)
}
