package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/codegen-proxy/codegen-proxy/internal/browsertest"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/sandbox"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// screenshots, when set, is the directory the console's browser test saves
// its screenshots to (make screenshots sets it to docs/images).
var screenshots = flag.String("screenshots", "", "save the console's screenshots (PNG) to this directory")

// consoleTimeout bounds each wait of the console's browser test.
const consoleTimeout = 30 * time.Second

// consoleEnv is the proxy in sandbox mode, in front of a sandbox on the real
// clock with its rate limits on, as `make run` serves it. sawImage is set
// when a create reaching the sandbox carries a PNG as a data URI.
func consoleEnv(t *testing.T, sawImage *atomic.Bool) *httptest.Server {
	return consoleEnvWith(t, sawImage, nil)
}

// consoleEnvWith is consoleEnv with the proxy's handler wrapped by wrap,
// when not nil.
func consoleEnvWith(t *testing.T, sawImage *atomic.Bool, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	sb := sandbox.New(sandbox.Options{Step: 250 * time.Millisecond, RateLimits: true})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/agent/run") {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if bytes.Contains(body, []byte(`"images":["data:image/png;base64,`)) {
				sawImage.Store(true)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(upstream.Close)
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{"CODEGEN_BASE_URL": upstream.URL + "/v1"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sandbox = true // what /health reports, so the page signs in by itself
	client := &codegen.Client{BaseURL: cfg.BaseURL, RequestID: RequestID, Retries: -1}
	hub := &stream.Hub{Client: client, Interval: 500 * time.Millisecond, Budget: 50, Linger: 20 * time.Millisecond}
	h := newHandler(t, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: client, Streams: hub, Version: "test", Started: time.Now()})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		hub.Shutdown()
		srv.Close()
		hub.Close()
	})
	return srv
}

// consoleDriver runs the console's steps in a browser tab.
type consoleDriver struct {
	b     *browsertest.Browser
	proxy string
}

// do runs actions, failing t with what after consoleTimeout.
func (d consoleDriver) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(d.b.Ctx, consoleTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// until waits until the JavaScript expression is true.
func (d consoleDriver) until(t *testing.T, what, expr string) {
	t.Helper()
	d.do(t, "waiting for "+what, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(consoleTimeout))(ctx, tgt)
		return err
	}))
}

// eval returns the value of a JavaScript expression.
func eval[T any](t *testing.T, d consoleDriver, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(d.b.Ctx, consoleTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// createRun fills the new-run form and returns the id of the run created.
func (d consoleDriver) createRun(t *testing.T, prompt string) int64 {
	t.Helper()
	d.do(t, "opening the new-run form",
		chromedp.Navigate(d.proxy+"/#/"),
		chromedp.WaitVisible(chromedp.CSS("#list-view")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("create").open = true; document.getElementById("create-note").textContent = ""`),
		chromedp.SetValue(chromedp.CSS("#c-prompt"), prompt),
		chromedp.Click(chromedp.CSS("#c-submit")),
	)
	d.until(t, "the created run's link", `document.querySelector("#create-note a") !== null`)
	href := eval[string](t, d, `document.querySelector("#create-note a").getAttribute("href")`)
	var id int64
	if _, err := fmt.Sscanf(href, "#/runs/%d", &id); err != nil {
		t.Fatalf("created run link %q: %v", href, err)
	}
	return id
}

