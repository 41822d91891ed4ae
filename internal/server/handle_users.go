package server

import (
	"context"
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// handleCurrentUser passes on GET /users/me.
//
//	@Summary		Current user
//	@Description	The user the bearer token belongs to.
//	@Tags			users
//	@Produce		json
//	@Security		BearerAuth
//	@Param			X-Request-ID	header		string	false	"Request id to use (1-128 of A-Z a-z 0-9 - _ . :); one is made otherwise"
//	@Success		200				{object}	codegen.User
//	@Failure		401,403,422,429	{object}	envelope
//	@Header			429				{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504			{object}	envelope
//	@ID			getCurrentUser
//	@Router			/users/me [get]
func handleCurrentUser(c *codegen.Client, rd *reads) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		tok := token(r.Context())
		return rd.serve(w, r, tok, cache.ClassOrg, "me", func(ctx context.Context) ([]byte, error) { return c.CurrentUser(ctx, tok) })
	})
}

// handleOrganizations passes on GET /organizations, translating page to skip.
//
//	@Summary		Organizations
//	@Description	The organizations the caller belongs to, paginated.
//	@Tags			users
//	@Produce		json
//	@Security		BearerAuth
//	@Param			page			query		int	false	"Page number, 1-based (instead of skip)"	minimum(1)
//	@Param			skip			query		int	false	"Records to skip (instead of page)"			minimum(0)	default(0)
//	@Param			limit			query		int	false	"Page size"									minimum(1)	maximum(100)	default(100)
//	@Success		200				{object}	codegen.Page[codegen.Organization]
//	@Failure		400,401,422,429	{object}	envelope
//	@Header			429				{string}	Retry-After	"Seconds to wait before retrying"
//	@Failure		502,504			{object}	envelope
//	@ID			listOrganizations
//	@Router			/organizations [get]
func handleOrganizations(c *codegen.Client, rd *reads) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := parsePage(r.URL.Query(), maxLimit)
		if err != nil {
			return err
		}
		tok := token(r.Context())
		return rd.serve(w, r, tok, cache.ClassOrg, paramsName("orgs?", p), func(ctx context.Context) ([]byte, error) {
			return c.Organizations(ctx, tok, codegen.PageParams(p))
		})
	})
}
