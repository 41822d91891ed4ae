// Package docs holds the API documentation that `make docs` generates from
// the server's annotations: swagger.json (swag's Swagger 2.0 output) and
// openapi.json (its OpenAPI 3.0 conversion, served at /openapi.json). This
// file is the only one here written by hand; CI fails when regenerating the
// others would change them.
package docs

import _ "embed"

// OpenAPI is the OpenAPI 3.0 document of the proxy's API.
//
//go:embed openapi.json
var OpenAPI []byte
