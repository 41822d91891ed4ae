package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Watch tells a reader of a scope's history when to read again: after an
// append or Finish anywhere in the cluster (pub/sub), and at every check
// interval in any case, so a lost notification only delays the reader. A
// wake-up says only that something may have changed, not what: the reader
// reads the history to find out. Create it with Client.Watch (the zero
// value is not usable) and Close it. One goroutine receives from C; Close
// may be called from any goroutine, and again.
type Watch struct {
	// C receives a value when the history may have changed. It holds at
	// most one: a reader that was busy reads once for many changes.
	C       <-chan struct{}
	c       chan struct{}
	n       *notifier
	channel string
}

// Watch starts watching s's history. The first Watch of a scope on this
// replica waits for Redis to confirm the subscription, for one Timeout at
// most; if Redis does not, the subscription is made when it comes back, and
// meanwhile the periodic wake-up covers.
func (c *Client) Watch(s Scope) *Watch {
	ch := make(chan struct{}, 1)
	w := &Watch{C: ch, c: ch, n: c.notify, channel: c.scoped("notify", s)}
	c.notify.add(w)
	return w
}

// Close stops the watch. Closing the last Watch of a scope on this replica
// waits for Redis to confirm the unsubscription, for one Timeout at most.
func (w *Watch) Close() { w.n.remove(w) }

func (w *Watch) poke() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// notifier shares one pub/sub connection among a replica's watches. It
// starts with the first watch and runs until the Client closes.
type notifier struct {
	c       *Client
	mu      sync.Mutex
	ps      *redis.PubSub
	watches map[string]map[*Watch]struct{}
	stop    chan struct{}
	done    chan struct{}
	// subMu orders the (un)subscriptions, which follow watches: under it,
	// the last to run for a channel sees its last change. subscribed is
	// what they asked of Redis.
	subMu      sync.Mutex
	subscribed map[string]bool
}

func newNotifier(c *Client) *notifier {
	return &notifier{c: c, watches: map[string]map[*Watch]struct{}{}, stop: make(chan struct{}),
		subscribed: map[string]bool{}}
}

func (n *notifier) add(w *Watch) {
	n.mu.Lock()
	if n.ps == nil {
		n.ps = n.c.rdb.Subscribe(context.Background())
		n.done = make(chan struct{})
		go n.loop(n.ps.Channel(redis.WithChannelSize(256)))
	}
	set := n.watches[w.channel]
	if set == nil {
		set = map[*Watch]struct{}{}
		n.watches[w.channel] = set
	}
	set[w] = struct{}{}
	first := len(set) == 1
	n.mu.Unlock()
	if first {
		n.sync(w.channel)
	}
}

func (n *notifier) remove(w *Watch) {
	n.mu.Lock()
	set := n.watches[w.channel]
	delete(set, w)
	last := set != nil && len(set) == 0
	if last {
		delete(n.watches, w.channel)
	}
	n.mu.Unlock()
	if last {
		n.sync(w.channel)
	}
}

// sync subscribes to channel or unsubscribes from it, as its watches need
// now. A Watch closed as another of its channel starts may thus leave
// nothing to do, but never an unsubscription after the subscription.
func (n *notifier) sync(channel string) {
	n.subMu.Lock()
	defer n.subMu.Unlock()
	n.mu.Lock()
	want, ps := len(n.watches[channel]) > 0, n.ps
	n.mu.Unlock()
	if ps == nil || want == n.subscribed[channel] {
		return
	}
	// On failure the channel stays on (or off) the list that go-redis
	// subscribes again when it reconnects; meanwhile the periodic poke
	// covers.
	ctx, cancel := n.c.callCtx(context.Background())
	defer cancel()
	if want {
		n.subscribed[channel] = true
		n.c.note(ps.Subscribe(ctx, channel))
	} else {
		delete(n.subscribed, channel)
		n.c.note(ps.Unsubscribe(ctx, channel))
	}
}

func (n *notifier) loop(msgs <-chan *redis.Message) {
	defer close(n.done)
	tick := time.NewTicker(n.c.interval())
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case m := <-msgs:
			if m != nil {
				n.poke(m.Channel)
			}
		case <-tick.C:
			n.pokeAll()
		}
	}
}

func (n *notifier) poke(channel string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for w := range n.watches[channel] {
		w.poke()
	}
}

func (n *notifier) pokeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, set := range n.watches {
		for w := range set {
			w.poke()
		}
	}
}

// close stops the loop and the pub/sub connection.
func (n *notifier) close() {
	close(n.stop)
	n.mu.Lock()
	ps, done := n.ps, n.done
	n.mu.Unlock()
	if ps != nil {
		<-done
		ps.Close()
	}
}
