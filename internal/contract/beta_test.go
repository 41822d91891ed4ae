package contract_test

import (
	"encoding/json"
	"testing"
)

// betaStopPath is the API's stop operation, which its clients call but its
// OpenAPI document does not list.
const betaStopPath = "/v1/beta/organizations/{org_id}/agent/run/stop"

// withBetaStop returns spec with the beta stop operation added, so that the
// checker validates its exchanges in strict mode like any other: its body
// is the document's StopAgentRunInput, its answer the AgentRunResponse the
// official clients read, and its errors those of the other run operations.
func withBetaStop(t *testing.T, spec []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	ref := func(name string) map[string]any {
		return map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + name}}}
	}
	answer := func(desc, schema string) map[string]any {
		return map[string]any{"description": desc, "content": ref(schema)}
	}
	paths := doc["paths"].(map[string]any)
	if _, ok := paths[betaStopPath]; ok {
		t.Fatalf("the document now lists %s: drop withBetaStop", betaStopPath)
	}
	paths[betaStopPath] = map[string]any{"post": map[string]any{
		"operationId": "stop_agent_run_v1_beta_organizations__org_id__agent_run_stop_post",
		"parameters": []any{
			map[string]any{"name": "org_id", "in": "path", "required": true, "schema": map[string]any{"type": "integer"}},
			map[string]any{"name": "authorization", "in": "header", "required": false, "schema": map[string]any{}},
		},
		"requestBody": map[string]any{"required": true, "content": ref("StopAgentRunInput")},
		"responses": map[string]any{
			"200": answer("Successful Response", "AgentRunResponse"),
			"403": answer("Forbidden", "PermissionsErrorResponse"),
			"404": answer("Not Found", "AgentRunNotFoundErrorResponse"),
			"422": answer("Validation Error", "HTTPValidationError"),
			"429": answer("Too Many Requests", "APIRateLimitErrorResponse"),
		},
	}}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
