package sandbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// A scenario is how a created run will behave. Callers choose one with
// metadata keys or words in the prompt:
//
//	metadata {"sandbox_outcome": "FAILED", "sandbox_logs": 300, "sandbox_step": "50ms"}
//	prompt   "Fix the bug sandbox:FAILED sandbox:logs=300 sandbox:step=50ms"
//
// The outcome is a terminal status (codegen.TerminalStatuses; COMPLETE is
// the default), PAUSED (the run waits for a resume), or PAYMENT_REQUIRED
// (creation is refused with 402, as when a plan's runs are used up).
type scenario struct {
	outcome string
	logs    int           // log entries the run produces
	step    time.Duration // zero: the sandbox's default
}

const (
	defaultLogs = 10
	minLogs     = 3 // a plan, one action and the final entry
)

// outcome returns the outcome d names, in any case: a terminal status,
// PAUSED or PAYMENT_REQUIRED.
func outcome(d string) (string, bool) {
	if o := strings.ToUpper(d); codegen.IsTerminal(o) || o == "PAUSED" || o == "PAYMENT_REQUIRED" {
		return o, true
	}
	return "", false
}

// parseScenario reads the scenario of a run from its prompt and metadata;
// metadata wins. An unknown directive is an error, so typos do not pass
// silently.
func parseScenario(prompt string, metadata map[string]any) (scenario, error) {
	sc := scenario{outcome: "COMPLETE", logs: defaultLogs}
	for _, word := range strings.Fields(prompt) {
		if d, ok := strings.CutPrefix(word, "sandbox:"); ok {
			if err := sc.set(d); err != nil {
				return sc, err
			}
		}
	}
	for key, name := range map[string]string{"sandbox_outcome": "", "sandbox_logs": "logs=", "sandbox_step": "step="} {
		if v, ok := metadata[key]; ok {
			if err := sc.set(name + fmt.Sprint(v)); err != nil {
				return sc, fmt.Errorf("metadata %s: %w", key, err)
			}
		}
	}
	return sc, nil
}

// set applies one directive: an outcome, logs=N or step=DURATION.
func (sc *scenario) set(d string) error {
	switch {
	case strings.HasPrefix(d, "logs="):
		n, err := strconv.Atoi(strings.TrimPrefix(d, "logs="))
		if err != nil || n < minLogs || n > maxLogsPerRun {
			return fmt.Errorf("sandbox logs must be an integer from %d to %d", minLogs, maxLogsPerRun)
		}
		sc.logs = n
	case strings.HasPrefix(d, "step="):
		v := strings.TrimPrefix(d, "step=")
		dur, err := time.ParseDuration(v)
		if ms, numErr := strconv.Atoi(v); numErr == nil { // a bare number means milliseconds
			dur, err = time.Duration(ms)*time.Millisecond, nil
		}
		if err != nil || dur < time.Millisecond || dur > time.Hour {
			return fmt.Errorf("sandbox step must be a duration from 1ms to 1h")
		}
		sc.step = dur
	default:
		o, ok := outcome(d)
		if !ok {
			return fmt.Errorf("unknown sandbox outcome %q", d)
		}
		sc.outcome = o
	}
	return nil
}
