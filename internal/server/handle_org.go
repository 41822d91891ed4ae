package server

import (
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// handleRepositories passes on the organization's repositories, translating
// page to skip.
//
//	@Summary		Repositories
//	@Description	The organization's repositories, paginated: the repo_id a run can be created in.
//	@Tags			organization
//	@Produce		json
//	@Security		BearerAuth
//	@Param			page				query		int	false	"Page number, 1-based (instead of skip)"	minimum(1)
//	@Param			skip				query		int	false	"Records to skip (instead of page)"			minimum(0)	default(0)
//	@Param			limit				query		int	false	"Page size"									minimum(1)	maximum(100)	default(100)
//	@Param			X-Codegen-Org-Id	header		int	false	"Organization to act on"
//	@Param			org_id				query		int	false	"Organization to act on (instead of the header)"
//	@Success		200					{object}	codegen.Page[codegen.Repo]
//	@Failure		400,401,403,422,429	{object}	envelope
//	@Header			429					{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504				{object}	envelope
//	@ID			listRepositories
//	@Router			/repositories [get]
func handleRepositories(c *codegen.Client, orgs *orgResolver) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := parsePage(r.URL.Query(), maxLimit)
		if err != nil {
			return err
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		body, err := c.Repositories(ctx, tok, org, codegen.PageParams(p))
		return passOn(w, body, err)
	})
}

// handleUsers passes on the organization's users, translating page to skip.
//
//	@Summary		Users
//	@Description	The organization's users, paginated.
//	@Tags			users
//	@Produce		json
//	@Security		BearerAuth
//	@Param			page				query		int	false	"Page number, 1-based (instead of skip)"	minimum(1)
//	@Param			skip				query		int	false	"Records to skip (instead of page)"			minimum(0)	default(0)
//	@Param			limit				query		int	false	"Page size"									minimum(1)	maximum(100)	default(100)
//	@Param			X-Codegen-Org-Id	header		int	false	"Organization to act on"
//	@Param			org_id				query		int	false	"Organization to act on (instead of the header)"
//	@Success		200					{object}	codegen.Page[codegen.User]
//	@Failure		400,401,403,422,429	{object}	envelope
//	@Header			429					{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504				{object}	envelope
//	@ID			listUsers
//	@Router			/users [get]
func handleUsers(c *codegen.Client, orgs *orgResolver) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := parsePage(r.URL.Query(), maxLimit)
		if err != nil {
			return err
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		body, err := c.Users(ctx, tok, org, codegen.PageParams(p))
		return passOn(w, body, err)
	})
}

// handleUser passes on one of the organization's users.
//
//	@Summary		User
//	@Description	One of the organization's users.
//	@Tags			users
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id						path		int	true	"User id"	minimum(1)	example(1002)
//	@Param			X-Codegen-Org-Id		header		int	false	"Organization to act on"
//	@Param			org_id					query		int	false	"Organization to act on (instead of the header)"
//	@Success		200						{object}	codegen.User
//	@Failure		400,401,403,404,422,429	{object}	envelope
//	@Header			429						{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504					{object}	envelope
//	@ID			getUser
//	@Router			/users/{id} [get]
func handleUser(c *codegen.Client, orgs *orgResolver) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		body, err := c.User(ctx, tok, org, id)
		return passOn(w, body, err)
	})
}

// handleIntegrations passes on the organization's integrations.
//
//	@Summary		Integrations
//	@Description	The organization's integrations (GitHub, Slack, Linear, ...) and whether each is active.
//	@Tags			organization
//	@Produce		json
//	@Security		BearerAuth
//	@Param			X-Codegen-Org-Id	header		int	false	"Organization to act on"
//	@Param			org_id				query		int	false	"Organization to act on (instead of the header)"
//	@Success		200					{object}	codegen.OrganizationIntegrations
//	@Failure		400,401,403,422,429	{object}	envelope
//	@Header			429					{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504				{object}	envelope
//	@ID			listIntegrations
//	@Router			/integrations [get]
func handleIntegrations(c *codegen.Client, orgs *orgResolver) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		tok, org, err := orgs.caller(r)
		if err != nil {
			return err
		}
		ctx, release := codegen.HoldAnswers(r.Context()) // until the answer is written
		defer release()
		body, err := c.Integrations(ctx, tok, org)
		return passOn(w, body, err)
	})
}
