package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/codegen-proxy/codegen-proxy/docs"
	"github.com/codegen-proxy/codegen-proxy/internal/browsertest"
	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// docOperation is an operation of the OpenAPI document as Swagger UI shows
// it.
type docOperation struct {
	method, path, tag, id string
}

// docOperations lists the operations of an OpenAPI document.
func docOperations(t *testing.T, spec []byte) []docOperation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string   `json:"operationId"`
			Tags        []string `json:"tags"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []docOperation
	for path, item := range doc.Paths {
		for method, op := range item {
			if len(op.Tags) == 0 || op.OperationID == "" {
				t.Fatalf("%s %s has no tag or operationId", method, path)
			}
			ops = append(ops, docOperation{strings.ToUpper(method), path, op.Tags[0], op.OperationID})
		}
	}
	slices.SortFunc(ops, func(a, b docOperation) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	return ops
}

// TestSwaggerUITriesEveryOperationAgainstTheSandbox drives /docs in headless
// Chromium as a person would: every operation is listed; "Authorize" with a
// token, then for every operation "Try it out" and "Execute" with the
// values and body Swagger UI prefills from the document's examples, each of
// which must get a 2xx from the sandbox through the proxy. The log stream
// is tried on a finished run, whose stream ends, so Swagger UI can show its
// answer.
func TestSwaggerUITriesEveryOperationAgainstTheSandbox(t *testing.T) {
	b := browsertest.New(t)
	e := newStreamEnv(t, streamOpts{})
	ops := docOperations(t, docs.OpenAPI)

	var listed int
	b.Run(t, docsTimeout,
		chromedp.Navigate(e.proxy+"/docs/index.html"),
		chromedp.WaitVisible(chromedp.CSS(".opblock")),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) (err error) {
			listed, err = chromedp.Evaluate[int](`document.querySelectorAll(".opblock").length`)(ctx, tgt)
			return err
		}),
		// Authorize with a bearer token through the dialog.
		chromedp.Click(chromedp.CSS(".auth-wrapper .authorize")),
		chromedp.WaitVisible(chromedp.CSS(".modal-ux input")),
		chromedp.SendKeys(chromedp.CSS(".modal-ux input"), "sandbox"),
		chromedp.Click(chromedp.CSS(".modal-ux .auth-btn-wrapper .authorize")),
		chromedp.Click(chromedp.CSS(".modal-ux .btn-done")),
		chromedp.WaitNotPresent(chromedp.CSS(".modal-ux")), // else it takes the next click
	)
	if listed != len(ops) {
		t.Errorf("Swagger UI lists %d operations, the spec has %d", listed, len(ops))
	}
	for _, op := range ops {
		if op.id == "redocScript" && !web.HasRedoc() {
			continue // a build without the bundle answers 404 by design (TestRedocPagePicksItsScript)
		}
		start := time.Now()
		got, err := tryItOut(b, op)
		t.Logf("%s %s: %s in %v", op.method, op.path, got, time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Errorf("Try it out on %s %s: %v", op.method, op.path, err)
		} else if !strings.HasPrefix(got, "2") && !(op.tag == "passthrough" && op.method != "GET") {
			// Swagger UI escapes the / of /v1/{path}, which the pass-through
			// refuses, so its prefilled path is one segment: organizations,
			// which the API serves for GET alone. The others must answer.
			t.Errorf("Try it out on %s %s answered %q, want 2xx", op.method, op.path, got)
		}
	}
	if off := b.OffHost(); len(off) > 0 {
		t.Errorf("/docs requested URLs off 127.0.0.1: %v", off)
	}
}

// tryItOut opens an operation in Swagger UI, presses "Try it out" and
// "Execute" and returns the status Swagger UI shows, or what failed.
func tryItOut(b *browsertest.Browser, op docOperation) (status string, err error) {
	block := "#operations-" + op.tag + "-" + op.id
	steps := []struct {
		name   string
		action chromedp.Action[chromedp.Void]
	}{
		{"open", chromedp.Click(chromedp.CSS(block + " .opblock-summary-control"))},
		{"try it out", chromedp.Click(chromedp.CSS(block + " .try-out__btn"))},
		{"execute", chromedp.Click(chromedp.CSS(block + " .execute"))},
		// Swagger UI takes seconds to show ReDoc's 1 MB bundle.
		{"wait for the answer", chromedp.WaitVisible(chromedp.CSS(block + " .live-responses-table tbody .response-col_status"))},
		{"read the status", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) (err error) {
			// The cell holds the status and, for an undocumented one, a note.
			status, err = chromedp.Evaluate[string](`document.querySelector("`+block+` .live-responses-table tbody .response-col_status").innerText.trim().split(/\s/)[0]`)(ctx, tgt)
			return err
		})},
		// Leave the page as light as it was: responses shown pile up in the DOM.
		{"clear", chromedp.Click(chromedp.CSS(block + " .btn-clear"))},
		{"close", chromedp.Click(chromedp.CSS(block + " .opblock-summary-control"))},
	}
	for _, s := range steps {
		limit := docsTimeout
		if s.name == "wait for the answer" {
			limit = 3 * docsTimeout
		}
		ctx, cancel := context.WithTimeout(b.Ctx, limit)
		err := chromedp.Do(ctx, s.action)
		cancel()
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return status, nil
}

// TestRedocRendersEveryOperationOffline drives /redoc in headless Chromium.
func TestRedocRendersEveryOperationOffline(t *testing.T) {
	if web.RedocBundle() == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("this build has no embedded ReDoc bundle: make web")
		}
		t.Skip("no embedded ReDoc bundle (make web): /redoc only says how to get it")
	}
	b := browsertest.New(t)
	e := newStreamEnv(t, streamOpts{})
	wantOps := len(specOperations(t, docs.OpenAPI))

	var ops int
	b.Run(t, docsTimeout,
		chromedp.Navigate(e.proxy+"/redoc"),
		chromedp.WaitVisible(chromedp.CSS(`[data-section-id^="operation/"]`)),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) (err error) {
			ops, err = chromedp.Evaluate[int](`document.querySelectorAll('[data-section-id^="operation/"]').length`)(ctx, tgt)
			return err
		}),
	)
	if ops != wantOps {
		t.Errorf("ReDoc renders %d operations, the spec has %d", ops, wantOps)
	}
	if off := b.OffHost(); len(off) > 0 {
		t.Errorf("/redoc requested URLs off 127.0.0.1: %v", off)
	}
}
