// Command openapi-gen turns the Swagger 2.0 document that swag generates
// from the server's annotations (docs/swagger.json) into the OpenAPI 3.0
// document the server serves (docs/openapi.json). `make docs` runs it.
//
// Beyond kin-openapi's conversion (which turns swag's x-nullable, from the
// `extensions:"x-nullable"` struct tags, into nullable) it names the page
// schemas as the Codegen API does (Page_AgentRunResponse_), declares the
// bearer scheme as HTTP bearer authentication (Swagger 2.0 can only say "API
// key"), declares every error answer as JSON with an example of its own
// status (Swagger 2.0 has one content type per operation and swag one example
// per schema), keeps the parameters' examples (the conversion drops them), adds the
// examples swag's tags cannot write, and validates the result.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: openapi-gen docs/swagger.json docs/openapi.json")
		os.Exit(2)
	}
	if err := convert(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "openapi-gen:", err)
		os.Exit(1)
	}
}

// pageName matches swag's names for instances of the generic codegen.Page.
var pageName = regexp.MustCompile(`codegen\.Page-(\w+)`)

func convert(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	src = pageName.ReplaceAll(src, []byte("Page_${1}_"))
	var v2 openapi2.T
	if err := json.Unmarshal(src, &v2); err != nil {
		return fmt.Errorf("reading %s: %w", in, err)
	}
	paramExamples := parameterExamples(&v2)
	v3, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return fmt.Errorf("converting: %w", err)
	}
	v3.Servers = openapi3.Servers{{URL: "/", Description: "this server"}}
	if s := v3.Components.SecuritySchemes["BearerAuth"]; s != nil && s.Value != nil {
		s.Value = openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer").WithDescription(s.Value.Description)
	}
	if err := fixErrorResponses(v3); err != nil {
		return err
	}
	if err := setParameterExamples(v3, paramExamples); err != nil {
		return err
	}
	if err := addPropertyExamples(v3); err != nil {
		return err
	}
	if err := v3.Validate(context.Background()); err != nil {
		return fmt.Errorf("the converted document is invalid: %w", err)
	}
	body, err := json.Marshal(v3)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	return os.WriteFile(out, pretty.Bytes(), 0o644)
}
