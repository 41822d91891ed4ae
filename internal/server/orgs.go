package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// orgResolver picks the organization a request acts on: the X-Codegen-Org-Id
// header or org_id query parameter, else the configured default, else the
// caller's first organization, looked up upstream and remembered briefly per
// token. It is safe for concurrent use.
type orgResolver struct {
	client   *codegen.Client
	fallback int64 // CODEGEN_ORG_ID; zero means look it up
	ttl      time.Duration

	mu    sync.Mutex
	cache map[[32]byte]orgEntry // keyed by the token's hash: tokens never share
}

type orgEntry struct {
	org     int64
	expires time.Time
}

// maxOrgCache bounds the per-token cache; past it, expired entries go first
// and then everything.
const maxOrgCache = 10000

func newOrgResolver(c *codegen.Client, fallback int64) *orgResolver {
	return &orgResolver{client: c, fallback: fallback, ttl: time.Minute, cache: map[[32]byte]orgEntry{}}
}

// caller returns the token of r, stored by requireToken, and the
// organization it acts on.
func (o *orgResolver) caller(r *http.Request) (tok string, org int64, err error) {
	tok = token(r.Context())
	org, err = o.resolve(r, tok)
	return tok, org, err
}

// resolve returns the organization for r, made on behalf of tok.
func (o *orgResolver) resolve(r *http.Request, tok string) (int64, error) {
	org, err := requestedOrg(r)
	if err != nil || org != 0 {
		return org, err
	}
	if o.fallback != 0 {
		return o.fallback, nil
	}
	return o.firstOrg(r.Context(), tok)
}

// requestedOrg reads the organization named by the request, or zero.
func requestedOrg(r *http.Request) (int64, error) {
	hs := r.Header.Values("X-Codegen-Org-Id")
	if len(hs) > 1 {
		return 0, badRequest("X-Codegen-Org-Id: give it once")
	}
	h := ""
	if len(hs) == 1 {
		h = hs[0]
	}
	// The decoded query, not a look at the raw one: org%5Fid is org_id too.
	q, err := oneValue(r.URL.Query(), "org_id")
	if err != nil {
		return 0, err
	}
	if h != "" && q != "" && h != q {
		return 0, badRequest("X-Codegen-Org-Id and org_id name different organizations")
	}
	if h != "" {
		return parseID("X-Codegen-Org-Id", h)
	}
	if q != "" {
		return parseID("org_id", q)
	}
	return 0, nil
}

func (o *orgResolver) firstOrg(ctx context.Context, tok string) (int64, error) {
	key := sha256.Sum256([]byte(tok))
	now := time.Now()
	o.mu.Lock()
	e, ok := o.cache[key]
	o.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.org, nil
	}

	body, err := o.client.Organizations(ctx, tok, codegen.PageParams{Limit: 1})
	if err != nil {
		return 0, err
	}
	var page codegen.Page[codegen.Organization]
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, fmt.Errorf("%w: decoding organizations: %w", codegen.ErrBadResponse, err)
	}
	if len(page.Items) == 0 {
		return 0, &Error{Status: http.StatusForbidden, Code: "no_organization",
			Message: "your token belongs to no organization; name one with X-Codegen-Org-Id or org_id"}
	}
	org := page.Items[0].ID

	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.cache) >= maxOrgCache {
		for k, v := range o.cache {
			if now.After(v.expires) {
				delete(o.cache, k)
			}
		}
		if len(o.cache) >= maxOrgCache {
			clear(o.cache)
		}
	}
	o.cache[key] = orgEntry{org: org, expires: now.Add(o.ttl)}
	return org, nil
}
