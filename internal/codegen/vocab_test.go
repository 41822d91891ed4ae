package codegen

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

func TestSourceTypesAreTheSpecs(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../api/codegen-openapi3.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas struct {
				SourceType struct {
					Enum []string `json:"enum"`
				} `json:"ApiAgentRunSourceType"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if got, want := SourceTypes(), spec.Components.Schemas.SourceType.Enum; !slices.Equal(got, want) {
		t.Errorf("SourceTypes() = %v, want the spec's ApiAgentRunSourceType %v", got, want)
	}
}

func TestTerminalStatuses(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]bool{
		"COMPLETE": true, "complete": true, "Failed": true, "error": true, "CANCELLED": true, "stopped": true,
		"TIMEOUT": true, "max_iterations_reached": true, "OUT_OF_TOKENS": true,
		"ACTIVE": false, "running": false, "PENDING": false, "EVALUATION": false, "PAUSED": false, "": false,
		"COMPLETED": false, "\u212aILLED": false,
	} {
		if got := IsTerminal(status); got != want {
			t.Errorf("IsTerminal(%q) = %v, want %v", status, got, want)
		}
	}
	for _, s := range TerminalStatuses() {
		if !slices.Contains(RunStatuses(), s) {
			t.Errorf("terminal status %s is not a run status", s)
		}
	}
}

func TestParseIgnoresASCIICaseOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		parse          func(string) (string, bool)
	}{
		{"status", "paused", "PAUSED", ParseStatus},
		{"status mixed case", "Max_Iterations_Reached", "MAX_ITERATIONS_REACHED", ParseStatus},
		{"status unknown", "completed", "", ParseStatus},
		{"status, Kelvin sign for K", "stopped\u212a", "", ParseStatus},
		{"status, long s for S", "\u017ftopped", "", ParseStatus},
		{"source type", "github_pr_review", "GITHUB_PR_REVIEW", ParseSourceType},
		{"source type unknown", "EMAIL", "", ParseSourceType},
		{"message type", "final_answer", "FINAL_ANSWER", ParseMessageType},
		{"message type unknown", "THOUGHT", "", ParseMessageType},
		{"empty", "", "", ParseMessageType},
	}
	for _, tt := range tests {
		got, ok := tt.parse(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: parse(%q) = %q, %v; want %q", tt.name, tt.in, got, ok, tt.want)
		}
	}
}

func TestVocabularyListsAreCopies(t *testing.T) {
	t.Parallel()
	s := RunStatuses()
	s[0] = "CHANGED"
	if RunStatuses()[0] == "CHANGED" {
		t.Error("RunStatuses returned the package's own slice")
	}
}
