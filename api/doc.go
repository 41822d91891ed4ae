// Package api holds codegen-proxy's contracts: codegen-openapi3.json is the
// Codegen API's own OpenAPI 3.1 document, the upstream truth the sandbox and
// the client are checked against by the contract test in internal/contract.
// It is a copy of ../shared/reference/codegen-openapi3.json; a test fails if
// the two drift apart.
package api

import _ "embed"

// CodegenSpec is the Codegen API's OpenAPI document.
//
//go:embed codegen-openapi3.json
var CodegenSpec []byte
