package server

import (
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// handleCurrentUser passes on GET /users/me.
func handleCurrentUser(c *codegen.Client) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		body, err := c.CurrentUser(r.Context(), token(r.Context()))
		if err != nil {
			return err
		}
		writeRaw(w, http.StatusOK, body)
		return nil
	})
}

// handleOrganizations passes on GET /organizations, translating page to skip.
func handleOrganizations(c *codegen.Client) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := parsePage(r.URL.Query(), maxLimit)
		if err != nil {
			return err
		}
		body, err := c.Organizations(r.Context(), token(r.Context()), codegen.PageParams(p))
		if err != nil {
			return err
		}
		writeRaw(w, http.StatusOK, body)
		return nil
	})
}
