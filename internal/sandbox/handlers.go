package sandbox

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

func (s *Sandbox) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, sandboxUser)
}

func (s *Sandbox) handleOrganizations(w http.ResponseWriter, r *http.Request) {
	var v validation
	skip, limit := pageParams(r, &v)
	if v.failed(w) {
		return
	}
	writeJSON(w, http.StatusOK, paginate(organizations, skip, limit))
}

func (s *Sandbox) handleUsers(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	skip, limit := pageParams(r, &v)
	if v.failed(w) || !allowed(w, org) {
		return
	}
	writeJSON(w, http.StatusOK, paginate([]codegen.User{sandboxUser, teammate}, skip, limit))
}

func pageParams(r *http.Request, v *validation) (skip, limit int) {
	return v.queryInt(r, "skip", 0, 0, math.MaxInt32), v.queryInt(r, "limit", 100, 1, 100)
}

// paginate cuts [skip, skip+limit) out of all, with the API's page envelope.
func paginate[T any](all []T, skip, limit int) codegen.Page[T] {
	items := []T{}
	if skip < len(all) {
		items = all[skip:min(len(all), skip+limit)]
	}
	return codegen.Page[T]{Items: items, Total: len(all), Page: skip/limit + 1, Size: limit, Pages: (len(all) + limit - 1) / limit}
}

// allowed answers 403 unless org is one of the sandbox user's.
func allowed(w http.ResponseWriter, org int64) bool {
	for _, o := range organizations {
		if o.ID == org {
			return true
		}
	}
	writeMessage(w, http.StatusForbidden, msgForbidden)
	return false
}

func (s *Sandbox) handleCreateRun(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	in := decodeCreate(r, &v, s.opts.MaxRunBytes)
	if v.failed(w) || !allowed(w, org) {
		return
	}
	sc, err := parseScenario(in.Prompt, in.Metadata)
	if err != nil {
		v.add(err.Error(), "value_error", "body", "prompt")
		v.failed(w)
		return
	}
	if sc.outcome == "PAYMENT_REQUIRED" {
		writeMessage(w, http.StatusPaymentRequired, msgPaymentNeeded)
		return
	}
	writeJSON(w, http.StatusOK, s.create(org, in, sc))
}

// create stores a new run acting out sc and returns it as first shown.
func (s *Sandbox) create(org int64, in createInput, sc scenario) runJSON {
	now := s.opts.Now()
	every := s.opts.Step
	if sc.step > 0 {
		every = sc.step
	}
	source := in.source
	if source == "" {
		source = "API"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	r := &run{
		AgentRun: codegen.AgentRun{
			ID: id, OrganizationID: org, Status: ptr("PENDING"), CreatedAt: ptr(timestamp(now)),
			WebURL: ptr(s.opts.WebURL + strconv.FormatInt(id, 10)), SourceType: ptr(source),
		},
		userID: sandboxUser.ID,
		meta:   in.MetaJSON,
		bytes:  len(in.MetaJSON),
	}
	r.begin(plan(sc, in.Prompt, now.Add(every), every))
	s.runs[id] = r
	s.order = append(s.order, id)
	s.bytes += r.bytes
	s.evictLocked()
	return r.snapshot()
}

// evictLocked forgets the oldest created runs while there are more than
// MaxRuns of them or they keep more than MaxBytes. s.mu is held.
func (s *Sandbox) evictLocked() {
	for len(s.order) > 0 && (len(s.order) > s.opts.MaxRuns || s.bytes > s.opts.MaxBytes) {
		s.bytes -= s.runs[s.order[0]].bytes
		delete(s.runs, s.order[0])
		s.order = s.order[1:]
	}
}

// withRun calls f, under the lock, with run id of org brought up to now,
// and answers 404 when there is no such run. It reports whether f ran.
func (s *Sandbox) withRun(w http.ResponseWriter, org, id int64, f func(*run)) bool {
	s.mu.Lock()
	r := s.runs[id]
	if r != nil && r.OrganizationID == org {
		r.advance(s.opts.Now())
		f(r)
	}
	s.mu.Unlock()
	if r == nil || r.OrganizationID != org {
		writeMessage(w, http.StatusNotFound, msgRunNotFound)
		return false
	}
	return true
}

func (s *Sandbox) handleGetRun(w http.ResponseWriter, r *http.Request) {
	var v validation
	id, org := v.pathInt(r, "agent_run_id"), v.pathInt(r, "org_id")
	if v.failed(w) || !allowed(w, org) {
		return
	}
	var snap runJSON
	if s.withRun(w, org, id, func(r *run) { snap = r.snapshot() }) {
		writeJSON(w, http.StatusOK, snap)
	}
}

func (s *Sandbox) handleListRuns(w http.ResponseWriter, r *http.Request) {
	var v validation
	org := v.pathInt(r, "org_id")
	skip, limit := pageParams(r, &v)
	var user int64
	if q := r.URL.Query().Get("user_id"); q != "" {
		var err error
		if user, err = strconv.ParseInt(q, 10, 64); err != nil {
			v.add("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "query", "user_id")
		}
	}
	source := r.URL.Query().Get("source_type")
	if source != "" && !validSource(source) {
		v.add(sourceTypeMessage(), "enum", "query", "source_type")
	}
	if v.failed(w) || !allowed(w, org) {
		return
	}
	writeJSON(w, http.StatusOK, s.list(org, user, source, skip, limit))
}

// list returns the page [skip, skip+limit) of org's runs, newest first,
// filtered by user and source type when they are set. It sorts pointers and
// brings only the page's runs up to now, so its cost does not depend on how
// many logs the runs have.
func (s *Sandbox) list(org, user int64, source string, skip, limit int) codegen.Page[runJSON] {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*run
	for _, r := range s.runs {
		if r.OrganizationID == org && (user == 0 || r.userID == user) && (source == "" || *r.SourceType == source) {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b *run) int {
		if c := -compareStrings(*a.CreatedAt, *b.CreatedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	page := paginate(all, skip, limit)
	out := codegen.Page[runJSON]{Items: make([]runJSON, len(page.Items)),
		Total: page.Total, Page: page.Page, Size: page.Size, Pages: page.Pages}
	now := s.opts.Now()
	for i, r := range page.Items {
		r.advance(now)
		out.Items[i] = r.snapshot()
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func validSource(s string) bool {
	v, ok := codegen.ParseSourceType(s)
	return ok && v == s // the API's enum is case-sensitive
}

// sourceTypeMessage is the API's validation message for a bad source_type:
// Input should be 'LOCAL', 'SLACK', ... or 'SETUP_COMMANDS'.
func sourceTypeMessage() string {
	types := codegen.SourceTypes()
	quoted := make([]string, len(types))
	for i, t := range types {
		quoted[i] = "'" + t + "'"
	}
	return "Input should be " + strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}
