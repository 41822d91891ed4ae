// Package apiclienttest holds a client that oapi-codegen, a mainstream SDK
// generator, writes from docs/openapi.json (client.gen.go, by make docs;
// make docs-check fails when it is stale), and a test that drives every
// operation of the proxy with it in sandbox mode. It shows that the
// document is one an SDK generator can use: the generated code compiles,
// and decodes the proxy's real answers, nulls included. Only tests use it.
package apiclienttest

// make docs runs the same command (OAPI_CODEGEN in the Makefile).
//
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../../docs/openapi.json