// shoot saves a screenshot of the page as name.png under -screenshots.
func (d consoleDriver) shoot(t *testing.T, name string, width, height int64) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	ctx, cancel := context.WithTimeout(d.b.Ctx, consoleTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// countRequests counts the URLs the tab requested that contain part.
func countRequests(b *browsertest.Browser, part string) int {
	n := 0
	for _, u := range b.Requests() {
		if strings.Contains(u, part) {
			n++
		}
	}
	return n
}

// logPositions is the page's script listing the log positions shown.
const logPositions = `[...document.querySelectorAll("#logs li.log")].map(li => li.dataset.pos).join(",")`

// htmlPrompt makes a log line holding HTML: the sandbox's plan quotes the
// prompt. If the page rendered it, the image's handler would set the title.
const htmlPrompt = `Watch <b>this</b><img src=x onerror="document.title='pwned'"> run`

func seqString(n int) string { return strings.Join(seq(0, n), ",") }

// TestConsoleInABrowser drives the console in headless Chromium against the
// sandbox as a person would.
func TestConsoleInABrowser(t *testing.T) {
	b := browsertest.New(t)
	var sawImage atomic.Bool
	srv := consoleEnv(t, &sawImage)
	d := consoleDriver{b: b, proxy: srv.URL}
	d.do(t, "viewport", chromedp.EmulateViewport(1100, 900))

	t.Run("signs in by itself in sandbox mode", func(t *testing.T) {
		d.do(t, "opening /", chromedp.Navigate(d.proxy+"/"), chromedp.WaitVisible(chromedp.CSS("#list-view")))
		d.until(t, "the user's name", `document.getElementById("who").textContent === "sandbox-dev"`)
		if eval[bool](t, d, `document.getElementById("mode").hidden`) {
			t.Error("the page does not say it is in sandbox mode")
		}
		if got := eval[string](t, d, `sessionStorage.getItem("codegen.token")`); got != "sandbox" {
			t.Errorf("token in sessionStorage %q, want sandbox", got)
		}
	})

	t.Run("lists the seeded runs, by organization and status", func(t *testing.T) {
		const shown = `[...document.querySelectorAll("#runs li.run")].map(li => li.dataset.id).join(",")`
		d.until(t, "org 323's six runs", `document.querySelectorAll("#runs li.run").length === 6`)
		if got := eval[string](t, d, shown); got != "12345,12344,12343,12342,12341,12340" {
			t.Errorf("runs shown %s, want 12345 to 12340", got)
		}
		got := eval[string](t, d, `document.querySelector('#runs li.run[data-id="12345"] .badge').dataset.status`)
		if got != "COMPLETE" {
			t.Errorf("run 12345 shows %q, want COMPLETE", got)
		}
		if n := eval[int](t, d, `document.querySelectorAll('#runs li.run[data-id="12345"] a[href^="https://"]').length`); n != 2 {
			t.Errorf("run 12345 has %d https links, want its web URL and its PR", n)
		}
		d.shoot(t, "console-list", 1100, 900)

		choose := func(id, value string) {
			d.do(t, "choosing "+value, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
				`(s => { s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})) })(document.getElementById(%q))`, value, id)))
		}
		choose("f-status", "COMPLETE")
		d.until(t, "the COMPLETE runs", shown+` === "12345,12341"`)
		choose("f-status", "")
		choose("org", "324")
		d.until(t, "org 324's run", shown+` === "12339"`)
		choose("org", "323")
		d.until(t, "org 323's runs again", `document.querySelectorAll("#runs li.run").length === 6`)
	})

	lists := countRequests(b, "/agent-runs?page=")
	id := d.createRun(t, htmlPrompt)
	t.Logf("created run %d", id)

	t.Run("the list updates live", func(t *testing.T) {
		d.until(t, "the run in the list", fmt.Sprintf(`document.querySelector('#runs li.run[data-id="%d"]') !== null`, id))
		d.until(t, "the run COMPLETE in the list", fmt.Sprintf(`document.querySelector('#runs li.run[data-id="%d"] .badge').dataset.status === "COMPLETE"`, id))
		if n := countRequests(b, "/agent-runs?page="); n != lists {
			t.Errorf("the page read the list %d times after the create: the feed should have brought the run", n-lists)
		}
	})

	t.Run("watches the run's logs to done", func(t *testing.T) {
		d.do(t, "opening the run", chromedp.Click(chromedp.CSS("#create-note a")), chromedp.WaitVisible(chromedp.CSS("#run-view")))
		d.until(t, "done", `document.getElementById("log-state").textContent === "(done)"`)
		if got := eval[string](t, d, logPositions); got != seqString(10) {
			t.Errorf("log positions shown %s, want 0..9 once each", got)
		}
		if got := eval[string](t, d, `document.querySelector("#r-status .badge").dataset.status`); got != "COMPLETE" {
			t.Errorf("status %q, want COMPLETE", got)
		}
		if eval[int](t, d, `document.querySelectorAll("#logs li.log-final-answer").length`) != 1 ||
			eval[int](t, d, `document.querySelectorAll("#logs details.log-tool").length`) == 0 {
			t.Error("no final answer, or no collapsible tool call, among the logs")
		}
		d.shoot(t, "console-run", 1100, 1400)
		d.shoot(t, "console-run-phone", 375, 800)
		d.do(t, "viewport", chromedp.EmulateViewport(1100, 900))
	})

	t.Run("a log line holding HTML is shown as text", func(t *testing.T) {
		plan := eval[string](t, d, `document.querySelector('#logs li.log[data-pos="0"] .log-thought').textContent`)
		if !strings.Contains(plan, `<img src=x onerror="document.title='pwned'">`) {
			t.Errorf("the plan shows %q, want the prompt's HTML as text", plan)
		}
		if n := eval[int](t, d, `document.querySelectorAll("#logs img, #logs b").length`); n != 0 {
			t.Errorf("the logs hold %d elements made from the agent's text", n)
		}
		if title := eval[string](t, d, `document.title`); title == "pwned" {
			t.Error("the log's HTML ran")
		}
	})

	t.Run("resumes the run", func(t *testing.T) {
		d.do(t, "resuming",
			chromedp.WaitVisible(chromedp.CSS("#resume-form")),
			chromedp.SetValue(chromedp.CSS("#resume-prompt"), "Also add tests <script>document.title='pwned'</script>"),
			chromedp.Click(chromedp.CSS("#resume-submit")),
		)
		d.until(t, "the resume's logs to done", `document.querySelectorAll("#logs li.log").length === 14 && document.getElementById("log-state").textContent === "(done)"`)
		if got := eval[string](t, d, logPositions); got != seqString(14) {
			t.Errorf("log positions shown %s, want 0..13 once each", got)
		}
		msg := eval[string](t, d, `document.querySelector("#logs li.log-user-message .log-observation").textContent`)
		if msg != "Also add tests <script>document.title='pwned'</script>" || eval[string](t, d, `document.title`) == "pwned" {
			t.Errorf("the user's message shows %q", msg)
		}
	})

	t.Run("stops a run after confirming", func(t *testing.T) {
		stopID := d.createRun(t, "Stop me sandbox:step=10s")
		d.do(t, "opening the run", chromedp.Click(chromedp.CSS("#create-note a")), chromedp.WaitVisible(chromedp.CSS("#stop")))
		d.do(t, "asking to stop", chromedp.Click(chromedp.CSS("#stop")), chromedp.WaitVisible(chromedp.CSS("#stop-dialog")))
		d.do(t, "keeping it", chromedp.Click(chromedp.CSS("#stop-keep")), chromedp.WaitNotVisible(chromedp.CSS("#stop-dialog")))
		if eval[string](t, d, `document.querySelector("#r-status .badge").dataset.status`) == "CANCELLED" {
			t.Fatal("the run stopped without a confirmation")
		}
		d.do(t, "stopping", chromedp.Click(chromedp.CSS("#stop")), chromedp.Click(chromedp.CSS("#stop-confirm")))
		d.until(t, "CANCELLED", `document.querySelector("#r-status .badge").dataset.status === "CANCELLED"`)
		t.Logf("stopped run %d", stopID)
	})

	t.Run("a dropped stream resumes without losing or repeating a line", func(t *testing.T) {
		dropID := d.createRun(t, "Survive a drop sandbox:step=300ms sandbox:logs=12")
		d.do(t, "opening the run", chromedp.Click(chromedp.CSS("#create-note a")), chromedp.WaitVisible(chromedp.CSS("#run-view")))
		d.until(t, "the first lines", `document.querySelectorAll("#logs li.log").length >= 2`)
		srv.CloseClientConnections() // the browser reconnects with Last-Event-ID
		d.until(t, "done", `document.getElementById("log-state").textContent === "(done)"`)
		if got := eval[string](t, d, logPositions); got != seqString(12) {
			t.Errorf("log positions shown %s, want 0..11 once each", got)
		}
		if n := countRequests(b, fmt.Sprintf("/agent-runs/%d/logs/stream", dropID)); n < 2 {
			t.Errorf("the stream was opened %d times, want a reconnection", n)
		}
	})

	t.Run("auto-scroll stops while the reader is further up", func(t *testing.T) {
		d.createRun(t, "Scroll sandbox:step=300ms sandbox:logs=40")
		d.do(t, "opening the run", chromedp.Click(chromedp.CSS("#create-note a")), chromedp.WaitVisible(chromedp.CSS("#run-view")))
		d.until(t, "a scrolling list", `(l => l.scrollHeight > l.clientHeight + 50 && l.scrollTop > 0)(document.getElementById("logs"))`)
		d.do(t, "scrolling up", chromedp.Evaluate[chromedp.Void](`(l => { l.scrollTop = 0; l.dispatchEvent(new Event("scroll")) })(document.getElementById("logs"))`))
		shown := eval[int](t, d, `document.querySelectorAll("#logs li.log").length`)
		d.until(t, "done", `document.getElementById("log-state").textContent === "(done)"`)
		if eval[int](t, d, `document.querySelectorAll("#logs li.log").length`) == shown {
			t.Fatal("no entry arrived after the reader scrolled up")
		}
		if top := eval[int](t, d, `document.getElementById("logs").scrollTop`); top != 0 {
			t.Errorf("the list scrolled to %d while the reader was at the top", top)
		}
		d.do(t, "jumping to the latest", chromedp.Click(chromedp.CSS("#jump")))
		if !eval[bool](t, d, `(l => l.scrollHeight - l.scrollTop - l.clientHeight < 24)(document.getElementById("logs"))`) {
			t.Error("Jump to the latest entry did not scroll to the end")
		}
	})

	t.Run("sends images as data URIs", func(t *testing.T) {
		png := filepath.Join(t.TempDir(), "dot.png")
		// A 1x1 PNG.
		dot, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
		if err := os.WriteFile(png, dot, 0o600); err != nil {
			t.Fatal(err)
		}
		d.do(t, "choosing an image",
			chromedp.Navigate(d.proxy+"/#/"),
			chromedp.WaitVisible(chromedp.CSS("#list-view")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("create").open = true; document.getElementById("create-note").textContent = ""`),
			chromedp.SetUploadFiles(chromedp.CSS("#c-images"), []string{png}),
			chromedp.SetValue(chromedp.CSS("#c-prompt"), "Look at this picture"),
			chromedp.Click(chromedp.CSS("#c-submit")),
		)
		d.until(t, "the created run", `document.querySelector("#create-note a") !== null || !document.getElementById("create-error").hidden`)
		if !sawImage.Load() {
			t.Errorf("the create did not carry the image as a data URI: %s", eval[string](t, d, `document.getElementById("create-error").textContent`))
		}
	})

	t.Run("signs in with the keyboard", func(t *testing.T) {
		d.do(t, "signing out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-view")))
		if eval[string](t, d, `document.activeElement.id`) != "token" {
			t.Error("signing in does not start in the token field")
		}
		d.do(t, "typing a token and Enter", chromedp.KeyEvent("sandbox\r"), chromedp.WaitVisible(chromedp.CSS("#list-view")))
		d.until(t, "the runs", `document.querySelectorAll("#runs li.run").length > 0`)
	})

	t.Run("a 429 says when to retry", func(t *testing.T) {
		for range 10 { // use up the sandbox's 10 creates a minute of this token
			resp, _ := call(t, "POST", d.proxy+"/agent-runs", `{"prompt":"filler"}`, "Authorization", "Bearer sandbox")
			if resp.StatusCode == http.StatusTooManyRequests {
				break
			}
		}
		d.do(t, "creating one more",
			chromedp.Navigate(d.proxy+"/#/"),
			chromedp.WaitVisible(chromedp.CSS("#list-view")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("create").open = true`),
			chromedp.SetValue(chromedp.CSS("#c-prompt"), "One too many"),
			chromedp.Click(chromedp.CSS("#c-submit")),
		)
		d.until(t, "the error", `!document.getElementById("create-error").hidden`)
		status := eval[string](t, d, `document.querySelector("#create-error .err-status").textContent`)
		retry := eval[string](t, d, `document.querySelector("#create-error .err-retry").textContent`)
		rid := eval[string](t, d, `document.querySelector("#create-error .err-rid").textContent`)
		if !strings.Contains(status, "429") || !strings.HasPrefix(retry, "Retry in ") || !strings.HasPrefix(rid, "request id ") || len(rid) < 20 {
			t.Errorf("the error shows %q %q %q, want the 429, when to retry and the request id", status, retry, rid)
		}
	})

	t.Run("fits a phone's width", func(t *testing.T) {
		d.do(t, "narrow", chromedp.EmulateViewport(375, 800), chromedp.Navigate(d.proxy+"/#/"), chromedp.WaitVisible(chromedp.CSS("#list-view")))
		d.until(t, "the runs", `document.querySelectorAll("#runs li.run").length > 0`)
		if w := eval[int](t, d, `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("the list is %d px wide at 375 px", w)
		}
	})

	if off := b.OffHost(); len(off) > 0 {
		t.Errorf("the console requested URLs off 127.0.0.1: %v", off)
	}
}

// TestConsoleListFollowsTheFeedContract serves the runs feed as
// CONTRACTS.md describes it from a stand-in, whatever this build's feed
// does: a changed run is updated in place, a new one appears at the top,
// an error event shows its envelope, all without reading the list again;
// a reset makes the page read its list once more, and the snapshot after
// it goes over that list.
func TestConsoleListFollowsTheFeedContract(t *testing.T) {
	b := browsertest.New(t)
	release := make(chan struct{})
	defer close(release)
	reset := make(chan struct{})
	feed := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/agent-runs/stream" {
				next.ServeHTTP(w, r)
				return
			}
			if r.URL.Query().Get("access_token") != "sandbox" || r.URL.Query().Get("org_id") != "323" {
				t.Errorf("the feed was asked %s", r.URL.RawQuery)
			}
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "retry: 3000\n\n"+
				"id: 1\nevent: run\ndata: {\"id\":12345,\"organization_id\":323,\"status\":\"RUNNING\",\"summary\":\"Running <b>again</b>\"}\n\n"+
				"id: 2\nevent: run\ndata: {\"id\":99999,\"organization_id\":323,\"status\":\"PENDING\",\"web_url\":\"javascript:alert(1)\"}\n\n"+
				"event: error\ndata: {\"error\":\"Rate limit exceeded.\",\"status_code\":429,\"request_id\":\"feed-req-1\",\"code\":\"rate_limited\"}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-reset:
				io.WriteString(w, "event: reset\ndata: {}\n\n"+
					"event: run\ndata: {\"id\":12345,\"organization_id\":323,\"status\":\"RUNNING\",\"summary\":\"After the reset\"}\n\n"+
					"id: 1764540000000001\nevent: run\ndata: {\"id\":12344,\"organization_id\":323,\"status\":\"FAILED\"}\n\n")
				w.(http.Flusher).Flush()
			case <-release:
				return
			case <-r.Context().Done():
				return
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
	}
	var sawImage atomic.Bool
	d := consoleDriver{b: b, proxy: consoleEnvWith(t, &sawImage, feed).URL}
	d.do(t, "opening /", chromedp.Navigate(d.proxy+"/"), chromedp.WaitVisible(chromedp.CSS("#list-view")))
	d.until(t, "the new run at the top", `document.querySelector("#runs li.run").dataset.id === "99999"`)
	d.until(t, "12345 RUNNING", `document.querySelector('#runs li.run[data-id="12345"] .badge').dataset.status === "RUNNING"`)
	if got := eval[string](t, d, `document.querySelector('#runs li.run[data-id="12345"] .run-title').textContent`); got != "Running <b>again</b>" {
		t.Errorf("summary shown %q, want it as text", got)
	}
	if n := eval[int](t, d, `document.querySelectorAll('#runs a[href^="javascript:"]').length`); n != 0 {
		t.Error("a javascript: URL became a link")
	}
	d.until(t, "the feed's error", `document.querySelector("#error .err-rid") !== null`)
	if got := eval[string](t, d, `document.getElementById("error").textContent`); !strings.Contains(got, "Rate limit exceeded.") ||
		!strings.Contains(got, "feed-req-1") || !strings.Contains(got, "Retrying automatically.") {
		t.Errorf("error shown %q; want the envelope, and that the feed retries by itself", got)
	}
	if got := eval[string](t, d, `document.getElementById("live").textContent`); !strings.HasPrefix(got, "Live") {
		t.Errorf("live status %q", got)
	}
	if n := countRequests(b, "/agent-runs?page="); n != 1 {
		t.Errorf("the page read the list %d times, want once", n)
	}

	close(reset)
	d.until(t, "the snapshot after the reset", `document.querySelector('#runs li.run[data-id="12344"] .badge').dataset.status === "FAILED"`)
	d.until(t, "the list read again", `document.querySelector('#runs li.run[data-id="99999"]') === null`)
	if got := eval[string](t, d, `document.querySelector('#runs li.run[data-id="12345"] .run-title').textContent`); got != "After the reset" {
		t.Errorf("run 12345 shows %q after the reset; want the snapshot's summary over the list read again", got)
	}
	if n := countRequests(b, "/agent-runs?page="); n != 2 {
		t.Errorf("the page read the list %d times, want twice: once more for the reset", n)
	}
}

// TestConsoleRunPageKeepsItsLatestLogsAndSaysWhyItSignsOut serves a run's
// log stream from a stand-in sending more entries than the page keeps, then
// answers the run page's calls with 401.
func TestConsoleRunPageKeepsItsLatestLogsAndSaysWhyItSignsOut(t *testing.T) {
	b := browsertest.New(t)
	const sent = 2005
	var refuse atomic.Bool
	stand := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case refuse.Load() && strings.HasPrefix(r.URL.Path, "/agent-runs/12345"):
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"Invalid or expired token.","status_code":401,"request_id":"run-req-1","code":"unauthorized"}`)
			case r.URL.Path == "/agent-runs/12345/logs/stream":
				w.Header().Set("Content-Type", "text/event-stream")
				var sb strings.Builder
				sb.WriteString("retry: 3000\n\nevent: status\ndata: {\"id\":12345,\"status\":\"RUNNING\"}\n\n")
				for i := range sent {
					fmt.Fprintf(&sb, "id: %d\nevent: log\ndata: {\"message_type\":\"ACTION\",\"thought\":\"step %d\"}\n\n", i, i)
				}
				sb.WriteString("event: done\ndata: {\"id\":12345,\"status\":\"COMPLETE\"}\n\n")
				io.WriteString(w, sb.String())
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
	var sawImage atomic.Bool
	d := consoleDriver{b: b, proxy: consoleEnvWith(t, &sawImage, stand).URL}
	d.do(t, "opening the run", chromedp.Navigate(d.proxy+"/#/runs/12345"), chromedp.WaitVisible(chromedp.CSS("#run-view")))
	d.until(t, "the stream's end", `document.getElementById("log-state").textContent === "(done)"`)
	if n := eval[int](t, d, `document.querySelectorAll("#logs li.log").length`); n != 2000 {
		t.Errorf("the page shows %d log entries, want the latest 2000", n)
	}
	if got := eval[string](t, d, `document.querySelector("#logs li.log").dataset.pos`); got != "5" {
		t.Errorf("the first entry shown is at %s, want 5", got)
	}
	if got := eval[string](t, d, `document.getElementById("log-trimmed").textContent`); !strings.Contains(got, "5 earlier entries") {
		t.Errorf("the page says %q of the entries it let go; want 5 earlier entries", got)
	}

	refuse.Store(true)
	d.do(t, "reopening the run", chromedp.Navigate(d.proxy+"/#/runs/12344"), chromedp.Navigate(d.proxy+"/#/runs/12345"))
	d.until(t, "the sign-in form", `!document.getElementById("signin-view").hidden`)
	d.until(t, "why", `document.getElementById("error").textContent.includes("Invalid or expired token.")`)
	if got := eval[string](t, d, `document.getElementById("error").textContent`); !strings.Contains(got, "run-req-1") {
		t.Errorf("error shown %q; want the envelope's request id", got)
	}
}
