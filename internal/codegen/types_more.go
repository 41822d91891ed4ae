package codegen

// The schemas of the API's operations the proxy has no route of its own for,
// which it passes through under /v1 and the sandbox implements.

// CheckSuiteSettings is the CheckSuiteSettingsResponse schema: how a
// repository's agents treat its check suites.
type CheckSuiteSettings struct {
	CheckRetryCount          int               `json:"check_retry_count"`
	IgnoredChecks            []string          `json:"ignored_checks"`
	CheckRetryCounts         map[string]int    `json:"check_retry_counts"`
	CustomPrompts            map[string]string `json:"custom_prompts"`
	HighPriorityApps         []string          `json:"high_priority_apps"`
	AvailableCheckSuiteNames []string          `json:"available_check_suite_names"`
}

// SetupCommandsResponse is the SetupCommandsResponse schema: the run that
// generates a repository's setup commands.
type SetupCommandsResponse struct {
	AgentRunID int64  `json:"agent_run_id"`
	Status     string `json:"status"`
	URL        string `json:"url"`
}

// AnalyzeLogsResponse is the AnalyzeLogsResponse schema: the run that
// analyzes a sandbox's logs.
type AnalyzeLogsResponse struct {
	AgentRunID int64  `json:"agent_run_id"`
	Status     string `json:"status"`
	Message    string `json:"message"`
}

// OAuthProvider is the OAuthProviderResponse schema. DefaultScopes is
// required and may be null.
type OAuthProvider struct {
	ID                    int64          `json:"id"`
	Name                  string         `json:"name"`
	Issuer                string         `json:"issuer"`
	AuthorizationEndpoint string         `json:"authorization_endpoint"`
	TokenEndpoint         string         `json:"token_endpoint"`
	DefaultScopes         []string       `json:"default_scopes"`
	IsMCP                 bool           `json:"is_mcp"`
	Meta                  map[string]any `json:"meta,omitempty"`
}

// CLIRules is the CLIRulesResponse schema; both fields are required and may
// be null.
type CLIRules struct {
	OrganizationRules *string `json:"organization_rules"`
	UserCustomPrompt  *string `json:"user_custom_prompt"`
}

// SlackConnectToken is the GenerateTokenResponse schema.
type SlackConnectToken struct {
	Token            string `json:"token"`
	Message          string `json:"message"`
	ExpiresInMinutes int    `json:"expires_in_minutes"`
}
