// Package contract holds only a test: the check that the sandbox's answers
// and the requests the proxy's client sends agree with the Codegen API's
// OpenAPI document (api/codegen-openapi3.json). It lives apart so that the
// OpenAPI validator it needs is compiled for this test alone.
package contract
