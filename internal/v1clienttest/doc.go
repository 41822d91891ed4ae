// Package v1clienttest holds a client that oapi-codegen, a mainstream SDK
// generator, writes from the Codegen API's own OpenAPI document
// (api/codegen-openapi3.json, through overlay.yaml; client.gen.go, by make
// docs; make docs-check fails when it is stale), and a test that drives every
// operation of the API with it through the proxy's /v1 pass-through in
// sandbox mode. It shows that an SDK made for the Codegen API works against
// the proxy unchanged. Only tests use it.
package v1clienttest

// make docs runs the same command (OAPI_CODEGEN in the Makefile).
//
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../../api/codegen-openapi3.json
