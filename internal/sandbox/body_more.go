package sandbox

import (
	"net/http"
	"strconv"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// Bounds on the check suite settings the sandbox keeps, so that they stay
// small whatever callers send: entries per list or map, and bytes per check
// name and per prompt.
const (
	maxSuiteEntries = 64
	maxCheckName    = 256
	maxCheckPrompt  = 4096
	maxRetryCount   = 10 // the document's maximum
)

// suitesInput is a decoded CheckSuiteSettingsRequest; a field that is nil
// was absent or null and stays as it is.
type suitesInput struct {
	retryCount  *int
	ignored     []string
	retryCounts map[string]int
	prompts     map[string]string
	highApps    []string
}

func decodeSuites(r *http.Request, v *validation) suitesInput {
	var in suitesInput
	f := decodeObject(r, v)
	if f == nil {
		return in
	}
	f.decode(v, "check_retry_count", false, &in.retryCount, msgInt, "int_type")
	if n := in.retryCount; n != nil && *n < 0 {
		v.add("Input should be greater than or equal to 0", "greater_than_equal", "body", "check_retry_count")
	} else if n != nil && *n > maxRetryCount {
		v.add("Input should be less than or equal to "+strconv.Itoa(maxRetryCount), "less_than_equal", "body", "check_retry_count")
	}
	f.decode(v, "ignored_checks", false, &in.ignored, msgList, "list_type")
	f.decode(v, "check_retry_counts", false, &in.retryCounts, msgDict, "dict_type")
	f.decode(v, "custom_prompts", false, &in.prompts, msgDict, "dict_type")
	f.decode(v, "high_priority_apps", false, &in.highApps, msgList, "list_type")
	boundList(v, "ignored_checks", in.ignored)
	boundList(v, "high_priority_apps", in.highApps)
	if len(in.retryCounts) > maxSuiteEntries {
		v.add(tooLarge("check_retry_counts", maxSuiteEntries)+" (entries)", "value_error", "body", "check_retry_counts")
	}
	for k := range in.retryCounts {
		if len(k) > maxCheckName {
			v.add(tooLarge("A check name", maxCheckName), "value_error", "body", "check_retry_counts", k[:maxCheckName])
		}
	}
	if len(in.prompts) > maxSuiteEntries {
		v.add(tooLarge("custom_prompts", maxSuiteEntries)+" (entries)", "value_error", "body", "custom_prompts")
	}
	for k, p := range in.prompts {
		if len(k) > maxCheckName || len(p) > maxCheckPrompt {
			v.add(tooLarge("A check name", maxCheckName)+", a prompt "+strconv.Itoa(maxCheckPrompt), "value_error", "body", "custom_prompts")
			break
		}
	}
	return in
}

// boundList records a validation error when list is past the bounds.
func boundList(v *validation, name string, list []string) {
	if len(list) > maxSuiteEntries {
		v.add(tooLarge(name, maxSuiteEntries)+" (entries)", "value_error", "body", name)
		return
	}
	for i, s := range list {
		if len(s) > maxCheckName {
			v.add(tooLarge("A check name", maxCheckName), "value_error", "body", name, i)
		}
	}
}

// apply sets in's fields on out.
func (in suitesInput) apply(out *codegen.CheckSuiteSettings) {
	if in.retryCount != nil {
		out.CheckRetryCount = *in.retryCount
	}
	if in.ignored != nil {
		out.IgnoredChecks = in.ignored
	}
	if in.retryCounts != nil {
		out.CheckRetryCounts = in.retryCounts
	}
	if in.prompts != nil {
		out.CustomPrompts = in.prompts
	}
	if in.highApps != nil {
		out.HighPriorityApps = in.highApps
	}
}
