package server

// The general information of the API documentation, which `make docs`
// generates from this package's annotations into docs/ (swag, then a
// conversion to OpenAPI 3). The title and version are replaced at run time
// (--title, --api-version or the build version).
//
//	@title						Codegen Proxy API
//	@version					dev
//	@description				A UI-friendly REST API for Codegen agent runs. Every route but the system ones needs your Codegen API token as `Authorization: Bearer <token>`; it is forwarded to the Codegen API as it is. In sandbox mode any token works: try `sandbox`.
//	@description
//	@description				Errors always have the shape `{"error", "status_code", "request_id", "code"}`. Upstream 4xx answers keep their status (429 keeps `Retry-After`); a failing upstream is 502, a slow one 504.
//	@description
//	@description				The organization is the `X-Codegen-Org-Id` header or `org_id` query parameter, else the server's CODEGEN_ORG_ID, else your first organization.
//	@BasePath					/
//	@tag.name					agent-runs
//	@tag.description			Create, list, read, resume and stop agent runs; ban their checks.
//	@tag.name					logs
//	@tag.description			Agent run logs, paged or streamed live.
//	@tag.name					users
//	@tag.description			The caller, their organizations and the organization's users.
//	@tag.name					organization
//	@tag.description			The organization's repositories and integrations.
//	@tag.name					pull-requests
//	@tag.description			Pull requests the agents opened.
//	@tag.name					passthrough
//	@tag.description			The Codegen API itself under /v1, for SDKs and generated clients: its own paths, answers and errors.
//	@tag.name					system
//	@tag.description			Health, readiness, metrics and these docs. No token needed.
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				Your Codegen API token, as `Bearer <token>`.
