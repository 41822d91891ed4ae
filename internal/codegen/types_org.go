package codegen

import "slices"

// StopAgentRunInput is the StopAgentRunInput schema, the body of stop, ban,
// unban and remove-from-pr. Nil card order ids are omitted.
type StopAgentRunInput struct {
	AgentRunID        int64   `json:"agent_run_id"`
	BeforeCardOrderID *string `json:"before_card_order_id,omitempty"`
	AfterCardOrderID  *string `json:"after_card_order_id,omitempty"`
}

// EditPRInput is the EditPRInput schema. State is one of PRStates.
type EditPRInput struct {
	State string `json:"state"`
}

// prStates are the states a pull request can be set to, as EditPRInput
// spells them (lower case; the API's enum is case-sensitive).
var prStates = []string{"open", "closed", "draft", "ready_for_review"}

// PRStates returns the states a pull request can be set to, in a new slice.
func PRStates() []string { return slices.Clone(prStates) }

// IsPRState reports whether s is one of PRStates, exactly.
func IsPRState(s string) bool { return slices.Contains(prStates, s) }

// EditPRResponse is the EditPRResponse schema.
type EditPRResponse struct {
	Success bool    `json:"success" example:"true"`
	URL     *string `json:"url,omitempty" extensions:"x-nullable" example:"https://github.com/sandbox/demo/pull/346"`
	Number  *int64  `json:"number,omitempty" extensions:"x-nullable" example:"346"`
	Title   *string `json:"title,omitempty" extensions:"x-nullable" example:"Add fibonacci function"`
	State   *string `json:"state,omitempty" extensions:"x-nullable" example:"closed"`
	Error   *string `json:"error,omitempty" extensions:"x-nullable"`
} //@name EditPRResponse

// Repo is the RepoResponse schema.
type Repo struct {
	ID             int64   `json:"id" example:"42"`
	Name           string  `json:"name" example:"demo-app"`
	FullName       string  `json:"full_name" example:"sandbox-org/demo-app"`
	Description    *string `json:"description" extensions:"x-nullable" example:"The sandbox's demo application"`
	GithubID       string  `json:"github_id" example:"70042"`
	OrganizationID int64   `json:"organization_id" example:"323"`
	Visibility     *string `json:"visibility" extensions:"x-nullable" example:"private"`
	Archived       *bool   `json:"archived" extensions:"x-nullable" example:"false"`
	SetupStatus    string  `json:"setup_status" example:"COMPLETE"`
	Language       *string `json:"language" extensions:"x-nullable" example:"Python"`
} //@name RepoResponse

// OrganizationIntegrations is the OrganizationIntegrationsResponse schema.
type OrganizationIntegrations struct {
	OrganizationID          int64         `json:"organization_id" example:"323"`
	OrganizationName        string        `json:"organization_name" example:"Sandbox Org"`
	Integrations            []Integration `json:"integrations"`
	TotalActiveIntegrations int           `json:"total_active_integrations" example:"2"`
} //@name OrganizationIntegrationsResponse

// Integration is the IntegrationStatus schema.
type Integration struct {
	IntegrationType string         `json:"integration_type" example:"github"`
	Active          bool           `json:"active" example:"true"`
	TokenID         *int64         `json:"token_id,omitempty" extensions:"x-nullable"`
	InstallationID  *int64         `json:"installation_id,omitempty" extensions:"x-nullable" example:"5501"`
	Metadata        map[string]any `json:"metadata,omitempty" extensions:"x-nullable"`
} //@name IntegrationStatus
