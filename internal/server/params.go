package server

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
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
	vs, ok := q[name]
	if !ok {
		return def, nil
	}
	if len(vs) != 1 {
		return 0, badRequest("%s: give it once", name)
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < min || n > max {
		return 0, badRequest("%s must be an integer from %d to %d", name, min, max)
	}
	return n, nil
}

// idParam reads a positive integer parameter, or zero when it is absent.
func idParam(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	return parseID(name, v)
}

// pathID reads the {id} of the route as a positive integer.
func pathID(r *http.Request) (int64, error) {
	return parseID("id", chi.URLParam(r, "id"))
}

func parseID(name, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, badRequest("%s must be a positive integer", name)
	}
	return n, nil
}

// boolParam reads true/false/1/0, or false when absent.
func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("%s must be true or false", name)
	}
	return b, nil
}

// wordsParam reads a comma-separated list of names such as statuses or
// message types, upper-cased; nil when absent.
func wordsParam(q url.Values, name string) (map[string]bool, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	set := map[string]bool{}
	for _, w := range strings.Split(v, ",") {
		w = strings.ToUpper(strings.TrimSpace(w))
		if !isWord(w) {
			return nil, badRequest("%s must be a comma-separated list of names such as COMPLETE", name)
		}
		set[w] = true
	}
	return set, nil
}

// isWord accepts 1 to 64 letters, digits and underscores.
func isWord(w string) bool {
	if w == "" || len(w) > 64 {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// sourceTypes are the API's ApiAgentRunSourceType values.
var sourceTypes = map[string]bool{
	"LOCAL": true, "SLACK": true, "GITHUB": true, "GITHUB_CHECK_SUITE": true, "GITHUB_PR_REVIEW": true,
	"LINEAR": true, "API": true, "CHAT": true, "JIRA": true, "CLICKUP": true, "MONDAY": true, "SETUP_COMMANDS": true,
}

// sourceTypeParam reads source_type, case-insensitively, as one of the API's
// source types.
func sourceTypeParam(q url.Values) (string, error) {
	v := strings.ToUpper(q.Get("source_type"))
	if v != "" && !sourceTypes[v] {
		return "", badRequest("source_type must be one of LOCAL, SLACK, GITHUB, GITHUB_CHECK_SUITE, GITHUB_PR_REVIEW, LINEAR, API, CHAT, JIRA, CLICKUP, MONDAY, SETUP_COMMANDS")
	}
	return v, nil
}
