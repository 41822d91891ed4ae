package apiclienttest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codegen-proxy/codegen-proxy/docs"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
	"github.com/codegen-proxy/codegen-proxy/internal/server"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startProxy serves the proxy in sandbox mode, wired as cmd/codegen-proxy
// wires it, on loopback listeners, and returns its URL.
func startProxy(t *testing.T) string {
	t.Helper()
	sb := httptest.NewServer(sandbox.New(sandbox.Options{Step: 10 * time.Millisecond}))
	t.Cleanup(sb.Close)
	cfg, err := config.Load([]string{"--sandbox"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	client := &codegen.Client{BaseURL: sb.URL + "/v1", Timeout: cfg.UpstreamTimeout, RequestID: server.RequestID}
	logger := slog.New(slog.DiscardHandler)
	streams := &stream.Hub{Client: client, Interval: 20 * time.Millisecond, Budget: cfg.LogsBudget, Logger: logger}
	h, err := server.NewServer(server.Deps{
		Logger: logger, Config: cfg, Client: client, Streams: streams, Version: "test", Started: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h)
	t.Cleanup(func() {
		proxy.Close()
		streams.Close()
	})
	return proxy.URL
}

// want2xx fails the test unless the answer is a 2xx.
func want2xx(t *testing.T, op string, resp *http.Response, body []byte, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s: status %d, body %s", op, resp.StatusCode, body)
	}
}

// TestTheGeneratedClientDrivesEveryOperation calls every operation of
// docs/openapi.json through the client oapi-codegen generated from it, and
// checks each answer decodes into the generated types.
func TestTheGeneratedClientDrivesEveryOperation(t *testing.T) {
	ctx := context.Background()
	c, err := NewClientWithResponses(startProxy(t), WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer sandbox")
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ptr := func(v int) *int { return &v }
	var called []string
	call := func(op string) { called = append(called, op) }

	call("getCurrentUser")
	me, err := c.GetCurrentUserWithResponse(ctx, nil)
	want2xx(t, "getCurrentUser", me.HTTPResponse, me.Body, err)
	if me.JSON200 == nil || me.JSON200.Id == nil || *me.JSON200.Id != 1001 || me.JSON200.AvatarUrl != nil {
		t.Errorf("getCurrentUser decoded %+v, want user 1001 with a null avatar_url", me.JSON200)
	}

	call("listOrganizations")
	orgs, err := c.ListOrganizationsWithResponse(ctx, &ListOrganizationsParams{Limit: ptr(10)})
	want2xx(t, "listOrganizations", orgs.HTTPResponse, orgs.Body, err)
	if orgs.JSON200 == nil || orgs.JSON200.Items == nil || len(*orgs.JSON200.Items) != 2 {
		t.Errorf("listOrganizations decoded %+v, want two organizations", orgs.JSON200)
	}

	call("createAgentRun")
	meta := map[string]any{"ticket": 4521, "labels": []any{"docs"}}
	created, err := c.CreateAgentRunWithResponse(ctx, &CreateAgentRunParams{XCodegenOrgId: ptr(323)}, CreateAgentRunJSONRequestBody{
		Prompt: "Create a Python function to calculate fibonacci numbers", Metadata: &meta,
	})
	want2xx(t, "createAgentRun", created.HTTPResponse, created.Body, err)
	if created.JSON200 == nil || created.JSON200.Id == nil || created.JSON200.Result != nil {
		t.Fatalf("createAgentRun decoded %+v, want a new run with a null result", created.JSON200)
	}
	id := *created.JSON200.Id

	call("getAgentRun")
	run, err := c.GetAgentRunWithResponse(ctx, id, nil)
	want2xx(t, "getAgentRun", run.HTTPResponse, run.Body, err)
	if run.JSON200 == nil || run.JSON200.Metadata == nil || (*run.JSON200.Metadata)["ticket"] != float64(4521) {
		t.Errorf("getAgentRun decoded %+v, want the run with its metadata", run.JSON200)
	}

	call("listAgentRuns")
	status := "COMPLETE,FAILED"
	runs, err := c.ListAgentRunsWithResponse(ctx, &ListAgentRunsParams{Limit: ptr(5), Status: &status})
	want2xx(t, "listAgentRuns", runs.HTTPResponse, runs.Body, err)
	if runs.JSON200 == nil || runs.JSON200.Items == nil || len(*runs.JSON200.Items) == 0 {
		t.Errorf("listAgentRuns decoded %+v, want finished runs", runs.JSON200)
	}

	call("getAgentRunLogs")
	logs, err := c.GetAgentRunLogsWithResponse(ctx, 12345, &GetAgentRunLogsParams{Limit: ptr(10)})
	want2xx(t, "getAgentRunLogs", logs.HTTPResponse, logs.Body, err)
	if logs.JSON200 == nil || logs.JSON200.Logs == nil || len(*logs.JSON200.Logs) != 10 {
		t.Errorf("getAgentRunLogs decoded %+v, want 10 logs", logs.JSON200)
	}

	call("resumeAgentRun")
	resumed, err := c.ResumeAgentRunWithResponse(ctx, 12345, nil, ResumeAgentRunJSONRequestBody{Prompt: "Also add unit tests"})
	want2xx(t, "resumeAgentRun", resumed.HTTPResponse, resumed.Body, err)

	// A finished run's stream ends after its last log, so the generated
	// client, which reads whole bodies, gets all of it.
	call("streamAgentRunLogs")
	sse, err := c.StreamAgentRunLogsWithResponse(ctx, 12341, nil)
	want2xx(t, "streamAgentRunLogs", sse.HTTPResponse, sse.Body, err)
	if ct := sse.HTTPResponse.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") || !strings.Contains(string(sse.Body), "event: done") {
		t.Errorf("streamAgentRunLogs: %s, body %q; want an event stream that ends with done", ct, sse.Body)
	}
	// Its errors are JSON, as the document now says.
	call("streamAgentRunLogs (error)")
	missing, err := c.StreamAgentRunLogsWithResponse(ctx, 999999, nil)
	if err != nil || missing.StatusCode() != 404 || missing.JSON404 == nil || missing.JSON404.StatusCode == nil || *missing.JSON404.StatusCode != 404 {
		t.Errorf("streamAgentRunLogs of a missing run: %v, status %d, decoded %+v; want a 404 envelope", err, missing.StatusCode(), missing.JSON404)
	}

	called = append(called, waitAndFeedOperations(t, ctx, c, id)...)
	called = append(called, runAndOrgOperations(t, ctx, c)...)
	called = append(called, systemOperations(t, ctx, c)...)
	called = append(called, passThroughOperations(t, ctx, c)...)
	assertEveryOperation(t, called)
}

// systemOperations calls the routes that need no token.
func systemOperations(t *testing.T, ctx context.Context, c *ClientWithResponses) []string {
	t.Helper()
	health, err := c.GetHealthWithResponse(ctx)
	want2xx(t, "getHealth", health.HTTPResponse, health.Body, err)
	if health.JSON200 == nil || health.JSON200.Mode == nil || *health.JSON200.Mode != Sandbox {
		t.Errorf("getHealth decoded %+v, want sandbox mode", health.JSON200)
	}
	ready, err := c.GetReadinessWithResponse(ctx)
	want2xx(t, "getReadiness", ready.HTTPResponse, ready.Body, err)
	metrics, err := c.GetMetricsWithResponse(ctx)
	want2xx(t, "getMetrics", metrics.HTTPResponse, metrics.Body, err)
	spec, err := c.GetOpenAPIWithResponse(ctx)
	want2xx(t, "getOpenAPI", spec.HTTPResponse, spec.Body, err)
	ui, err := c.SwaggerUIWithResponse(ctx) // follows the redirect
	want2xx(t, "swaggerUI", ui.HTTPResponse, ui.Body, err)
	asset, err := c.SwaggerUIAssetWithResponse(ctx, "index.html")
	want2xx(t, "swaggerUIAsset", asset.HTTPResponse, asset.Body, err)
	redoc, err := c.RedocWithResponse(ctx)
	want2xx(t, "redoc", redoc.HTTPResponse, redoc.Body, err)
	console, err := c.ConsoleWithResponse(ctx, func(_ context.Context, req *http.Request) error {
		req.Header.Set("Accept", "text/html")
		return nil
	})
	want2xx(t, "console", console.HTTPResponse, console.Body, err)
	consoleAsset, err := c.ConsoleAssetWithResponse(ctx, "app.js")
	want2xx(t, "consoleAsset", consoleAsset.HTTPResponse, consoleAsset.Body, err)
	ops := []string{"getHealth", "getReadiness", "getMetrics", "getOpenAPI", "swaggerUI", "swaggerUIAsset", "redoc", "console", "consoleAsset"}
	script, err := c.RedocScriptWithResponse(ctx, "redoc.standalone.js")
	if web.HasRedoc() {
		want2xx(t, "redocScript", script.HTTPResponse, script.Body, err)
	} else if err != nil || script.StatusCode() != 404 {
		t.Errorf("redocScript in a build without the bundle: %v, status %d; want 404", err, script.StatusCode())
	}
	return append(ops, "redocScript")
}

// assertEveryOperation fails unless called names every operation of the
// document.
func assertEveryOperation(t *testing.T, called []string) {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths {
		for method, op := range item {
			if !slices.Contains(called, op.OperationID) {
				t.Errorf("%s %s (%s) was not called through the generated client", method, path, op.OperationID)
			}
		}
	}
}
