package server

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/docs"
)

// schemaDoc is the part of an OpenAPI document these tests read.
type schemaDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]propSchema `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

// propSchema is a property of a schema, in OpenAPI 3.0 (nullable) or 3.1
// (anyOf with a null type) terms.
type propSchema struct {
	Type                 any             `json:"type"`
	Nullable             bool            `json:"nullable"`
	AnyOf                []propSchema    `json:"anyOf"`
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
}

// canBeNull reports whether the property admits null: nullable in 3.0, a
// null member of anyOf in 3.1.
func (p propSchema) canBeNull() bool {
	for _, a := range p.AnyOf {
		if a.Type == "null" {
			return true
		}
	}
	return p.Nullable
}

func readSchemaDoc(t *testing.T, b []byte) schemaDoc {
	t.Helper()
	var d schemaDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestNullableFieldsAreMarkedAsTheCodegenAPIMarksThem compares, property by
// property, the schemas the proxy shares with the Codegen API against the
// API's own document: a field the API may send as null is nullable here, and
// one it never sends as null is not. SDK generators turn nullable into
// optional types; without it they crash or lie on the first null.
func TestNullableFieldsAreMarkedAsTheCodegenAPIMarksThem(t *testing.T) {
	t.Parallel()
	upstreamSpec, err := os.ReadFile("../../api/codegen-openapi3.json")
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := readSchemaDoc(t, docs.OpenAPI), readSchemaDoc(t, upstreamSpec)
	// The proxy's request bodies are its own names for the API's inputs.
	names := map[string]string{"CreateAgentRunRequest": "CreateAgentRunInput", "ResumeAgentRunRequest": "ResumeAgentRunInput"}
	compared := 0
	for name, s := range ours.Components.Schemas {
		upName := name
		if n, ok := names[name]; ok {
			upName = n
		}
		up, ok := theirs.Components.Schemas[upName]
		if !ok {
			continue
		}
		for prop, p := range s.Properties {
			u, ok := up.Properties[prop]
			if !ok {
				t.Errorf("%s.%s is not in the Codegen API's %s", name, prop, upName)
				continue
			}
			compared++
			if p.Type == nil {
				continue // no type: any JSON value, null included
			}
			if got, want := p.canBeNull(), u.canBeNull(); got != want {
				t.Errorf("%s.%s: nullable %v, the Codegen API says %v (tag the field extensions:\"x-nullable\")", name, prop, got, want)
			}
		}
	}
	if compared < 40 {
		t.Errorf("compared %d properties with the Codegen API's document, want at least 40", compared)
	}
}

// TestMetadataTakesAnyJSON checks that no metadata property restricts its
// values (to strings, say): the API stores any JSON object.
func TestMetadataTakesAnyJSON(t *testing.T) {
	t.Parallel()
	d := readSchemaDoc(t, docs.OpenAPI)
	seen := 0
	for name, s := range d.Components.Schemas {
		p, ok := s.Properties["metadata"]
		if !ok {
			continue
		}
		seen++
		if p.Type != "object" || (len(p.AdditionalProperties) > 0 && string(p.AdditionalProperties) != "{}" && string(p.AdditionalProperties) != "true") {
			t.Errorf("%s.metadata is type %v with additionalProperties %s, want an object of any values", name, p.Type, p.AdditionalProperties)
		}
	}
	if seen < 3 {
		t.Errorf("found metadata in %d schemas, want 3 (create request, run, run with logs)", seen)
	}
}

// TestErrorAnswersAreJSONWithAnExampleOfTheirStatus checks every error
// answer of every operation: it is declared as application/json (the log
// stream's errors too) and its example carries its own status.
func TestErrorAnswersAreJSONWithAnExampleOfTheirStatus(t *testing.T) {
	t.Parallel()
	type mediaType struct {
		Schema  struct{ Ref string } `json:"schema"`
		Example *envelope            `json:"example"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]mediaType `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	codes := map[int]string{}
	for path, item := range doc.Paths {
		for method, op := range item {
			for code, resp := range op.Responses {
				status, _ := strconv.Atoi(code)
				if status < 400 || code == "503" && path == "/ready" {
					continue
				}
				mt, ok := resp.Content["application/json"]
				if len(resp.Content) != 1 || !ok {
					t.Errorf("%s %s %s: content types %v, want application/json only", method, path, code, keys(resp.Content))
					continue
				}
				if mt.Example == nil || mt.Example.StatusCode != status || mt.Example.Code == "" || mt.Example.Error == "" {
					t.Errorf("%s %s %s: example %+v, want an envelope with status_code %d", method, path, code, mt.Example, status)
					continue
				}
				if c, ok := codes[status]; ok && c != mt.Example.Code {
					t.Errorf("%d has examples with codes %s and %s", status, c, mt.Example.Code)
				}
				codes[status] = mt.Example.Code
			}
		}
	}
	if len(codes) < 10 {
		t.Errorf("error examples for %d statuses, want at least 10", len(codes))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
