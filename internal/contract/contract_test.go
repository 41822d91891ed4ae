package contract_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"

	"github.com/codegen-proxy/codegen-proxy/api"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
	"github.com/codegen-proxy/codegen-proxy/internal/server"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// checker validates every exchange with the sandbox against the Codegen
// API's OpenAPI document and notes which operation answered which status.
type checker struct {
	v       validator.Validator
	sandbox http.Handler

	mu         sync.Mutex
	violations []string
	seen       map[string]bool // "GET /v1/users/me 200"
}

func newChecker(t *testing.T, sb http.Handler) *checker {
	t.Helper()
	doc, err := libopenapi.NewDocument(withBetaStop(t, api.CodegenSpec))
	if err != nil {
		t.Fatal(err)
	}
	// Strict mode reports properties the spec does not declare, except
	// inside the free-form objects (metadata, tool input and output).
	v, errs := validator.NewValidator(doc, vconfig.WithStrictMode(), vconfig.WithStrictIgnorePaths(
		"$.body.metadata.**", "$.body.**.metadata.**", "$.body.**.tool_input.**", "$.body.**.tool_output.**", "$.body.**.observation.**",
		"$.body.check_retry_counts.**", "$.body.custom_prompts.**", "$.body[*].meta.**"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return &checker{v: v, sandbox: sb, seen: map[string]bool{}}
}

func (c *checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	check := r.Clone(r.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))

	rec := httptest.NewRecorder()
	c.sandbox.ServeHTTP(rec, r)
	resp := rec.Result()
	respBody := rec.Body.Bytes()

	var problems []string
	if resp.StatusCode != 422 && resp.StatusCode != 401 { // a 422 answers a request that broke the spec on purpose
		if ok, errs := c.v.ValidateHttpRequestSync(check); !ok {
			for _, e := range errs {
				problems = append(problems, "request: "+e.Error()+" "+e.Reason)
			}
		}
	}
	if resp.StatusCode == 401 {
		// The spec declares no 401; the API answers {"message","status_code"}.
		if !bytes.Contains(respBody, []byte(`"message":`)) || !bytes.Contains(respBody, []byte(`"status_code":401`)) {
			problems = append(problems, "401 body: "+string(respBody))
		}
	} else {
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		if ok, errs := c.v.ValidateHttpResponse(check, resp); !ok {
			for _, e := range errs {
				if freeFormAnswers[fmt.Sprintf("%s %s %d", r.Method, pattern(r.URL.Path), resp.StatusCode)] && strings.HasPrefix(e.Reason, "Strict mode") {
					continue // the document leaves these answers open: any object is theirs
				}
				problems = append(problems, fmt.Sprintf("response %d: %s %s", resp.StatusCode, e.Error(), e.Reason))
			}
		}
	}
	key := fmt.Sprintf("%s %s %d", r.Method, pattern(r.URL.Path), resp.StatusCode)
	c.mu.Lock()
	c.seen[key] = true
	for _, p := range problems {
		c.violations = append(c.violations, key+": "+p)
	}
	c.mu.Unlock()

	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(respBody)
}

// freeFormAnswers are the answers whose schema the document leaves open (an
// empty schema, or an object with additionalProperties), which strict mode
// would otherwise hold to no properties at all.
var freeFormAnswers = map[string]bool{
	"PUT /v1/organizations/{n}/repos/check-suite-settings 200": true,
	"GET /v1/oauth/tokens/status 200":                          true,
	"POST /v1/oauth/tokens/revoke 200":                         true,
}

// pattern replaces numbers in a path with {n}, so exchanges group by route.
func pattern(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			parts[i] = "{n}"
		}
	}
	return strings.Join(parts, "/")
}

