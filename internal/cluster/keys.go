package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// TokenHash is the SHA-256 of a bearer token: the only form of a token
// that reaches Redis, in key names. The zero value is the hash of nothing
// and must not be used.
type TokenHash [sha256.Size]byte

func (h TokenHash) String() string { return hex.EncodeToString(h[:]) }

// Scope names one shared thing of one token: a run's log history, an
// organization's runs feed. Build it with RunScope or FeedScope. Its keys
// share a Redis Cluster hash slot, so the scripts may touch them together.
type Scope string

// RunScope is the scope of a run's logs for a token in an organization.
func RunScope(tok TokenHash, org, run int64) Scope {
	return Scope(tok.String() + ":" + strconv.FormatInt(org, 10) + ":run:" + strconv.FormatInt(run, 10))
}

// FeedScope is the scope of an organization's runs feed for a token.
func FeedScope(tok TokenHash, org int64) Scope {
	return Scope(tok.String() + ":" + strconv.FormatInt(org, 10) + ":feed")
}

// key is a key of the client's own, such as the replica set.
func (c *Client) key(name string) string { return c.prefix() + name }

// scoped is the key of kind ("lease", "log", "notify") for s; the braces
// make a Redis Cluster hash tag.
func (c *Client) scoped(kind string, s Scope) string {
	return c.prefix() + kind + ":{" + string(s) + "}"
}

func (c *Client) prefix() string {
	if c.opt.Prefix != "" {
		return c.opt.Prefix
	}
	return "cgp:"
}
