package contract_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTheRestOfTheAPIThroughThePassThrough drives the operations the proxy
// has no route of its own for through its /v1 pass-through, against the
// sandbox, validating every request and answer in strict mode: each one's
// success and the errors its document declares.
func TestTheRestOfTheAPIThroughThePassThrough(t *testing.T) {
	now := time.Now()
	proxy, _, chk := newSpecProxy(t, func() time.Time { return now })

	do := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, proxy.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sandbox")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	const suites = "/v1/organizations/323/repos/check-suite-settings"
	do("GET", suites+"?repo_id=42", "")
	do("PUT", suites+"?repo_id=42", `{"check_retry_count":5,"ignored_checks":["lint"],"check_retry_counts":{"build":2},"custom_prompts":{"build":"Fix it"},"high_priority_apps":null}`)
	do("GET", suites+"?repo_id=42", "")
	do("GET", suites+"?repo_id=51", "")                                          // another organization's: 422
	do("GET", suites, "")                                                        // 422
	do("PUT", suites+"?repo_id=42", `{"check_retry_count":11}`)                  // 422
	do("GET", "/v1/organizations/999/repos/check-suite-settings?repo_id=42", "") // 422
	do("PATCH", "/v1/organizations/323/repos/42/prs/123450", `{"state":"closed"}`)
	do("PATCH", "/v1/organizations/323/repos/43/prs/123450", `{"state":"open"}`) // success false
	do("PATCH", "/v1/organizations/323/repos/42/prs/123450", `{"state":"merged"}`)
	do("POST", "/v1/organizations/323/setup-commands/generate", `{"repo_id":42,"prompt":null,"trigger_source":"setup-commands"}`)
	do("POST", "/v1/organizations/323/setup-commands/generate", `{"repo_id":51}`) // 404
	do("POST", "/v1/organizations/323/setup-commands/generate", `{}`)             // 422
	do("POST", "/v1/organizations/323/sandbox/42/analyze-logs", "")
	do("POST", "/v1/organizations/323/sandbox/43/analyze-logs", "") // its setup is not complete: 404
	do("POST", "/v1/organizations/999/sandbox/42/analyze-logs", "") // 403
	do("POST", "/v1/organizations/323/sandbox/x/analyze-logs", "")  // 422
	do("GET", "/v1/organizations/323/cli/rules", "")
	do("GET", "/v1/organizations/324/cli/rules", "")
	do("GET", "/v1/organizations/999/cli/rules", "")
	do("GET", "/v1/mcp-providers", "")
	do("GET", "/v1/oauth/tokens/status?org_id=323", "")
	do("POST", "/v1/oauth/tokens/revoke?provider=linear&org_id=323", "")
	do("POST", "/v1/oauth/tokens/revoke?provider=nope&org_id=323", "") // 422
	do("GET", "/v1/oauth/tokens/status?org_id=999", "")                // 422
	do("POST", "/v1/slack-connect/generate-token", `{"org_id":323}`)
	do("POST", "/v1/slack-connect/generate-token", `{"org_id":"x"}`) // 422
	do("GET", "/v1/organizations/323/users/1001", "")                // the current user
	for i := 0; i < 61; i++ {                                        // 60 a 30 s window, then 429
		do("GET", "/v1/organizations/323/cli/rules", "")
	}

	for _, v := range chk.violations {
		t.Error(v)
	}
	want := []string{
		"GET /v1/organizations/{n}/repos/check-suite-settings 200", "GET /v1/organizations/{n}/repos/check-suite-settings 422",
		"PUT /v1/organizations/{n}/repos/check-suite-settings 200", "PUT /v1/organizations/{n}/repos/check-suite-settings 422",
		"PATCH /v1/organizations/{n}/repos/{n}/prs/{n} 200", "PATCH /v1/organizations/{n}/repos/{n}/prs/{n} 422",
		"POST /v1/organizations/{n}/setup-commands/generate 200", "POST /v1/organizations/{n}/setup-commands/generate 404",
		"POST /v1/organizations/{n}/setup-commands/generate 422",
		"POST /v1/organizations/{n}/sandbox/{n}/analyze-logs 200", "POST /v1/organizations/{n}/sandbox/{n}/analyze-logs 403",
		"POST /v1/organizations/{n}/sandbox/{n}/analyze-logs 404", "POST /v1/organizations/{n}/sandbox/x/analyze-logs 422",
		"GET /v1/organizations/{n}/cli/rules 200", "GET /v1/organizations/{n}/cli/rules 403", "GET /v1/organizations/{n}/cli/rules 429",
		"GET /v1/mcp-providers 200", "GET /v1/oauth/tokens/status 200", "GET /v1/oauth/tokens/status 422",
		"POST /v1/oauth/tokens/revoke 200", "POST /v1/oauth/tokens/revoke 422",
		"POST /v1/slack-connect/generate-token 200", "POST /v1/slack-connect/generate-token 422",
		"GET /v1/organizations/{n}/users/{n} 200",
	}
	for _, k := range want {
		if !chk.seen[k] {
			t.Errorf("the pass-through never exercised %s", k)
		}
	}
	if t.Failed() {
		var seen []string
		for k := range chk.seen {
			seen = append(seen, k)
		}
		slices.Sort(seen)
		t.Logf("exercised:\n%s", strings.Join(seen, "\n"))
	}
}
