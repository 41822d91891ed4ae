package sandbox

import "github.com/codegen-proxy/codegen-proxy/internal/codegen"

// The sandbox organizations' repositories and integrations, fixed and small.
var (
	repositories = []codegen.Repo{
		{ID: 42, Name: "demo-app", FullName: "sandbox-org/demo-app", Description: ptr("The sandbox's demo application"),
			GithubID: "70042", OrganizationID: 323, Visibility: ptr("private"), Archived: ptr(false), SetupStatus: "COMPLETE", Language: ptr("Python")},
		{ID: 43, Name: "docs", FullName: "sandbox-org/docs", Description: nil,
			GithubID: "70043", OrganizationID: 323, Visibility: ptr("public"), Archived: ptr(false), SetupStatus: "NOT_STARTED", Language: ptr("Markdown")},
		{ID: 44, Name: "legacy-billing", FullName: "sandbox-org/legacy-billing", Description: ptr("Kept for reference"),
			GithubID: "70044", OrganizationID: 323, Visibility: ptr("private"), Archived: ptr(true), SetupStatus: "COMPLETE", Language: nil},
		{ID: 51, Name: "research", FullName: "sandbox-labs/research", Description: nil,
			GithubID: "70051", OrganizationID: 324, Visibility: ptr("private"), Archived: ptr(false), SetupStatus: "COMPLETE", Language: ptr("Go")},
	}
	integrations = map[int64][]codegen.Integration{
		323: {
			{IntegrationType: "github", Active: true, InstallationID: ptr(int64(5501))},
			{IntegrationType: "slack", Active: true, TokenID: ptr(int64(8801)), Metadata: map[string]any{"team": "sandbox"}},
			{IntegrationType: "linear", Active: false},
		},
		324: {
			{IntegrationType: "github", Active: true, InstallationID: ptr(int64(5502))},
		},
	}
)

// orgRepos returns org's repositories.
func orgRepos(org int64) []codegen.Repo {
	var out []codegen.Repo
	for _, r := range repositories {
		if r.OrganizationID == org {
			out = append(out, r)
		}
	}
	return out
}

// orgIntegrations returns the integrations answer of org.
func orgIntegrations(org int64) codegen.OrganizationIntegrations {
	out := codegen.OrganizationIntegrations{OrganizationID: org, Integrations: integrations[org]}
	for _, o := range organizations {
		if o.ID == org {
			out.OrganizationName = o.Name
		}
	}
	for _, i := range out.Integrations {
		if i.Active {
			out.TotalActiveIntegrations++
		}
	}
	return out
}
