package codegen

import "encoding/json"

// The types below are the Codegen API's wire shapes, named after the schemas in
// its OpenAPI document (api/codegen-openapi3.json). Pointer fields are the
// spec's nullable ("anyOf ... null") fields and encode as an explicit null, as
// the real API sends them.

// User is the UserResponse schema.
type User struct {
	ID             int64   `json:"id" example:"1001"`
	Email          *string `json:"email" extensions:"x-nullable" example:"dev@sandbox.codegen.invalid"`
	GithubUserID   string  `json:"github_user_id" example:"90001"`
	GithubUsername string  `json:"github_username" example:"sandbox-dev"`
	AvatarURL      *string `json:"avatar_url" extensions:"x-nullable"`
	FullName       *string `json:"full_name" extensions:"x-nullable" example:"Sandbox Developer"`
	Role           *string `json:"role" extensions:"x-nullable" example:"ADMIN"`
	IsAdmin        *bool   `json:"is_admin" extensions:"x-nullable" example:"true"`
} //@name UserResponse

// Organization is the OrganizationResponse schema.
type Organization struct {
	ID       int64                `json:"id" example:"323"`
	Name     string               `json:"name" example:"Sandbox Org"`
	Settings OrganizationSettings `json:"settings"`
} //@name OrganizationResponse

// OrganizationSettings is the OrganizationSettings schema.
type OrganizationSettings struct {
	EnablePRCreation     bool `json:"enable_pr_creation"`
	EnableRulesDetection bool `json:"enable_rules_detection"`
} //@name OrganizationSettings

// Page is the Page[T] envelope of every paginated list.
type Page[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
	Page  int `json:"page"`
	Size  int `json:"size"`
	Pages int `json:"pages"`
}

// AgentRun is the AgentRunResponse schema.
type AgentRun struct {
	ID                 int64               `json:"id" example:"12345"`
	OrganizationID     int64               `json:"organization_id" example:"323"`
	Status             *string             `json:"status" extensions:"x-nullable" example:"COMPLETE"`
	CreatedAt          *string             `json:"created_at" extensions:"x-nullable" example:"2024-08-10T22:03:46.337400"`
	WebURL             *string             `json:"web_url" extensions:"x-nullable" example:"https://codegen.com/agent/trace/12345"`
	Result             *string             `json:"result" extensions:"x-nullable" example:"Added fibonacci(n) in fib.py with tests."`
	Summary            *string             `json:"summary" extensions:"x-nullable" example:"Fibonacci function added"`
	SourceType         *string             `json:"source_type" extensions:"x-nullable" example:"API"`
	GithubPullRequests []GithubPullRequest `json:"github_pull_requests" extensions:"x-nullable"`
	Metadata           map[string]any      `json:"metadata" extensions:"x-nullable"`
} //@name AgentRunResponse

// GithubPullRequest is the GithubPullRequestResponse schema.
type GithubPullRequest struct {
	ID             int64   `json:"id" example:"501"`
	Title          *string `json:"title" extensions:"x-nullable" example:"Add fibonacci function"`
	URL            *string `json:"url" extensions:"x-nullable" example:"https://github.com/sandbox/demo/pull/1"`
	CreatedAt      string  `json:"created_at" example:"2024-08-10T22:05:46.337400"`
	HeadBranchName *string `json:"head_branch_name" extensions:"x-nullable" example:"codegen/fibonacci"`
} //@name GithubPullRequestResponse

// AgentRunLog is the AgentRunLogResponse schema. Observation is an object, a
// string or null.
type AgentRunLog struct {
	AgentRunID  int64          `json:"agent_run_id" example:"12345"`
	CreatedAt   *string        `json:"created_at" extensions:"x-nullable" example:"2024-08-10T22:04:46.337400"`
	ToolName    *string        `json:"tool_name" extensions:"x-nullable" example:"write_file"`
	MessageType *string        `json:"message_type" extensions:"x-nullable" example:"ACTION"`
	Thought     *string        `json:"thought" extensions:"x-nullable" example:"Write the function"`
	Observation any            `json:"observation"` // an object, a string or null
	ToolInput   map[string]any `json:"tool_input" extensions:"x-nullable"`
	ToolOutput  map[string]any `json:"tool_output" extensions:"x-nullable"`
} //@name AgentRunLogResponse

// AgentRunWithLogs is the AgentRunWithLogsResponse schema: a run and one page
// of its logs, oldest first unless reverse was asked for.
type AgentRunWithLogs struct {
	ID             int64          `json:"id" example:"12345"`
	OrganizationID int64          `json:"organization_id" example:"323"`
	Status         *string        `json:"status" extensions:"x-nullable" example:"COMPLETE"`
	CreatedAt      *string        `json:"created_at" extensions:"x-nullable" example:"2024-08-10T22:03:46.337400"`
	WebURL         *string        `json:"web_url" extensions:"x-nullable" example:"https://codegen.com/agent/trace/12345"`
	Result         *string        `json:"result" extensions:"x-nullable"`
	Metadata       map[string]any `json:"metadata" extensions:"x-nullable"`
	Logs           []AgentRunLog  `json:"logs"`
	TotalLogs      *int           `json:"total_logs" extensions:"x-nullable" example:"12"`
	Page           *int           `json:"page" extensions:"x-nullable" example:"1"`
	Size           *int           `json:"size" extensions:"x-nullable" example:"10"`
	Pages          *int           `json:"pages" extensions:"x-nullable" example:"2"`
} //@name AgentRunWithLogsResponse

// CreateAgentRunInput is the CreateAgentRunInput schema. Nil fields are
// omitted so the upstream applies its own defaults. Prompt (a JSON string,
// quotes included), Images (an array of base64 data-URI strings) and
// Metadata (an object of any JSON) are kept as the caller's JSON and sent as
// they are, never decoded into Go values nor re-encoded, so that a large
// body is copied as few times as possible; they must hold valid JSON.
type CreateAgentRunInput struct {
	Prompt    json.RawMessage `json:"prompt"`
	Images    json.RawMessage `json:"images,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	RepoID    *int64          `json:"repo_id,omitempty"`
	Model     *string         `json:"model,omitempty"`
	AgentType *string         `json:"agent_type,omitempty"`
}

// ResumeAgentRunInput is the ResumeAgentRunInput schema. Prompt and Images
// are kept as JSON, as in CreateAgentRunInput.
type ResumeAgentRunInput struct {
	AgentRunID int64           `json:"agent_run_id"`
	Prompt     json.RawMessage `json:"prompt"`
	Images     json.RawMessage `json:"images,omitempty"`
}

// ErrorBody is the body of the API's 401, 402, 403, 404 and 429 answers
// (APIRateLimitErrorResponse, PermissionsErrorResponse and their siblings).
type ErrorBody struct {
	Message    string `json:"message"`
	StatusCode int    `json:"status_code"`
}

// ValidationErrorBody is FastAPI's HTTPValidationError, the body of a 422.
type ValidationErrorBody struct {
	Detail []ValidationError `json:"detail"`
}

// ValidationError is one entry of a ValidationErrorBody. Loc holds strings and
// integers, such as ["query", "limit"] or ["body", "images", 0].
type ValidationError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// RawPage is a Page whose items are kept as the upstream sent them, so a
// filtered page can be re-encoded without losing fields this package does not
// model.
type RawPage = Page[json.RawMessage]

// RawRunLogs is the part of an AgentRunWithLogs the proxy reads, its logs
// kept as the upstream sent them.
type RawRunLogs struct {
	Status    *string           `json:"status"`
	Logs      []json.RawMessage `json:"logs"`
	TotalLogs *int              `json:"total_logs"`
}
