package sandbox

import (
	"strconv"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// maxLogsPerRun bounds the logs one run keeps.
const maxLogsPerRun = 5000

// firstRunID is the id of the first run created after the seed runs.
const firstRunID = 20000

// run is one agent run: what the API shows of it, and the steps still to
// come. A run is guarded by the Sandbox's mutex; logs and metadata are never
// changed once published, so snapshots may share them.
type run struct {
	codegen.AgentRun
	userID int64
	logs   []codegen.AgentRunLog
	script []step    // steps still to apply, in order
	next   time.Time // when script[0] applies
	every  time.Duration
	bytes  int // callers' input kept: metadata as sent and resume prompts
}

// step is one moment of a run's life: logs that appear, a new status, and
// for a final step the run's result.
type step struct {
	status string // "" keeps the current status
	logs   []codegen.AgentRunLog
	result *string
	// summary and pr are set on a successful final step.
	summary *string
	pr      bool
}

// advance applies every step due by now.
func (r *run) advance(now time.Time) {
	for len(r.script) > 0 && !now.Before(r.next) {
		r.apply(r.script[0], r.next)
		r.script = r.script[1:]
		r.next = r.next.Add(r.every)
	}
}

// apply makes st happen at time at.
func (r *run) apply(st step, at time.Time) {
	stamp := timestamp(at)
	for _, l := range st.logs {
		if len(r.logs) >= maxLogsPerRun {
			break
		}
		l.AgentRunID = r.ID
		l.CreatedAt = &stamp
		r.logs = append(r.logs, l)
	}
	if st.status != "" {
		r.Status = ptr(st.status)
	}
	if st.result != nil {
		r.Result = st.result
		r.Summary = st.summary
	}
	if st.pr {
		r.GithubPullRequests = append(r.GithubPullRequests, pullRequest(r.ID, len(r.GithubPullRequests), stamp))
	}
}

// schedule replaces the steps to come with script, the first due at start.
func (r *run) schedule(script []step, start time.Time) {
	r.script = script
	r.next = start
}

// snapshot returns the run as the API shows it. The copy shares logs and
// metadata, which are never changed after they are published.
func (r *run) snapshot() codegen.AgentRun {
	a := r.AgentRun
	a.GithubPullRequests = r.GithubPullRequests[:len(r.GithubPullRequests):len(r.GithubPullRequests)]
	return a
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
