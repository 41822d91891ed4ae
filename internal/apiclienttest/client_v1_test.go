package apiclienttest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// passThroughOperations calls /v1/{path} with each method. The generated
// client escapes the / of a path parameter, which the pass-through refuses,
// so the path is one segment: organizations, which the API serves for GET
// alone; the other methods get the API's own 405, passed through as it came
// (internal/v1clienttest drives the API's own operations through it).
func passThroughOperations(t *testing.T, ctx context.Context, c *ClientWithResponses) []string {
	t.Helper()
	get, err := c.PassThroughGetWithResponse(ctx, "organizations")
	want2xx(t, "passThroughGet", get.HTTPResponse, get.Body, err)
	var page struct {
		Items []struct {
			ID int `json:"id"`
		} `json:"items"`
	}
	if json.Unmarshal(get.Body, &page) != nil || len(page.Items) != 2 {
		t.Errorf("passThroughGet organizations: %s, want the API's page of two organizations", get.Body)
	}
	answers := map[string]func() (*http.Response, []byte, error){
		"passThroughPost": func() (*http.Response, []byte, error) {
			r, err := c.PassThroughPostWithResponse(ctx, "organizations", map[string]any{})
			return r.HTTPResponse, r.Body, err
		},
		"passThroughPut": func() (*http.Response, []byte, error) {
			r, err := c.PassThroughPutWithResponse(ctx, "organizations", map[string]any{})
			return r.HTTPResponse, r.Body, err
		},
		"passThroughPatch": func() (*http.Response, []byte, error) {
			r, err := c.PassThroughPatchWithResponse(ctx, "organizations", map[string]any{})
			return r.HTTPResponse, r.Body, err
		},
		"passThroughDelete": func() (*http.Response, []byte, error) {
			r, err := c.PassThroughDeleteWithResponse(ctx, "organizations")
			return r.HTTPResponse, r.Body, err
		},
	}
	ops := []string{"passThroughGet"}
	for op, do := range answers {
		ops = append(ops, op)
		resp, body, err := do()
		if err != nil || resp.StatusCode != http.StatusMethodNotAllowed || string(body) != `{"detail":"Method Not Allowed"}` {
			t.Errorf("%s organizations: %v %v %s, want the API's own 405", op, err, resp, body)
		}
	}
	return ops
}
