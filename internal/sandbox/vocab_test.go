package sandbox

import "testing"

// TestVocabularyComesFromCodegen checks the sandbox's use of the API's
// vocabulary, which it takes from internal/codegen: the API's own message
// for a bad source type, and the outcomes a prompt may script.
func TestVocabularyComesFromCodegen(t *testing.T) {
	t.Parallel()
	const want = "Input should be 'LOCAL', 'SLACK', 'GITHUB', 'GITHUB_CHECK_SUITE', 'GITHUB_PR_REVIEW', 'LINEAR', 'API', 'CHAT', 'JIRA', 'CLICKUP', 'MONDAY' or 'SETUP_COMMANDS'"
	if got := sourceTypeMessage(); got != want {
		t.Errorf("source type message\n %s\nwant\n %s", got, want)
	}
	for s, want := range map[string]bool{"API": true, "GITHUB_PR_REVIEW": true, "api": false, "EMAIL": false, "": false} {
		if got := validSource(s); got != want {
			t.Errorf("validSource(%q) = %v, want %v", s, got, want)
		}
	}
	for d, want := range map[string]string{"failed": "FAILED", "Out_Of_Tokens": "OUT_OF_TOKENS", "PAUSED": "PAUSED",
		"payment_required": "PAYMENT_REQUIRED", "RUNNING": "", "COMPLETED": ""} {
		if got, ok := outcome(d); got != want || ok != (want != "") {
			t.Errorf("outcome(%q) = %q, %v; want %q", d, got, ok, want)
		}
	}
}
