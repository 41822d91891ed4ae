package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// reads makes the REST handlers' upstream reads through the read cache,
// which coalesces them and keeps their answers per token, and tells the
// cache what writes change. A nil *reads, or one without a cache, reads
// upstream every time and writes no cache headers.
type reads struct {
	cache *cache.Cache
	// answers, if set, is the Client whose MaxInFlightBytes an answer
	// from the cache holds until it is written, as an answer of the
	// Client's own does.
	answers *codegen.Client
}

// readFunc is one upstream read of the caller's token.
type readFunc func(ctx context.Context) ([]byte, error)

// serve answers r with the read named name: from the cache or upstream,
// with Cache-Status, ETag, Cache-Control and Age, or 304 when r's
// If-None-Match matches.
func (rd *reads) serve(w http.ResponseWriter, r *http.Request, tok string, class cache.Class, name string, read readFunc) error {
	ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
	defer release()
	if rd == nil || rd.cache == nil {
		body, err := read(ctx)
		return passOn(w, body, err)
	}
	// The shared call keeps no caller's hold: each caller holds the bytes
	// of the answer it writes, below, however it got it.
	res, err := rd.cache.Read(r.Context(), cache.Key{Token: codegen.KeyOf(tok), Name: name}, class, read)
	if res.CacheStatus != "" {
		w.Header().Set("Cache-Status", res.CacheStatus)
	}
	if err != nil {
		return err
	}
	if rd.answers != nil && !noneMatch(r.Header.Values("If-None-Match"), res.ETag) {
		if err := rd.answers.HoldBytes(ctx, int64(len(res.Body))); err != nil {
			return err
		}
	}
	if res.Age > 0 {
		w.Header().Set("Age", strconv.FormatInt(int64(res.Age.Seconds()), 10))
	}
	writeValidated(w, r, res.Body, res.ETag, res.TTL.Seconds())
	return nil
}

// scanAges follows the cached reads that one computed answer (a filtered
// page) is made from: the oldest one's age and the least freshness any has
// left, which are the answer's own. The zero value has seen no read. It is
// not safe for concurrent use: a scan reads its pages one at a time.
type scanAges struct {
	seen      bool
	age, left time.Duration
}

func (a *scanAges) add(res cache.Result) {
	left := max(res.TTL-res.Age, 0)
	if !a.seen || res.Age > a.age {
		a.age = res.Age
	}
	if !a.seen || left < a.left {
		a.left = left
	}
	a.seen = true
}

// fetch is serve for a read whose answer the handler works on (a filter
// scan's pages): the body only, its age and freshness noted in ages. As
// without the cache, a page's bytes are not held once it is returned: the
// handler decodes it and lets it go.
func (rd *reads) fetch(ctx context.Context, ages *scanAges, tok string, class cache.Class, name string, read readFunc) ([]byte, error) {
	if rd == nil || rd.cache == nil {
		return read(ctx)
	}
	res, err := rd.cache.Read(ctx, cache.Key{Token: codegen.KeyOf(tok), Name: name}, class, read)
	if err == nil {
		ages.add(res)
	}
	return res.Body, err
}

// writeComputed answers with a body the handler made from the cached reads
// that ages followed, with its validators: its Age is the oldest read's,
// and its max-age the least freshness any read had left.
func (rd *reads) writeComputed(w http.ResponseWriter, r *http.Request, ages *scanAges, v any) error {
	if rd == nil || rd.cache == nil {
		return writeJSON(w, http.StatusOK, v)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	if ages.age > 0 {
		w.Header().Set("Age", strconv.FormatInt(int64(ages.age.Seconds()), 10))
	}
	writeValidated(w, r, body, cache.ETag(body), ages.left.Seconds())
	return nil
}

// invalidate drops the caller's cached reads that a write changed.
func (rd *reads) invalidate(tok string, names ...string) {
	if rd != nil && rd.cache != nil {
		rd.cache.Invalidate(codegen.KeyOf(tok), names...)
	}
}

// writeValidated answers 200 with body and its validators, or 304 Not
// Modified when the request's If-None-Match names etag. Answers are per
// token: private, never public.
func writeValidated(w http.ResponseWriter, r *http.Request, body []byte, etag string, maxAge float64) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(maxAge)))
	h.Add("Vary", "Authorization, X-Codegen-Org-Id")
	if noneMatch(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// noneMatch reports whether If-None-Match, as its field lines, names etag
// (weak comparison, RFC 9110 section 13.1.2) or is "*". A field that does
// not parse is ignored, as RFC 9110 asks.
func noneMatch(lines []string, etag string) bool {
	if len(lines) == 0 {
		return false
	}
	tags, ok := parseETags(strings.Join(lines, ","))
	if !ok {
		return false
	}
	for _, t := range tags {
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// parseETags splits an If-None-Match value into "*" or entity-tags
// ([W/]"etagc*"); ok is false when any member is malformed.
func parseETags(v string) (tags []string, ok bool) {
	if strings.TrimSpace(v) == "*" {
		return []string{"*"}, true
	}
	for _, m := range strings.Split(v, ",") {
		m = strings.Trim(m, " \t")
		if m == "" {
			continue // empty list members are allowed
		}
		opaque := strings.TrimPrefix(m, "W/")
		if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' {
			return nil, false
		}
		for _, c := range []byte(opaque[1 : len(opaque)-1]) {
			if c != 0x21 && (c < 0x23 || c == 0x7f) { // etagc = %x21 / %x23-7E / obs-text
				return nil, false
			}
		}
		tags = append(tags, m)
	}
	return tags, len(tags) > 0
}

// Names of cached reads, written so that a write invalidates by prefix:
// everything about a run starts with runName, every list of runs with
// runListPrefix, and both with orgRunsPrefix.
func orgRunsPrefix(org int64) string { return "org/" + strconv.FormatInt(org, 10) + "/run" }
func runListPrefix(org int64) string { return orgRunsPrefix(org) + "s?" }
func runName(org, id int64) string {
	return orgRunsPrefix(org) + "/" + strconv.FormatInt(id, 10) + "/"
}

// paramsName writes a read's parameters, a codegen params struct, into its
// name.
func paramsName(prefix string, params any) string { return fmt.Sprintf("%s%+v", prefix, params) }
