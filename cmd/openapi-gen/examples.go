package main

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi3"
)

// errorSchema is the error envelope every error answer has.
const errorSchema = "#/components/schemas/ErrorResponse"

// errorExamples are the example envelopes of each error status, as the
// server writes them (internal/server/errors.go and the handlers). Without
// them every error shows the envelope schema's one example, a 401.
var errorExamples = map[int]struct{ code, message string }{
	http.StatusBadRequest:            {"invalid_request", "limit must be an integer from 1 to 100"},
	http.StatusUnauthorized:          {"unauthorized", "missing bearer token: send Authorization: Bearer <your Codegen API token>"},
	http.StatusPaymentRequired:       {"payment_required", "Alloted agent runs for the current billing plan have been reached. Please upgrade your plan to continue."},
	http.StatusForbidden:             {"forbidden", "You do not have access to this organization."},
	http.StatusNotFound:              {"not_found", "Agent run not found."},
	http.StatusRequestTimeout:        {"request_timeout", "request body stopped arriving: send it at once, with its Content-Length"},
	http.StatusRequestEntityTooLarge: {"body_too_large", "request body is over the 33554432-byte limit"},
	http.StatusUnsupportedMediaType:  {"unsupported_media_type", "request body must be JSON (Content-Type: application/json)"},
	http.StatusUnprocessableEntity:   {"filter_scan_limit", "the filter read the newest 1000 records without filling this page; narrow it (user_id, source_type) or ask for an earlier page"},
	http.StatusTooManyRequests:       {"rate_limited", "Rate limit exceeded. Please try again later."},
	http.StatusBadGateway:            {"upstream_error", "the Codegen API could not be reached or gave an unusable answer"},
	http.StatusServiceUnavailable:    {"shutting_down", "the server is shutting down: reconnect"},
	http.StatusGatewayTimeout:        {"upstream_timeout", "the Codegen API did not answer in time"},
}

// fixErrorResponses declares every error answer in the envelope as JSON,
// whatever the operation produces on success (the log stream's errors are
// JSON, not text/event-stream), with an example of its own status.
func fixErrorResponses(doc *openapi3.T) error {
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, resp := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil || status < 400 || resp.Value == nil {
					continue
				}
				schema := envelope(resp.Value.Content)
				if schema == nil {
					continue
				}
				ex, ok := errorExamples[status]
				if !ok {
					return fmt.Errorf("%s %s answers %d: add its example to errorExamples", method, path, status)
				}
				mt := openapi3.NewMediaType().WithSchemaRef(schema)
				mt.Example = map[string]any{"error": ex.message, "status_code": status, "request_id": "3f2b8c1e-9d4a-4e6b-8a57-0c1d2e3f4a5b", "code": ex.code}
				resp.Value.Content = openapi3.Content{"application/json": mt}
			}
		}
	}
	return nil
}

// envelope returns the schema of a response's content when it is the error
// envelope, else nil.
func envelope(c openapi3.Content) *openapi3.SchemaRef {
	for _, mt := range c {
		if mt.Schema != nil && mt.Schema.Ref == errorSchema {
			return mt.Schema
		}
	}
	return nil
}

// propertyExamples are the examples swag's example tag cannot write: it
// splits its value at commas, so a data URI cannot be one, and it types an
// object's values all alike. A schema's sample request (Swagger UI's "Try it
// out") is built from these, so each must be accepted by the sandbox.
var propertyExamples = map[string]map[string]any{
	"CreateAgentRunRequest": {
		"images":   []any{onePixelPNG},
		"metadata": map[string]any{"priority": "high", "source": "api", "ticket": 4521, "labels": []any{"docs"}},
	},
	"ResumeAgentRunRequest": {"images": []any{onePixelPNG}},
	"AgentRunResponse":      {"metadata": map[string]any{"source": "api"}},
}

// onePixelPNG is a 1x1 PNG image as a base64 data URI.
const onePixelPNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

func addPropertyExamples(doc *openapi3.T) error {
	for name, props := range propertyExamples {
		s := doc.Components.Schemas[name]
		if s == nil || s.Value == nil {
			return fmt.Errorf("propertyExamples names schema %s, which the document lacks", name)
		}
		for prop, ex := range props {
			p := s.Value.Properties[prop]
			if p == nil || p.Value == nil {
				return fmt.Errorf("propertyExamples names %s.%s, which the document lacks", name, prop)
			}
			p.Value.Example = ex
		}
	}
	return nil
}

// paramExample is the example of one parameter of one operation.
type paramExample struct {
	path, method, in, name string
	example                any
}

// parameterExamples returns the examples swag gave parameters. It must run
// before the conversion, which drops them from the Swagger 2.0 document it
// reads.
func parameterExamples(v2 *openapi2.T) []paramExample {
	var out []paramExample
	for path, item := range v2.Paths {
		for method, op := range item.Operations() {
			for _, p := range op.Parameters {
				if ex, ok := p.Extensions["example"]; ok && p.In != "body" {
					out = append(out, paramExample{path, method, p.In, p.Name, ex})
				}
			}
		}
	}
	return out
}

// setParameterExamples puts the examples into the OpenAPI 3 document, where
// Swagger UI fills "Try it out" with them (a run id of the sandbox, say).
func setParameterExamples(v3 *openapi3.T, examples []paramExample) error {
	for _, e := range examples {
		p := v3.Paths.Find(e.path).GetOperation(e.method).Parameters.GetByInAndName(e.in, e.name)
		if p == nil {
			return fmt.Errorf("%s %s: parameter %s in %s is lost in the conversion", e.method, e.path, e.name, e.in)
		}
		p.Example = e.example
	}
	return nil
}