// newSpecProxy starts the sandbox on clock (rate limits on) behind a
// checker that validates every request and answer against the spec in
// strict mode (upstream), and the real proxy in front of it; both stop at
// cleanup.
func newSpecProxy(t *testing.T, clock func() time.Time) (proxy, upstream *httptest.Server, chk *checker) {
	t.Helper()
	chk = newChecker(t, sandbox.New(sandbox.Options{Now: clock, RateLimits: true}))
	upstream = httptest.NewServer(chk)
	t.Cleanup(upstream.Close)
	cfg, err := config.Load(nil, func(k string) string { return map[string]string{"CODEGEN_BASE_URL": upstream.URL + "/v1"}[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	client := &codegen.Client{BaseURL: cfg.BaseURL, Retries: -1, RequestID: server.RequestID}
	streams := &stream.Hub{Client: client}
	h, err := server.NewServer(server.Deps{Logger: slog.New(slog.DiscardHandler), Config: cfg, Client: client, Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	proxy = httptest.NewServer(h)
	t.Cleanup(func() { proxy.Close(); streams.Close() })
	return proxy, upstream, chk
}

// TestSandboxAndClientHonourTheCodegenSpec drives the real proxy in front of
// the sandbox through every route and failure mode, validating each request
// the proxy's client sends and each answer the sandbox gives.
func TestSandboxAndClientHonourTheCodegenSpec(t *testing.T) {
	now := time.Now()
	proxy, upstream, chk := newSpecProxy(t, func() time.Time { return now })

	do := func(method, path, tok, body string, headers ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, proxy.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	do("GET", "/users/me", "sandbox", "")
	do("GET", "/organizations?page=1&limit=1", "sandbox", "")
	do("GET", "/agent-runs", "sandbox", "") // first-org lookup, then the list
	do("GET", "/agent-runs?status=complete&user_id=1001&source_type=api", "sandbox", "")
	do("GET", "/agent-runs/12345", "sandbox", "")
	do("GET", "/agent-runs/12345/logs?limit=5&reverse=true", "sandbox", "")
	do("GET", "/agent-runs/12345/logs?message_type=ACTION", "sandbox", "")
	do("POST", "/agent-runs", "sandbox", `{"prompt":"Add tests","metadata":{"source":"api","n":[1,{"x":null}]},"repo_id":3,"model":"m","agent_type":"codegen","images":["data:image/png;base64,AA=="]}`)
	do("POST", "/agent-runs", "sandbox", `{"prompt":"Long one sandbox:PAUSED sandbox:logs=150"}`)
	now = now.Add(time.Hour)
	do("GET", "/agent-runs/20001/logs?skip=100", "sandbox", "")
	do("POST", "/agent-runs/20001/resume", "sandbox", `{"prompt":"Go on","images":["data:image/png;base64,AA=="]}`)
	do("GET", "/agent-runs/20000", "sandbox", "")
	// Failure modes.
	do("GET", "/agent-runs/1", "sandbox", "")                                         // 404
	do("POST", "/agent-runs/1/resume", "sandbox", `{"prompt":"x"}`)                   // 404
	do("GET", "/agent-runs/1/logs", "sandbox", "")                                    // 404
	do("GET", "/agent-runs/12345", "sandbox", "", "X-Codegen-Org-Id", "999")          // 403
	do("GET", "/agent-runs", "sandbox", "", "X-Codegen-Org-Id", "999")                // 403
	do("POST", "/agent-runs", "sandbox", `{"prompt":"x"}`, "X-Codegen-Org-Id", "999") // 403
	do("POST", "/agent-runs/1/resume", "sandbox", `{"prompt":"x"}`, "X-Codegen-Org-Id", "999")
	do("GET", "/agent-runs/12345/logs", "sandbox", "", "X-Codegen-Org-Id", "999")
	// Stop, the check actions, the PR edit and the organization reads.
	do("POST", "/agent-runs", "sandbox", `{"prompt":"To be stopped sandbox:logs=50"}`) // 20002, running
	do("POST", "/agent-runs/20002/stop", "sandbox", `{"before_card_order_id":"a0"}`)
	do("POST", "/agent-runs/12345/stop", "sandbox", "") // finished: answered as it is
	do("POST", "/agent-runs/1/stop", "sandbox", "")     // 404
	do("POST", "/agent-runs/1/stop", "sandbox", "", "X-Codegen-Org-Id", "999")
	for _, action := range []string{"ban-checks", "unban-checks", "remove-from-pr"} {
		do("POST", "/agent-runs/12345/"+action, "sandbox", `{"after_card_order_id":"b1"}`)
		do("POST", "/agent-runs/1/"+action, "sandbox", "")
		do("POST", "/agent-runs/1/"+action, "sandbox", "", "X-Codegen-Org-Id", "999")
	}
	do("PATCH", "/pull-requests/123450", "sandbox", `{"state":"closed"}`)
	do("PATCH", "/pull-requests/7", "sandbox", `{"state":"open"}`) // no such PR: success false
	do("GET", "/repositories?page=2&limit=2", "sandbox", "")
	do("GET", "/repositories", "sandbox", "", "X-Codegen-Org-Id", "324")
	do("GET", "/users?limit=1", "sandbox", "")
	do("GET", "/users", "sandbox", "", "X-Codegen-Org-Id", "999")
	do("GET", "/users/1001", "sandbox", "")
	do("GET", "/users/1002", "sandbox", "")
	do("GET", "/users/5", "sandbox", "") // 404
	do("GET", "/users/1001", "sandbox", "", "X-Codegen-Org-Id", "999")
	do("GET", "/integrations", "sandbox", "")
	do("GET", "/integrations", "sandbox", "", "X-Codegen-Org-Id", "999")
	do("POST", "/agent-runs", "sandbox", `{"prompt":"x sandbox:payment_required"}`) // 402
	do("POST", "/agent-runs", "sandbox", `{"prompt":"x sandbox:nonsense"}`)         // 422
	for i := 0; i < 11; i++ {                                                       // 10 creates a minute, then 429
		do("POST", "/agent-runs", "limited", `{"prompt":"x"}`, "X-Codegen-Org-Id", "323")
	}
	for i := 0; i < 61; i++ {
		do("GET", "/agent-runs/12345/logs", "limited", "", "X-Codegen-Org-Id", "323")
	}
	for i := 0; i < 61; i++ {
		do("GET", "/agent-runs/12345", "limited", "", "X-Codegen-Org-Id", "323")
	}
	// The proxy never sends what the spec forbids; these go straight in.
	for _, path := range []string{"/v1/organizations/323/agent/runs?limit=101", "/v1/alpha/organizations/323/agent/run/x/logs", "/v1/organizations/323/repos?limit=0"} {
		req, _ := http.NewRequest("GET", upstream.URL+path, nil)
		req.Header.Set("Authorization", "Bearer sandbox")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest("PATCH", upstream.URL+"/v1/organizations/323/prs/123450", strings.NewReader(`{"state":"merged"}`))
	req.Header.Set("Authorization", "Bearer sandbox")
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	req, _ = http.NewRequest("GET", upstream.URL+"/v1/users/me", nil) // 401
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	for _, v := range chk.violations {
		t.Error(v)
	}
	want := []string{
		"GET /v1/users/me 200", "GET /v1/users/me 401", "GET /v1/organizations 200",
		"GET /v1/organizations/{n}/agent/runs 200", "GET /v1/organizations/{n}/agent/runs 403", "GET /v1/organizations/{n}/agent/runs 422",
		"GET /v1/organizations/{n}/agent/run/{n} 200", "GET /v1/organizations/{n}/agent/run/{n} 403",
		"GET /v1/organizations/{n}/agent/run/{n} 404", "GET /v1/organizations/{n}/agent/run/{n} 429",
		"POST /v1/organizations/{n}/agent/run 200", "POST /v1/organizations/{n}/agent/run 402", "POST /v1/organizations/{n}/agent/run 403",
		"POST /v1/organizations/{n}/agent/run 422", "POST /v1/organizations/{n}/agent/run 429",
		"POST /v1/organizations/{n}/agent/run/resume 200", "POST /v1/organizations/{n}/agent/run/resume 403",
		"POST /v1/organizations/{n}/agent/run/resume 404",
		"GET /v1/alpha/organizations/{n}/agent/run/{n}/logs 200", "GET /v1/alpha/organizations/{n}/agent/run/{n}/logs 403",
		"GET /v1/alpha/organizations/{n}/agent/run/{n}/logs 404", "GET /v1/alpha/organizations/{n}/agent/run/{n}/logs 429",
		"GET /v1/alpha/organizations/{n}/agent/run/x/logs 422",
		"POST /v1/beta/organizations/{n}/agent/run/stop 200", "POST /v1/beta/organizations/{n}/agent/run/stop 403",
		"POST /v1/beta/organizations/{n}/agent/run/stop 404",
		"POST /v1/organizations/{n}/agent/run/ban 200", "POST /v1/organizations/{n}/agent/run/ban 403", "POST /v1/organizations/{n}/agent/run/ban 404",
		"POST /v1/organizations/{n}/agent/run/unban 200", "POST /v1/organizations/{n}/agent/run/unban 403", "POST /v1/organizations/{n}/agent/run/unban 404",
		"POST /v1/organizations/{n}/agent/run/remove-from-pr 200", "POST /v1/organizations/{n}/agent/run/remove-from-pr 403",
		"POST /v1/organizations/{n}/agent/run/remove-from-pr 404",
		"PATCH /v1/organizations/{n}/prs/{n} 200", "PATCH /v1/organizations/{n}/prs/{n} 422",
		"GET /v1/organizations/{n}/repos 200", "GET /v1/organizations/{n}/repos 422",
		"GET /v1/organizations/{n}/users 200", "GET /v1/organizations/{n}/users 403",
		"GET /v1/organizations/{n}/users/{n} 200", "GET /v1/organizations/{n}/users/{n} 403", "GET /v1/organizations/{n}/users/{n} 404",
		"GET /v1/organizations/{n}/integrations 200", "GET /v1/organizations/{n}/integrations 403",
	}
	for _, k := range want {
		if !chk.seen[k] {
			t.Errorf("the contract test never exercised %s", k)
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

// TestSpecCopyMatchesTheSharedReference keeps api/codegen-openapi3.json equal
// to the reference it was copied from, where that reference is present.
func TestSpecCopyMatchesTheSharedReference(t *testing.T) {
	ref, err := os.ReadFile("../../../shared/reference/codegen-openapi3.json")
	if os.IsNotExist(err) {
		t.Skip("../shared is not beside the checkout")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref, api.CodegenSpec) {
		t.Error("api/codegen-openapi3.json differs from ../shared/reference/codegen-openapi3.json: copy it again")
	}
}
