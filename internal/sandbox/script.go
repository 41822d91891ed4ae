package sandbox

import (
	"strconv"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// middleSteps is how many steps carry a run's work between its plan and its
// end; with the plan and the end a default run takes ten steps.
const middleSteps = 8

// An episode is one script a run acts out, its plan or one resume, kept as
// the few facts its steps and log entries are computed from: a run's memory
// does not grow with its logs. The zero value is not useful; make one with
// plan or resumed.
type episode struct {
	start   time.Time     // when step 0 applies
	every   time.Duration // time between steps
	resume  bool          // a resume rather than a plan
	text    string        // the plan's quote of the prompt, or the resume's prompt
	outcome string        // how it ends
	work    int           // a plan's work entries
	applied int           // steps applied so far
	first   int           // position in the run's logs of its first entry
	shown   int           // entries it adds to the run's logs, within maxLogsPerRun
}

// plan returns the episode of a new run acting out sc from start: it
// becomes ACTIVE with a plan, works through tool calls, and ends with its
// outcome, or PAUSED for a resume.
func plan(sc scenario, prompt string, start time.Time, every time.Duration) episode {
	if len(prompt) > 80 {
		prompt = prompt[:80] + "..." // a copy: the episode keeps no caller's body
	}
	return episode{start: start, every: every, text: prompt, outcome: sc.outcome, work: sc.logs - 2}
}

// resumed returns the episode of a run resumed with prompt at start: the
// user's message at once, a little more work, then COMPLETE.
func resumed(prompt string, start time.Time, every time.Duration) episode {
	return episode{start: start, every: every, resume: true, text: prompt, outcome: "COMPLETE"}
}

// per is how many work entries each middle step of a plan carries.
func (e *episode) per() int { return (e.work + middleSteps - 1) / middleSteps }

// steps is how many steps the episode has.
func (e *episode) steps() int {
	if e.resume {
		return 4
	}
	return 2 + (e.work+e.per()-1)/e.per()
}

// at is when step k applies.
func (e *episode) at(k int) time.Time { return e.start.Add(time.Duration(k) * e.every) }

// due is how many of the episode's steps are due by now.
func (e *episode) due(now time.Time) int {
	if now.Before(e.start) {
		return 0
	}
	return int(min(int64(e.steps()), int64(now.Sub(e.start)/e.every)+1))
}

// step returns what step k changes besides adding log entries.
func (e *episode) step(k int) step {
	switch {
	case k == e.steps()-1:
		st, _ := ending(e.outcome)
		return st
	case k == 0:
		return step{status: "ACTIVE"}
	case k == 1:
		return step{status: "RUNNING"}
	}
	return step{}
}

// produced is how many log entries the episode's first n steps make.
func (e *episode) produced(n int) int {
	switch {
	case e.resume, n == 0:
		return n
	case n == e.steps():
		return e.work + 2
	}
	return 1 + min(e.work, (n-1)*e.per())
}

// stepOf returns the step that makes the episode's i-th log entry.
func (e *episode) stepOf(i int) int {
	switch {
	case e.resume, i == 0:
		return i
	case i <= e.work:
		return 1 + (i-1)/e.per()
	}
	return e.steps() - 1
}

// entry returns the episode's i-th log entry, without its run id and time.
func (e *episode) entry(i int) codegen.AgentRunLog {
	switch {
	case e.resume && i == 0:
		return codegen.AgentRunLog{MessageType: ptr("USER_MESSAGE"), Observation: e.text}
	case e.resume && i < 3:
		return workLog(2 * (i - 1)) // the first and third of a plan's work
	case i == 0:
		return planLog(e.text)
	case i <= e.work:
		return workLog(i - 1)
	}
	_, l := ending(e.outcome)
	return l
}

// step is what one step of a run changes besides its logs: a new status
// and, for a final step, the run's result.
type step struct {
	status string // "" keeps the current status
	result *string
	// summary and pr are set on a successful final step.
	summary *string
	pr      bool
}

// ending is the last step of a run with the given outcome and the log
// entry it makes.
func ending(outcome string) (step, codegen.AgentRunLog) {
	switch outcome {
	case "COMPLETE":
		answer := "I made the requested changes and opened a pull request with them."
		return step{
				status:  "COMPLETE",
				result:  ptr(answer),
				summary: ptr("Implemented the change, added tests, opened a PR."),
				pr:      true,
			},
			codegen.AgentRunLog{MessageType: ptr("FINAL_ANSWER"), Thought: ptr("The work is done and tested."), Observation: answer}
	case "PAUSED":
		return step{status: "PAUSED"}, codegen.AgentRunLog{
			MessageType: ptr("PLAN_EVALUATION"),
			Thought:     ptr("I need a decision before going on: should the change keep backwards compatibility? Resume the run with your answer."),
		}
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
	return step{status: outcome, result: ptr(why)},
		codegen.AgentRunLog{MessageType: ptr("ERROR"), Observation: map[string]any{"error": why, "status": outcome}}
}

// planLog is a plan's first entry, quoting (the start of) its prompt.
func planLog(quote string) codegen.AgentRunLog {
	return codegen.AgentRunLog{
		MessageType: ptr("PLAN_EVALUATION"),
		Thought:     ptr("Plan for \"" + quote + "\": explore the repository, make the change, run the tests, open a PR."),
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
