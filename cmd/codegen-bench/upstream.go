package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// fixedUpstream answers the Codegen API paths the proxy uses with bodies
// encoded once, after an optional delay: a fast upstream whose own cost is as
// small as a Go server's can be, so that a benchmark measures the hop.
type fixedUpstream struct {
	latency                         time.Duration
	run, list, logs, user, orgsPage []byte
}

func newFixedUpstream(latency time.Duration) *fixedUpstream {
	run := sampleRun(12345)
	runs := make([]codegen.AgentRun, 10)
	for i := range runs {
		runs[i] = sampleRun(int64(12345 - i))
	}
	logs := make([]codegen.AgentRunLog, 10)
	for i := range logs {
		logs[i] = codegen.AgentRunLog{AgentRunID: 12345, CreatedAt: ptr("2026-11-25T12:00:00.000000"), MessageType: ptr("ACTION"),
			ToolName: ptr("ripgrep_search"), Thought: ptr("Find where the code to change lives."),
			ToolInput: map[string]any{"query": "def fibonacci"}, ToolOutput: map[string]any{"matches": 2}}
	}
	total := 10
	return &fixedUpstream{
		latency: latency,
		run:     mustJSON(run),
		list:    mustJSON(codegen.Page[codegen.AgentRun]{Items: runs, Total: 10, Page: 1, Size: 10, Pages: 1}),
		logs: mustJSON(codegen.AgentRunWithLogs{ID: run.ID, OrganizationID: 323, Status: run.Status, CreatedAt: run.CreatedAt,
			WebURL: run.WebURL, Result: run.Result, Logs: logs, TotalLogs: &total, Page: ptr(1), Size: ptr(100), Pages: ptr(1)}),
		user:     mustJSON(codegen.User{ID: 1001, GithubUserID: "90001", GithubUsername: "bench"}),
		orgsPage: mustJSON(codegen.Page[codegen.Organization]{Items: []codegen.Organization{{ID: 323, Name: "Bench"}}, Total: 1, Page: 1, Size: 100, Pages: 1}),
	}
}

func sampleRun(id int64) codegen.AgentRun {
	return codegen.AgentRun{
		ID: id, OrganizationID: 323, Status: ptr("COMPLETE"), CreatedAt: ptr("2026-11-25T12:00:00.000000"),
		WebURL: ptr(fmt.Sprintf("https://sandbox.codegen.invalid/agent/trace/%d", id)), Result: ptr("I made the requested changes and opened a pull request with them."),
		Summary: ptr("Implemented the change, added tests, opened a PR."), SourceType: ptr("API"),
		GithubPullRequests: []codegen.GithubPullRequest{{ID: id * 10, Title: ptr("Sandbox changes"), URL: ptr("https://sandbox.codegen.invalid/pull/1"),
			CreatedAt: "2026-11-25T12:00:00.000000", HeadBranchName: ptr("codegen-bot/bench")}},
		Metadata: map[string]any{"source": "api"},
	}
}

func (u *fixedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // only drained
	}
	if u.latency > 0 {
		time.Sleep(u.latency)
	}
	var body []byte
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/logs"):
		body = u.logs
	case strings.HasSuffix(p, "/agent/runs"):
		body = u.list
	case strings.HasSuffix(p, "/users/me"):
		body = u.user
	case p == "/v1/organizations":
		body = u.orgsPage
	default:
		body = u.run
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{fmt.Sprint(len(body))}
	w.Write(body) //nolint:errcheck // the client has gone
}

// runUpstream is `codegen-bench upstream`: serve a fixedUpstream until ctx ends.
func runUpstream(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	latency := fs.Duration("latency", 0, "delay before each answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "upstream listening on http://%s\n", ln.Addr())
	return serveUntilDone(ctx, ln, newFixedUpstream(*latency))
}

// serveUntilDone serves h on ln until ctx ends.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // fixed sample data; cannot fail
	}
	return b
}

func ptr[T any](v T) *T { return &v }
