package sandbox

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// The sandbox's people and organizations. Every token acts as sandboxUser,
// a member of both organizations; any other organization id is forbidden.
var (
	sandboxUser = codegen.User{
		ID: 1001, Email: ptr("dev@sandbox.codegen.invalid"), GithubUserID: "90001", GithubUsername: "sandbox-dev",
		AvatarURL: nil, FullName: ptr("Sandbox Developer"), Role: ptr("ADMIN"), IsAdmin: ptr(true),
	}
	teammate = codegen.User{
		ID: 1002, Email: ptr("teammate@sandbox.codegen.invalid"), GithubUserID: "90002", GithubUsername: "sandbox-teammate",
		AvatarURL: nil, FullName: ptr("Sandbox Teammate"), Role: ptr("MEMBER"), IsAdmin: ptr(false),
	}
	organizations = []codegen.Organization{
		{ID: 323, Name: "Sandbox Org", Settings: codegen.OrganizationSettings{EnablePRCreation: true, EnableRulesDetection: true}},
		{ID: 324, Name: "Sandbox Labs", Settings: codegen.OrganizationSettings{EnablePRCreation: false, EnableRulesDetection: true}},
	}
)

// seedRuns are finished runs present from the start, oldest first.
var seedRuns = []struct {
	id, org, user int64
	source        string
	outcome       string
	prompt        string
	age           time.Duration
}{
	{12339, 324, 1002, "GITHUB_PR_REVIEW", "MAX_ITERATIONS_REACHED", "Review PR #88 for security issues", 72 * time.Hour},
	{12340, 323, 1002, "SLACK", "FAILED", "Upgrade the ORM to version 2", 30 * time.Hour},
	{12341, 323, 1001, "GITHUB", "COMPLETE", "Fix the flaky login test", 26 * time.Hour},
	{12342, 323, 1002, "LINEAR", "CANCELLED", "Rewrite the billing module in Rust", 20 * time.Hour},
	{12343, 323, 1001, "CHAT", "ERROR", "Add a dark mode toggle", 8 * time.Hour},
	{12344, 323, 1002, "API", "TIMEOUT", "Migrate CI to the new runners", 5 * time.Hour},
	{12345, 323, 1001, "API", "COMPLETE", "Create a Python function to calculate fibonacci numbers", 2 * time.Hour},
}

// seed fills the store with the seed runs, each already finished.
func (s *Sandbox) seed() {
	now := s.opts.Now()
	for _, sr := range seedRuns {
		created := now.Add(-sr.age)
		r := &run{
			AgentRun: codegen.AgentRun{
				ID: sr.id, OrganizationID: sr.org, Status: ptr("PENDING"), CreatedAt: ptr(timestamp(created)),
				WebURL: ptr(s.opts.WebURL + strconv.FormatInt(sr.id, 10)), SourceType: ptr(sr.source),
			},
			userID: sr.user,
			meta:   json.RawMessage(`{"source":"sandbox-seed"}`),
		}
		r.begin(plan(scenario{outcome: sr.outcome, logs: 12}, sr.prompt, created.Add(time.Minute), time.Minute))
		r.advance(created.Add(time.Hour))
		s.runs[sr.id] = r
	}
}
