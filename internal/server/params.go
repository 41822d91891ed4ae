package server

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// maxLimit is the largest page the Codegen API serves.
const maxLimit = 100

// pageQuery is a parsed page request: Skip records, then Limit of them.
type pageQuery struct {
	Skip, Limit int
}

// parsePage reads limit (1..100, default defLimit) and either page (1-based)
// or skip (0-based); both at once is an error.
func parsePage(q url.Values, defLimit int) (pageQuery, error) {
	p := pageQuery{Limit: defLimit}
	var err error
	if p.Limit, err = intParam(q, "limit", defLimit, 1, maxLimit); err != nil {
		return p, err
	}
	_, hasPage := q["page"]
	_, hasSkip := q["skip"]
	switch {
	case hasPage && hasSkip:
		return p, badRequest("give page or skip, not both")
	case hasPage:
		page, err := intParam(q, "page", 1, 1, math.MaxInt32/maxLimit)
		if err != nil {
			return p, err
		}
		p.Skip = (page - 1) * p.Limit
	default:
		if p.Skip, err = intParam(q, "skip", 0, 0, math.MaxInt32); err != nil {
			return p, err
		}
	}
	return p, nil
}

// intParam reads an integer query parameter within [min, max], or def when
// the parameter is absent.
func intParam(q url.Values, name string, def, min, max int) (int, error) {
	if _, ok := q[name]; !ok {
		return def, nil
	}
	v, err := oneValue(q, name)
	if err != nil {
		return 0, err
	}
	n, ok := decimal(v)
	if !ok || n < int64(min) || n > int64(max) {
		return 0, badRequest("%s must be an integer from %d to %d", name, min, max)
	}
	return int(n), nil
}

// oneValue returns the value of the query parameter name, "" when it is
// absent, and refuses one given twice: which would win is a guess.
func oneValue(q url.Values, name string) (string, error) {
	vs := q[name]
	if len(vs) > 1 {
		return "", badRequest("%s: give it once", name)
	}
	if len(vs) == 0 {
		return "", nil
	}
	return vs[0], nil
}

// decimal parses v as an integer written the canonical way: ASCII digits,
// an optional leading minus, no sign or leading zero otherwise, no spaces.
// strconv.ParseInt alone takes "+1" and "01".
func decimal(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && strconv.FormatInt(n, 10) == v
}

// idParam reads a positive integer query parameter, or zero when it is
// absent.
func idParam(q url.Values, name string) (int64, error) {
	v, err := oneValue(q, name)
	if err != nil || v == "" {
		return 0, err
	}
	return parseID(name, v)
}

// pathID reads the {id} of the route as a positive integer.
func pathID(r *http.Request) (int64, error) {
	return parseID("id", chi.URLParam(r, "id"))
}

// parseID reads v, named name in messages, as a positive integer in
// canonical decimal.
func parseID(name, v string) (int64, error) {
	n, ok := decimal(v)
	if !ok || n <= 0 {
		return 0, badRequest("%s must be a positive integer, in decimal digits with no sign or leading zero", name)
	}
	return n, nil
}

// boolParam reads true/false/1/0, or false when absent.
func boolParam(q url.Values, name string) (bool, error) {
	v, err := oneValue(q, name)
	if err != nil || v == "" {
		return false, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("%s must be true or false", name)
	}
	return b, nil
}

// statusParam reads status: run statuses, one or a comma list, any case.
func statusParam(q url.Values) (map[string]bool, error) {
	return wordsParam(q, "status", codegen.ParseStatus, codegen.RunStatuses())
}

// messageTypeParam reads message_type: log message types, one or a comma
// list, any case.
func messageTypeParam(q url.Values) (map[string]bool, error) {
	return wordsParam(q, "message_type", codegen.ParseMessageType, codegen.MessageTypes())
}

// wordsParam reads the query parameter name, a comma-separated list of the
// names parse knows, in any case, into the set of their upper-case forms;
// nil when absent. An unknown name is refused, listing the valid ones: a
// filter on a name no record has would answer an empty list, which reads as
// "no such records" rather than "you misspelled it".
func wordsParam(q url.Values, name string, parse func(string) (string, bool), valid []string) (map[string]bool, error) {
	v, err := oneValue(q, name)
	if err != nil || v == "" {
		return nil, err
	}
	set := map[string]bool{}
	for _, w := range strings.Split(v, ",") {
		word, ok := parse(strings.TrimSpace(w))
		if !ok {
			return nil, badRequest("%s must be a comma-separated list of %s, in any case: %q is none of them",
				name, strings.Join(valid, ", "), truncate(w, 64))
		}
		set[word] = true
	}
	return set, nil
}

// truncate shortens s to at most n bytes, for quoting caller input in an
// error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// sourceTypeParam reads source_type, case-insensitively, as one of the API's
// source types.
func sourceTypeParam(q url.Values) (string, error) {
	v, err := oneValue(q, "source_type")
	if err != nil || v == "" {
		return "", err
	}
	t, ok := codegen.ParseSourceType(v)
	if !ok {
		return "", badRequest("source_type must be one of %s", strings.Join(codegen.SourceTypes(), ", "))
	}
	return t, nil
}
