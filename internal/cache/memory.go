package cache

import (
	"container/list"
	"strings"
	"sync"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Memory is the in-memory Store: entries in one least-recently-used list,
// bounded in count and bytes, indexed per token so that a token's
// invalidation looks at its own entries only.
//
// The zero value is ready to use with the default bounds; fields must not
// change after the first call. It is safe for concurrent use.
type Memory struct {
	// MaxEntries bounds the entries kept; past it the least recently used
	// go first. If zero, 10000.
	MaxEntries int
	// MaxBytes bounds the bytes of all entries (bodies, keys and a fixed
	// overhead each). If zero, 64 MiB.
	MaxBytes int64
	// MaxEntryBytes bounds one entry: a larger answer is served but not
	// kept. If zero, 1 MiB.
	MaxEntryBytes int64

	mu      sync.Mutex
	lru     list.List // of *item, most recently used first
	byToken map[codegen.TokenKey]map[string]*list.Element
	bytes   int64
	gens    map[codegen.TokenKey]uint64 // per token: bumped by Invalidate
	epoch   uint64                      // bumped when gens is cleared to stay bounded
}

var _ Store = (*Memory)(nil)

type item struct {
	key   Key
	entry Entry
	size  int64
}

// entryOverhead approximates what an entry costs beyond its body and key.
const entryOverhead = 160

// Get implements Store.
func (m *Memory) Get(k Key) (Entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byToken[k.Token][k.Name]
	if !ok {
		return Entry{}, false
	}
	m.lru.MoveToFront(e)
	return e.Value.(*item).entry, true
}

// Put implements Store.
func (m *Memory) Put(k Key, e Entry, gen uint64) bool {
	size := int64(len(e.Body)+len(e.ETag)+len(k.Name)) + entryOverhead
	if size > min(m.maxEntryBytes(), m.maxBytes()) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.generation(k.Token) != gen {
		return false // a write of this token invalidated what was being read
	}
	if old, ok := m.byToken[k.Token][k.Name]; ok {
		m.remove(old)
	}
	for m.lru.Len() > 0 && (m.lru.Len() >= m.maxEntries() || m.bytes+size > m.maxBytes()) {
		m.remove(m.lru.Back())
	}
	if m.byToken == nil {
		m.byToken = map[codegen.TokenKey]map[string]*list.Element{}
	}
	names := m.byToken[k.Token]
	if names == nil {
		names = map[string]*list.Element{}
		m.byToken[k.Token] = names
	}
	names[k.Name] = m.lru.PushFront(&item{key: k, entry: e, size: size})
	m.bytes += size
	return true
}

// Generation implements Store.
func (m *Memory) Generation(tok codegen.TokenKey) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.generation(tok)
}

func (m *Memory) generation(tok codegen.TokenKey) uint64 { return m.epoch<<32 | m.gens[tok] }

// Invalidate implements Store.
func (m *Memory) Invalidate(tok codegen.TokenKey, prefixes ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gens == nil {
		m.gens = map[codegen.TokenKey]uint64{}
	}
	if _, ok := m.gens[tok]; !ok && len(m.gens) >= m.maxEntries() {
		clear(m.gens) // bounded: every token's generation moves on
		m.epoch++
	}
	m.gens[tok]++
	for name, e := range m.byToken[tok] {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				m.remove(e)
				break
			}
		}
	}
}

// Len reports the entries kept and their bytes.
func (m *Memory) Len() (entries int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len(), m.bytes
}

func (m *Memory) remove(e *list.Element) {
	it := m.lru.Remove(e).(*item)
	m.bytes -= it.size
	names := m.byToken[it.key.Token]
	delete(names, it.key.Name)
	if len(names) == 0 {
		delete(m.byToken, it.key.Token)
	}
}

func (m *Memory) maxEntries() int {
	if m.MaxEntries > 0 {
		return m.MaxEntries
	}
	return 10000
}

func (m *Memory) maxBytes() int64 {
	if m.MaxBytes > 0 {
		return m.MaxBytes
	}
	return 64 << 20
}

func (m *Memory) maxEntryBytes() int64 {
	if m.MaxEntryBytes > 0 {
		return m.MaxEntryBytes
	}
	return 1 << 20
}
