package codegen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// try is one attempt of a call, as retrying hands it to the function that
// makes it.
type try struct {
	rt    http.RoundTripper // the token's transport
	key   TokenKey          // the token's budget key
	class Class             // the call's budget class
	last  bool              // no retry may follow this attempt
}

// retrying makes k's attempts with attempt, within the Client's Timeout
// and through the token's transport, until one succeeds or fails for good.
// Each attempt first takes a slot of k's class from the Budget. An attempt
// that fails with retry set is made again after a backoff while retries
// and time are left. The error is the last attempt's, or why the context
// ended, or, when the first attempt finds no slot, the Budget's; a retry
// that finds no slot reports what failed before it.
func (c *Client) retrying(ctx context.Context, k call, attempt func(context.Context, try) (retry bool, err error)) error {
	parent := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout(), ErrTimeout)
	defer cancel()
	rt, pl := c.transportFor(k.token)
	defer c.releasePool(pl)
	t := try{rt: rt, key: KeyOf(k.token), class: ClassOf(k.method, k.path)}
	var last error
	for n := 0; ; n++ {
		if err := c.take(ctx, t.key, t.class); err != nil {
			switch {
			case ctx.Err() != nil:
				return c.contextError(parent, ctx, k.op)
			case last != nil: // a retry found no slot: report what failed
				return last
			}
			return fmt.Errorf("%s: %w", k.op, err)
		}
		t.last = n >= c.retries()
		retry, err := attempt(ctx, t)
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return c.contextError(parent, ctx, k.op)
		}
		if !retry || t.last || !Sleep(ctx, backoff(n)) {
			if ctx.Err() != nil {
				return c.contextError(parent, ctx, k.op)
			}
			return err
		}
	}
}

// contextError reports why ctx ended: the caller's context ended (its
// error, wrapping its cause when it has one, such as a server's shutdown)
// or the Client's timeout fired.
func (c *Client) contextError(parent, ctx context.Context, op string) error {
	if err := parent.Err(); err != nil {
		if cause := context.Cause(parent); cause != err {
			return fmt.Errorf("%w: %w", err, cause)
		}
		return err
	}
	return fmt.Errorf("%s: %w after %s", op, context.Cause(ctx), c.timeout())
}

// roundTrip sends one attempt of k through t.rt and returns the answer, its
// body unread, and when the request was sent; a 429 pauses k's class in
// the Budget for its Retry-After. The caller closes the body and reports
// the answer to Observe. An attempt that gets no answer it may use (the
// connection failed, or the answer arrived before the request was sent) is
// reported to Observe here and fails, retry telling whether it may be made
// again under k's method.
func (c *Client) roundTrip(ctx context.Context, t try, k call) (resp *http.Response, start time.Time, retry bool, err error) {
	stale := new(staleCheck)
	req, err := c.newRequest(stale.withTrace(ctx), k)
	if err != nil {
		return nil, start, false, err
	}
	start = time.Now()
	resp, err = t.rt.RoundTrip(req)
	if err != nil {
		c.observe(k.op, 0, start)
		return nil, start, retryableTransport(k.method, err), fmt.Errorf("%w: %s: %w", ErrUnreachable, k.op, err)
	}
	if stale.stale.Load() {
		resp.Body.Close()
		c.observe(k.op, 0, start)
		return nil, start, k.method == http.MethodGet,
			fmt.Errorf("%w: %s: an answer arrived before the request was sent (bytes past a previous answer)", ErrBadResponse, k.op)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		c.notePause(t.key, t.class, resp.Header.Get("Retry-After"))
	}
	return resp, start, false, nil
}

// readFailed maps a readBody failure of k's answer: ErrBusy as it is, any
// other an ErrBadResponse that a GET may retry, as a broken connection may
// heal, unless the body was over the limit, which will not.
func readFailed(k call, err error) (retry bool, _ error) {
	if errors.Is(err, ErrBusy) {
		return false, fmt.Errorf("%s: %w", k.op, err)
	}
	return k.method == http.MethodGet && !errors.Is(err, errTooLarge),
		fmt.Errorf("%w: %s: reading body: %w", ErrBadResponse, k.op, err)
}

// retryableAnswer reports whether a call of method may be made again after
// answer resp: a GET's 502, 503 or 504. An answer that says when to come
// back (Retry-After) is passed on, not retried at once against the API's
// wish.
func retryableAnswer(method string, resp *http.Response) bool {
	return method == http.MethodGet && retryableStatus(resp.StatusCode) && resp.Header.Get("Retry-After") == ""
}

// retryableTransport reports whether a request that failed with err before
// any response may be sent again: any GET, and a POST only when the
// connection was never opened.
func retryableTransport(method string, err error) bool {
	if method == http.MethodGet {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func retryableStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout
}

// backoff returns the wait before retry number attempt+1: exponential from
// 50 ms, capped at 1 s, with full jitter so retrying callers spread out.
func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << attempt
	if d > time.Second || d <= 0 {
		d = time.Second
	}
	return rand.N(d) + time.Millisecond
}

// Sleep waits d between two calls to the API: the Client between retries,
// the stream pollers between polls. It returns false at once if ctx's
// deadline comes sooner than d, and early if ctx ends, and reports whether
// the full wait happened.
func Sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
