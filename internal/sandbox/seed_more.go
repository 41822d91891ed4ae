package sandbox

import "github.com/codegen-proxy/codegen-proxy/internal/codegen"

// The sandbox's fixed answers for the API's smaller operations.
var (
	// checkSuiteNames are the check suites every sandbox repository runs.
	checkSuiteNames = []string{"build", "lint", "unit-tests"}

	// mcpProviders are the OAuth providers GET /v1/mcp-providers lists and
	// whose tokens each organization holds until revoked.
	mcpProviders = []codegen.OAuthProvider{
		{ID: 1, Name: "linear", Issuer: "https://linear.sandbox.codegen.invalid",
			AuthorizationEndpoint: "https://linear.sandbox.codegen.invalid/oauth/authorize",
			TokenEndpoint:         "https://linear.sandbox.codegen.invalid/oauth/token",
			DefaultScopes:         []string{"read", "write"}, IsMCP: true, Meta: map[string]any{"docs": "https://linear.sandbox.codegen.invalid/docs"}},
		{ID: 2, Name: "notion", Issuer: "https://notion.sandbox.codegen.invalid",
			AuthorizationEndpoint: "https://notion.sandbox.codegen.invalid/oauth/authorize",
			TokenEndpoint:         "https://notion.sandbox.codegen.invalid/oauth/token",
			DefaultScopes:         nil, IsMCP: true},
		{ID: 3, Name: "sentry", Issuer: "https://sentry.sandbox.codegen.invalid",
			AuthorizationEndpoint: "https://sentry.sandbox.codegen.invalid/oauth/authorize",
			TokenEndpoint:         "https://sentry.sandbox.codegen.invalid/oauth/token",
			DefaultScopes:         []string{"project:read"}, IsMCP: false},
	}

	// cliRules are each organization's rules for the CLI.
	cliRules = map[int64]codegen.CLIRules{
		323: {OrganizationRules: ptr("Write tests for every change. Keep pull requests small."), UserCustomPrompt: ptr("Prefer the standard library.")},
		324: {},
	}
)

// defaultSuites returns a repository's check suite settings before any
// change.
func defaultSuites() codegen.CheckSuiteSettings {
	return codegen.CheckSuiteSettings{CheckRetryCount: 3, IgnoredChecks: []string{}, CheckRetryCounts: map[string]int{},
		CustomPrompts: map[string]string{}, HighPriorityApps: []string{}, AvailableCheckSuiteNames: checkSuiteNames}
}

// orgRepo returns org's repository id, or false.
func orgRepo(org, id int64) (codegen.Repo, bool) {
	for _, r := range orgRepos(org) {
		if r.ID == id {
			return r, true
		}
	}
	return codegen.Repo{}, false
}

// isMember reports whether org is one of the sandbox user's.
func isMember(org int64) bool {
	for _, o := range organizations {
		if o.ID == org {
			return true
		}
	}
	return false
}

// isProvider reports whether name is one of mcpProviders.
func isProvider(name string) bool {
	for _, p := range mcpProviders {
		if p.Name == name {
			return true
		}
	}
	return false
}
