package codegen

import "slices"

// The Codegen API's vocabulary: the values its runs and logs take. This is
// the one place that lists them; the proxy's checks, its stream and the
// sandbox all ask here. Names are upper case as the API sends them, and every
// lookup ignores case. The lists are fixed: callers get copies.

// runStatuses are the statuses of AgentRunResponse.status, live ones first.
var runStatuses = []string{
	"ACTIVE", "RUNNING", "PENDING", "EVALUATION", "PAUSED",
	"COMPLETE", "ERROR", "FAILED", "CANCELLED", "STOPPED", "TIMEOUT", "MAX_ITERATIONS_REACHED", "OUT_OF_TOKENS",
}

// terminalStatuses are the statuses after which a run writes no more logs.
// PAUSED is not one: a paused run goes on when it is resumed.
var terminalStatuses = []string{
	"COMPLETE", "ERROR", "FAILED", "CANCELLED", "STOPPED", "TIMEOUT", "MAX_ITERATIONS_REACHED", "OUT_OF_TOKENS",
}

// sourceTypes are the spec's ApiAgentRunSourceType values.
var sourceTypes = []string{
	"LOCAL", "SLACK", "GITHUB", "GITHUB_CHECK_SUITE", "GITHUB_PR_REVIEW",
	"LINEAR", "API", "CHAT", "JIRA", "CLICKUP", "MONDAY", "SETUP_COMMANDS",
}

// messageTypes are the values of AgentRunLogResponse.message_type, as the
// Codegen API's documentation of agent run logs lists them (its OpenAPI
// document types the field as a plain string).
var messageTypes = []string{
	"ACTION", "PLAN_EVALUATION", "FINAL_ANSWER", "ERROR", "USER_MESSAGE", "USER_GITHUB_ISSUE_COMMENT",
	"INITIAL_PR_GENERATION", "DETECT_PR_ERRORS", "FIX_PR_ERRORS", "PR_CREATION_FAILED", "PR_EVALUATION",
	"COMMIT_EVALUATION", "AGENT_RUN_LINK",
}

// agentTypes are the spec's CreateAgentRunInput.agent_type values. Unlike the
// names above they are lower case, and matched exactly, as the API does.
var agentTypes = []string{"codegen", "claude_code"}

// AgentTypes returns the agent types a run can be created with.
func AgentTypes() []string { return slices.Clone(agentTypes) }

// IsAgentType reports whether s is one of AgentTypes, exactly.
func IsAgentType(s string) bool { return slices.Contains(agentTypes, s) }

// RunStatuses returns every run status, live ones first.
func RunStatuses() []string { return slices.Clone(runStatuses) }

// TerminalStatuses returns the statuses after which a run writes no more
// logs.
func TerminalStatuses() []string { return slices.Clone(terminalStatuses) }

// SourceTypes returns the source types a run can have.
func SourceTypes() []string { return slices.Clone(sourceTypes) }

// MessageTypes returns the message types a log entry can have.
func MessageTypes() []string { return slices.Clone(messageTypes) }

// IsTerminal reports whether status, in any case, ends a run.
func IsTerminal(status string) bool {
	_, ok := lookup(terminalStatuses, status)
	return ok
}

// ParseStatus returns s, in any case, as the run status it names, upper
// case; ok is false when it names none.
func ParseStatus(s string) (status string, ok bool) { return lookup(runStatuses, s) }

// ParseSourceType returns s, in any case, as the source type it names.
func ParseSourceType(s string) (sourceType string, ok bool) { return lookup(sourceTypes, s) }

// ParseMessageType returns s, in any case, as the log message type it names.
func ParseMessageType(s string) (messageType string, ok bool) { return lookup(messageTypes, s) }

// lookup finds s in names, ignoring ASCII case only (strings.EqualFold would
// also take the Kelvin sign for a K), without allocating.
func lookup(names []string, s string) (string, bool) {
	for _, n := range names {
		if len(n) == len(s) && upperASCII(s, n) {
			return n, true
		}
	}
	return "", false
}

// upperASCII reports whether s upper-cased in ASCII is upper, which has the
// same length.
func upperASCII(s, upper string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}
