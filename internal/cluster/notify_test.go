package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/redistest"
)

// Closing the last Watch of a scope while another Watch of it starts never
// leaves the replica unsubscribed with a Watch open. The race is narrow:
// many rounds on several scopes at once give it room; with the fix none
// can fail.
func TestWatchStaysSubscribedWhenOneClosesAsAnotherStarts(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := newClient(t, srv.URL(), Options{CheckInterval: time.Hour})
	rdb := srv.Client()
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for k := range 4 {
		s := RunScope(HashToken(rawToken), 7, int64(k))
		ch := c.scoped("notify", s)
		subscribers := func() int64 { return rdb.PubSubNumSub(ctx, ch).Val()[ch] }
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				if err := closeAsAnotherStarts(c, s, subscribers); err != nil {
					t.Errorf("scope %d, round %d: %v", k, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// closeAsAnotherStarts closes a Watch of s while another starts, and waits
// for the replica to be subscribed once, then, the other closed, not at
// all.
func closeAsAnotherStarts(c *Client, s Scope, subscribers func() int64) error {
	w1 := c.Watch(s)
	closed := make(chan struct{})
	go func() { defer close(closed); w1.Close() }()
	w2 := c.Watch(s)
	<-closed
	err := waitFor(func() bool { return subscribers() == 1 })
	w2.Close()
	if err != nil {
		return fmt.Errorf("a Watch is open but the replica is not subscribed to its channel")
	}
	if waitFor(func() bool { return subscribers() == 0 }) != nil {
		return fmt.Errorf("every Watch closed but the replica is still subscribed")
	}
	return nil
}

// waitFor waits up to 5 s for cond, checking every millisecond.
func waitFor(cond func() bool) error {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}
