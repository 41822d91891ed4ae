package sandbox

import (
	"strconv"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// middleSteps is how many steps carry a run's work between its plan and its
// end; with the plan and the end a default run takes ten steps.
const middleSteps = 8

// plan returns the steps of a new run acting out sc: it becomes ACTIVE with a
// plan, works through tool calls, and ends with its outcome, or PAUSED for a
// resume.
func plan(sc scenario, prompt string) []step {
	steps := []step{{status: "ACTIVE", logs: []codegen.AgentRunLog{planLog(prompt)}}}
	work := sc.logs - 2
	per := (work + middleSteps - 1) / middleSteps
	for i := 0; i < work; i += per {
		st := step{}
		for j := i; j < i+per && j < work; j++ {
			st.logs = append(st.logs, workLog(j))
		}
		if i == 0 {
			st.status = "RUNNING"
		}
		steps = append(steps, st)
	}
	return append(steps, ending(sc.outcome))
}

// resumed returns the steps of a run resumed with prompt: the user's message
// at once, a little more work, then COMPLETE.
func resumed(prompt string) []step {
	msg := codegen.AgentRunLog{MessageType: ptr("USER_MESSAGE"), Observation: prompt}
	return []step{
		{status: "ACTIVE", logs: []codegen.AgentRunLog{msg}},
		{status: "RUNNING", logs: []codegen.AgentRunLog{workLog(0)}},
		{logs: []codegen.AgentRunLog{workLog(2)}},
		ending("COMPLETE"),
	}
}

// ending is the last step of a run with the given outcome.
func ending(outcome string) step {
	switch outcome {
	case "COMPLETE":
		answer := "I made the requested changes and opened a pull request with them."
		return step{
			status:  "COMPLETE",
			logs:    []codegen.AgentRunLog{{MessageType: ptr("FINAL_ANSWER"), Thought: ptr("The work is done and tested."), Observation: answer}},
			result:  ptr(answer),
			summary: ptr("Implemented the change, added tests, opened a PR."),
			pr:      true,
		}
	case "PAUSED":
		return step{status: "PAUSED", logs: []codegen.AgentRunLog{{
			MessageType: ptr("PLAN_EVALUATION"),
			Thought:     ptr("I need a decision before going on: should the change keep backwards compatibility? Resume the run with your answer."),
		}}}
	}
	why := map[string]string{
		"FAILED":                 "The tests kept failing after three attempts to fix them.",
		"ERROR":                  "The sandbox environment crashed while running the test suite.",
		"CANCELLED":              "The run was cancelled by a user.",
		"STOPPED":                "The run was stopped by a user.",
		"TIMEOUT":                "The run exceeded its time limit.",
		"MAX_ITERATIONS_REACHED": "The agent reached its maximum number of iterations.",
		"OUT_OF_TOKENS":          "The agent ran out of tokens for this run.",
	}[outcome]
	return step{
		status: outcome,
		logs:   []codegen.AgentRunLog{{MessageType: ptr("ERROR"), Observation: map[string]any{"error": why, "status": outcome}}},
		result: ptr(why),
	}
}

func planLog(prompt string) codegen.AgentRunLog {
	if len(prompt) > 80 {
		prompt = prompt[:80] + "..."
	}
	return codegen.AgentRunLog{
		MessageType: ptr("PLAN_EVALUATION"),
		Thought:     ptr("Plan for \"" + prompt + "\": explore the repository, make the change, run the tests, open a PR."),
	}
}

// workLog is the i-th entry of a run's work: mostly tool calls, with a plan
// evaluation every fourth entry.
func workLog(i int) codegen.AgentRunLog {
	if i%4 == 3 {
		return codegen.AgentRunLog{
			MessageType: ptr("PLAN_EVALUATION"),
			Thought:     ptr("Progress check " + strconv.Itoa(i/4+1) + ": the approach holds; continuing."),
		}
	}
	t := tools[i%len(tools)]
	return codegen.AgentRunLog{
		MessageType: ptr("ACTION"),
		ToolName:    ptr(t.name),
		Thought:     ptr(t.thought),
		ToolInput:   t.input,
		ToolOutput:  t.output,
		Observation: map[string]any{"status": "success"},
	}
}

var tools = []struct {
	name, thought string
	input, output map[string]any
}{
	{"ripgrep_search", "Find where the code to change lives.",
		map[string]any{"query": "def fibonacci", "file_extensions": []any{".py"}},
		map[string]any{"matches": 2, "files": []any{"src/mathutil.py", "tests/test_mathutil.py"}}},
	{"view_file", "Read the module before editing it.",
		map[string]any{"filepath": "src/mathutil.py"},
		map[string]any{"lines": 42}},
	{"file_write", "Write the implementation.",
		map[string]any{"filepath": "src/mathutil.py", "content": "def fibonacci(n: int) -> int: ..."},
		map[string]any{"written": true}},
	{"run_command", "Run the tests.",
		map[string]any{"command": "pytest -q"},
		map[string]any{"exit_code": 0, "stdout": "12 passed in 0.41s"}},
	{"create_pr", "Open a pull request with the change.",
		map[string]any{"title": "Add fibonacci", "base": "main"},
		map[string]any{"created": true}},
}
