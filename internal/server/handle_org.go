package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
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
func handleRepositories(c *codegen.Client, orgs *orgResolver, rd *reads) http.Handler {
	return passOnOrgPage(orgs, rd, "repos", c.Repositories)
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
func handleUsers(c *codegen.Client, orgs *orgResolver, rd *reads) http.Handler {
	return passOnOrgPage(orgs, rd, "users", c.Users)
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
func handleUser(c *codegen.Client, orgs *orgResolver, rd *reads) http.Handler {
	return passOnOrgItem(orgs, rd, cache.ClassOrg, "users", c.User)
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
func handleIntegrations(c *codegen.Client, orgs *orgResolver, rd *reads) http.Handler {
	return passOnOrg(orgs, rd, "integrations", c.Integrations)
}

// orgRead, orgPageRead and orgItemRead are codegen.Client reads of an
// organization's resource, of a page of its records, and of one record.
type (
	orgRead     func(ctx context.Context, token string, org int64) ([]byte, error)
	orgPageRead func(ctx context.Context, token string, org int64, p codegen.PageParams) ([]byte, error)
	orgItemRead func(ctx context.Context, token string, org, id int64) ([]byte, error)
)

// passOnOrg answers with what read returns for the caller's organization,
// passed on as the API sent it, through the read cache as "org/{org}/"+what
// (route class org).
func passOnOrg(orgs *orgResolver, rd *reads, what string, read orgRead) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		return serveOrgRead(w, r, orgs, rd, cache.ClassOrg, func(org int64) string { return orgName(org) + what }, read)
	})
}

// passOnOrgPage is passOnOrg for a page of records: page or skip, and limit.
func passOnOrgPage(orgs *orgResolver, rd *reads, what string, read orgPageRead) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := parsePage(r.URL.Query(), maxLimit)
		if err != nil {
			return err
		}
		name := func(org int64) string { return paramsName(orgName(org)+what+"?", p) }
		return serveOrgRead(w, r, orgs, rd, cache.ClassOrg, name, func(ctx context.Context, tok string, org int64) ([]byte, error) {
			return read(ctx, tok, org, codegen.PageParams(p))
		})
	})
}

// passOnOrgItem is passOnOrg for the record whose id is the route's {id},
// cached as "org/{org}/"+what+"/{id}/" in class.
func passOnOrgItem(orgs *orgResolver, rd *reads, class cache.Class, what string, read orgItemRead) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		name := func(org int64) string { return orgName(org) + what + "/" + strconv.FormatInt(id, 10) + "/" }
		return serveOrgRead(w, r, orgs, rd, class, name, func(ctx context.Context, tok string, org int64) ([]byte, error) {
			return read(ctx, tok, org, id)
		})
	})
}

// serveOrgRead resolves the caller's organization and answers with the
// read named name(org), through the read cache.
func serveOrgRead(w http.ResponseWriter, r *http.Request, orgs *orgResolver, rd *reads, class cache.Class,
	name func(org int64) string, read orgRead) error {
	tok, org, err := orgs.caller(r)
	if err != nil {
		return err
	}
	return rd.serve(w, r, tok, class, name(org), func(ctx context.Context) ([]byte, error) { return read(ctx, tok, org) })
}

// orgName is the start of the names of an organization's cached reads.
func orgName(org int64) string { return "org/" + strconv.FormatInt(org, 10) + "/" }
