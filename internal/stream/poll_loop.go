package stream

import (
	"context"
	"time"
)

// failState is a poller's record of its failures, embedded in both kinds of
// poller. It is guarded by the poller's mu and written by its loop
// goroutine (see keepPolling) and, in shared mode, from the shared meta.
type failState struct {
	fatal    error // 401/403/404 and the like: the poller cannot go on
	trouble  error // the latest transient failure; nil after a good read
	troubleV int   // bumped on every transient failure
}

// polling is what keepPolling drives: a poller of either kind.
type polling interface {
	// poll reads upstream once; active reports news.
	poll(ctx context.Context) (active bool, err error)
	// sleep waits d, or less, before the next poll; ok reports that the
	// last one succeeded. It returns false if ctx ended.
	sleep(ctx context.Context, d time.Duration, ok bool) bool
	// update changes the poller's state under its mu and wakes its
	// subscribers.
	update(change func())
	log(msg string, err error)
}

// keepPolling polls p, whose failures fs records, until a fatal error
// occurs, ctx ends, or after, if set, returns false: every base interval,
// twice as often after news, up to 2.5 times as long when idle, and after a
// failure as retryWait says within the token's budget b. after is called
// after every poll, failed or not, and before a fatal error ends the loop.
// what names the poller in the log.
func (fs *failState) keepPolling(ctx context.Context, p polling, base time.Duration, b *budget, what string, after func() bool) {
	wait, failures := base, 0
	for {
		active, err := p.poll(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			failures = 0
			if active {
				wait = base / 2
			} else {
				wait = min(wait*3/2, base*5/2)
			}
		case isFatal(err):
			p.update(func() { fs.fatal = err })
			p.log(what+" poller stopped", err)
			if after != nil {
				after()
			}
			return
		default:
			failures++
			wait = retryWait(b, err, failures, base)
			p.update(func() { fs.trouble, fs.troubleV = err, fs.troubleV+1 })
			p.log(what+" poll failed; retrying", err)
		}
		if after != nil && !after() {
			return
		}
		if !p.sleep(ctx, wait, failures == 0) {
			return
		}
	}
}
