// Package browsertest runs headless Chromium for tests, as httptest runs
// servers. It is imported by tests only.
package browsertest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium tab and the log of every URL it requested.
type Browser struct {
	// Ctx runs chromedp actions in the tab. It ends at test cleanup.
	Ctx context.Context

	mu      sync.Mutex
	urls    []string
	ids     map[network.RequestID]string // request id to URL
	blocked map[string]bool              // URLs the browser refused to fetch (CSP, mixed content)
}

// New starts a fresh headless Chromium for t with its own profile and no
// background networking. When no browser is installed the test is skipped,
// or fails if REQUIRE_BROWSER is set, as CI sets it.
func New(t testing.TB) *Browser {
	t.Helper()
	path := execPath()
	if path == "" {
		if os.Getenv("REQUIRE_BROWSER") != "" {
			t.Fatal("REQUIRE_BROWSER is set but no chromium is installed")
		}
		t.Skip("no chromium installed: apt-get install -y chromium")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	b := &Browser{ids: map[network.RequestID]string{}, blocked: map[string]bool{}}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.urls = append(b.urls, ev.Request.URL)
			b.ids[ev.RequestID] = ev.Request.URL
		case *network.EventLoadingFailed:
			if ev.BlockedReason != "" {
				b.blocked[b.ids[ev.RequestID]] = true
			}
		}
	}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, without a deadline (a deadline on the first
	// run would bound the browser's whole life).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	b.Ctx = ctx
	return b
}

// Run runs actions in the tab with a time limit.
func (b *Browser) Run(t testing.TB, limit time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// Requests returns every URL the tab has requested so far.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

// OffHost returns the requested URLs whose host is not 127.0.0.1, leaving
// out those that never reach a network: data:, blob: and about: URLs, and
// requests the browser itself blocked (by the page's Content-Security-Policy).
func (b *Browser) OffHost() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, raw := range b.urls {
		u, err := url.Parse(raw)
		if err == nil && (u.Scheme == "data" || u.Scheme == "about" || u.Scheme == "blob" || u.Hostname() == "127.0.0.1" || b.blocked[raw]) {
			continue
		}
		out = append(out, raw)
	}
	return out
}

func execPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
