package sandbox

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// maxLogsPerRun bounds the logs one run shows.
const maxLogsPerRun = 5000

// firstRunID is the id of the first run created after the seed runs.
const firstRunID = 20000

// resumeBytes is what a resume adds to its run besides its prompt, counted
// with the callers' input (Options.MaxRunBytes, Options.MaxBytes): the
// episode that computes its logs and the pull request it opens.
const resumeBytes = 512

// run is one agent run: what the API shows of it and the episodes it acts
// out. A run is guarded by the Sandbox's mutex. Its logs are not stored but
// computed from its episodes when read, so a run's memory does not grow with
// its logs; pull requests and metadata are never changed once published, so
// snapshots may share them.
type run struct {
	codegen.AgentRun
	userID  int64
	meta    json.RawMessage // its metadata, as compact JSON; AgentRun.Metadata stays nil
	eps     []episode       // its plan, then each resume; only the last has steps to come
	bytes   int             // callers' input kept (metadata, resume prompts) plus resumeBytes per resume
	stopped bool            // stopped: its remaining steps never happen
}

// begin starts episode e at the end of the run's logs: the steps still to
// come of the previous one never happen.
func (r *run) begin(e episode) {
	e.first = r.logCount()
	r.eps = append(r.eps, e)
	r.stopped = false // a resumed run goes on
}

// advance applies every step due by now.
func (r *run) advance(now time.Time) {
	if len(r.eps) == 0 || r.stopped {
		return
	}
	e := &r.eps[len(r.eps)-1]
	for due := e.due(now); e.applied < due; e.applied++ {
		r.apply(e.step(e.applied), e.at(e.applied))
	}
	e.shown = min(e.produced(e.applied), max(0, maxLogsPerRun-e.first))
}

// apply makes what st changes besides logs happen at time at.
func (r *run) apply(st step, at time.Time) {
	if st.status != "" {
		r.Status = ptr(st.status)
	}
	if st.result != nil {
		r.Result = st.result
		r.Summary = st.summary
	}
	if st.pr {
		r.GithubPullRequests = append(r.GithubPullRequests, pullRequest(r.ID, len(r.GithubPullRequests), timestamp(at)))
	}
}

// logCount is how many log entries the run shows.
func (r *run) logCount() int {
	if len(r.eps) == 0 {
		return 0
	}
	e := r.eps[len(r.eps)-1]
	return e.first + e.shown
}

// log returns the run's log entry at pos, 0 <= pos < r.logCount().
func (r *run) log(pos int) codegen.AgentRunLog {
	k := sort.Search(len(r.eps), func(k int) bool { return r.eps[k].first+r.eps[k].shown > pos })
	e := r.eps[k]
	i := pos - e.first
	l := e.entry(i)
	l.AgentRunID = r.ID
	l.CreatedAt = ptr(timestamp(e.at(e.stepOf(i))))
	return l
}

// runJSON is a run as the API shows it, its metadata as JSON. Metadata
// shadows AgentRun's and, like it, comes last, so the answer is what
// AgentRun with decoded metadata gives.
type runJSON struct {
	codegen.AgentRun
	Metadata json.RawMessage `json:"metadata"`
}

// snapshot returns the run as the API shows it. The copy shares pull
// requests and metadata, which are never changed after they are published.
func (r *run) snapshot() runJSON {
	a := r.AgentRun
	a.GithubPullRequests = r.GithubPullRequests[:len(r.GithubPullRequests):len(r.GithubPullRequests)]
	return runJSON{AgentRun: a, Metadata: r.meta}
}

// pullRequest makes the n-th pull request of run id, with clearly fake URLs.
func pullRequest(id int64, n int, at string) codegen.GithubPullRequest {
	num := id%1000 + int64(n)*1000 + 1
	return codegen.GithubPullRequest{
		ID:             id*10 + int64(n),
		Title:          ptr("Sandbox changes for agent run " + itoa(id)),
		URL:            ptr("https://sandbox.codegen.invalid/github/sandbox-org/demo-app/pull/" + itoa(num)),
		CreatedAt:      at,
		HeadBranchName: ptr("codegen-bot/sandbox-run-" + itoa(id)),
	}
}

// timestamp formats t as the API does: UTC, microseconds, no zone suffix.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

func ptr[T any](v T) *T { return &v }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
