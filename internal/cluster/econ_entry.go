package cluster

import (
	"encoding/binary"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
)

// An entry in Redis is a version byte, then its status (2 bytes), the time
// it was stored (Unix nanoseconds, 8), its freshness (nanoseconds, 8), its
// ETag's length (2), the ETag and the body.
const (
	entryVersion = 1
	entryHead    = 1 + 2 + 8 + 8 + 2
)

func encodeEntry(e cache.Entry) []byte {
	v := make([]byte, entryHead, entryHead+len(e.ETag)+len(e.Body))
	v[0] = entryVersion
	binary.BigEndian.PutUint16(v[1:], uint16(e.Status))
	binary.BigEndian.PutUint64(v[3:], uint64(e.Stored.UnixNano()))
	binary.BigEndian.PutUint64(v[11:], uint64(e.TTL))
	binary.BigEndian.PutUint16(v[19:], uint16(len(e.ETag)))
	v = append(v, e.ETag...)
	return append(v, e.Body...)
}

// decodeEntry reads what encodeEntry wrote; ok is false for anything else.
func decodeEntry(v []byte) (e cache.Entry, ok bool) {
	if len(v) < entryHead || v[0] != entryVersion {
		return cache.Entry{}, false
	}
	n := int(binary.BigEndian.Uint16(v[19:]))
	if len(v) < entryHead+n {
		return cache.Entry{}, false
	}
	e.Status = int(binary.BigEndian.Uint16(v[1:]))
	e.Stored = time.Unix(0, int64(binary.BigEndian.Uint64(v[3:])))
	e.TTL = time.Duration(binary.BigEndian.Uint64(v[11:]))
	e.ETag = string(v[entryHead : entryHead+n])
	e.Body = v[entryHead+n:]
	return e, true
}
