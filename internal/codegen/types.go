package codegen

import "encoding/json"

// The types below are the Codegen API's wire shapes, named after the schemas in
// its OpenAPI document (api/codegen-openapi3.json). Pointer fields are the
// spec's nullable ("anyOf ... null") fields and encode as an explicit null, as
// the real API sends them.

// User is the UserResponse schema.
type User struct {
	ID             int64   `json:"id"`
	Email          *string `json:"email"`
	GithubUserID   string  `json:"github_user_id"`
	GithubUsername string  `json:"github_username"`
	AvatarURL      *string `json:"avatar_url"`
	FullName       *string `json:"full_name"`
	Role           *string `json:"role"`
	IsAdmin        *bool   `json:"is_admin"`
} //@name UserResponse

// Organization is the OrganizationResponse schema.
type Organization struct {
	ID       int64                `json:"id"`
	Name     string               `json:"name"`
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
	Status             *string             `json:"status" example:"ACTIVE"`
	CreatedAt          *string             `json:"created_at" example:"2024-08-10T22:03:46.337400"`
	WebURL             *string             `json:"web_url" example:"https://codegen.com/agent/trace/12345"`
	Result             *string             `json:"result"`
	Summary            *string             `json:"summary"`
	SourceType         *string             `json:"source_type" example:"API"`
	GithubPullRequests []GithubPullRequest `json:"github_pull_requests"`
	Metadata           map[string]any      `json:"metadata" swaggertype:"object,string" example:"source:api"`
} //@name AgentRunResponse

// GithubPullRequest is the GithubPullRequestResponse schema.
type GithubPullRequest struct {
	ID             int64   `json:"id"`
	Title          *string `json:"title"`
	URL            *string `json:"url"`
	CreatedAt      string  `json:"created_at"`
	HeadBranchName *string `json:"head_branch_name"`
} //@name GithubPullRequestResponse

// AgentRunLog is the AgentRunLogResponse schema. Observation is an object, a
// string or null.
type AgentRunLog struct {
	AgentRunID  int64          `json:"agent_run_id"`
	CreatedAt   *string        `json:"created_at"`
	ToolName    *string        `json:"tool_name"`
	MessageType *string        `json:"message_type"`
	Thought     *string        `json:"thought"`
	Observation any            `json:"observation"`
	ToolInput   map[string]any `json:"tool_input"`
	ToolOutput  map[string]any `json:"tool_output"`
} //@name AgentRunLogResponse

// AgentRunWithLogs is the AgentRunWithLogsResponse schema: a run and one page
// of its logs, oldest first unless reverse was asked for.
type AgentRunWithLogs struct {
	ID             int64          `json:"id"`
	OrganizationID int64          `json:"organization_id"`
	Status         *string        `json:"status"`
	CreatedAt      *string        `json:"created_at"`
	WebURL         *string        `json:"web_url"`
	Result         *string        `json:"result"`
	Metadata       map[string]any `json:"metadata"`
	Logs           []AgentRunLog  `json:"logs"`
	TotalLogs      *int           `json:"total_logs"`
	Page           *int           `json:"page"`
	Size           *int           `json:"size"`
	Pages          *int           `json:"pages"`
} //@name AgentRunWithLogsResponse

// CreateAgentRunInput is the CreateAgentRunInput schema. Nil fields are
// omitted so the upstream applies its own defaults. Images (an array of
// base64 data-URI strings) and Metadata (an object of any JSON) are kept as
// the caller's JSON and encoded as they are, never decoded into Go values,
// so that a large body is copied as few times as possible; they must hold
// valid JSON.
type CreateAgentRunInput struct {
	Prompt    string          `json:"prompt"`
	Images    json.RawMessage `json:"images,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	RepoID    *int64          `json:"repo_id,omitempty"`
	Model     *string         `json:"model,omitempty"`
	AgentType *string         `json:"agent_type,omitempty"`
}

// ResumeAgentRunInput is the ResumeAgentRunInput schema. Images is kept as
// JSON, as in CreateAgentRunInput.
type ResumeAgentRunInput struct {
	AgentRunID int64           `json:"agent_run_id"`
	Prompt     string          `json:"prompt"`
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
