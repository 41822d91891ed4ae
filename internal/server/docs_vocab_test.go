package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/docs"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// TestDocumentedValuesAreTheVocabulary checks that the values the swag
// annotations list (swag needs literals) are internal/codegen's.
func TestDocumentedValuesAreTheVocabulary(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, Description string
				Schema            struct{ Enum []string }
			}
		}
	}
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	param := func(path, name string) (description string, enum []string) {
		for _, p := range doc.Paths[path]["get"].Parameters {
			if p.Name == name {
				return p.Description, p.Schema.Enum
			}
		}
		t.Fatalf("GET %s has no parameter %s", path, name)
		return "", nil
	}
	var schemas struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct{ Enum []string }
			}
		}
	}
	if err := json.Unmarshal(docs.OpenAPI, &schemas); err != nil {
		t.Fatal(err)
	}
	if enum := schemas.Components.Schemas["CreateAgentRunRequest"].Properties["agent_type"].Enum; !slices.Equal(enum, codegen.AgentTypes()) {
		t.Errorf("agent_type's documented values %v, want %v", enum, codegen.AgentTypes())
	}
	if _, enum := param("/agent-runs", "source_type"); !slices.Equal(enum, codegen.SourceTypes()) {
		t.Errorf("source_type's documented values %v, want %v", enum, codegen.SourceTypes())
	}
	for _, tt := range []struct {
		path, name string
		values     []string
	}{
		{"/agent-runs", "status", codegen.RunStatuses()},
		{"/agent-runs/{id}/logs", "message_type", codegen.MessageTypes()},
	} {
		if d, _ := param(tt.path, tt.name); !strings.Contains(d, " of "+strings.Join(tt.values, ", ")+" (") {
			t.Errorf("%s's description %q does not list %v", tt.name, d, tt.values)
		}
	}
}
