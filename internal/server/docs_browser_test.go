package server

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/codegen-proxy/codegen-proxy/docs"
	"github.com/codegen-proxy/codegen-proxy/internal/browsertest"
	"github.com/codegen-proxy/codegen-proxy/internal/web"
)

// TestSwaggerUIShowsEveryOperationAndTriesOneAgainstTheSandbox drives /docs
// in headless Chromium: every operation is listed, and "Authorize" with a
// token then "Try it out" and "Execute" on GET /users/me gets a 200 from the
// sandbox through the proxy.
func TestSwaggerUIShowsEveryOperationAndTriesOneAgainstTheSandbox(t *testing.T) {
	b := browsertest.New(t)
	e := newStreamEnv(t, streamOpts{})
	wantOps := len(specOperations(t, docs.OpenAPI))

	var ops int
	var status string
	b.Run(t, docsTimeout,
		chromedp.Navigate(e.proxy+"/docs/index.html"),
		chromedp.WaitVisible(chromedp.CSS(".opblock")),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) (err error) {
			ops, err = chromedp.Evaluate[int](`document.querySelectorAll(".opblock").length`)(ctx, tgt)
			return err
		}),
		// Authorize with a bearer token through the dialog.
		chromedp.Click(chromedp.CSS(".auth-wrapper .authorize")),
		chromedp.WaitVisible(chromedp.CSS(".modal-ux input")),
		chromedp.SendKeys(chromedp.CSS(".modal-ux input"), "sandbox"),
		chromedp.Click(chromedp.CSS(".modal-ux .auth-btn-wrapper .authorize")),
		chromedp.Click(chromedp.CSS(".modal-ux .btn-done")),
		// Try GET /users/me.
		chromedp.Click(chromedp.CSS("#operations-users-getCurrentUser .opblock-summary-control")),
		chromedp.Click(chromedp.CSS("#operations-users-getCurrentUser .try-out__btn")),
		chromedp.Click(chromedp.CSS("#operations-users-getCurrentUser .execute")),
		chromedp.WaitVisible(chromedp.CSS("#operations-users-getCurrentUser .live-responses-table tbody .response-col_status")),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) (err error) {
			status, err = chromedp.Evaluate[string](`document.querySelector("#operations-users-getCurrentUser .live-responses-table tbody .response-col_status").innerText.trim()`)(ctx, tgt)
			return err
		}),
	)
	if ops != wantOps {
		t.Errorf("Swagger UI lists %d operations, the spec has %d", ops, wantOps)
	}
	if status != "200" {
		t.Errorf("Try it out on GET /users/me answered %q, want 200", status)
	}
	if off := b.OffHost(); len(off) > 0 {
		t.Errorf("/docs requested URLs off 127.0.0.1: %v", off)
	}
}

// TestRedocRendersEveryOperationOffline drives /redoc in headless Chromium.
func TestRedocRendersEveryOperationOffline(t *testing.T) {
	if web.RedocBundle() == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("this build has no embedded ReDoc bundle: make web")
		}
		t.Skip("no embedded ReDoc bundle (make web): /redoc would load it from a CDN")
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
