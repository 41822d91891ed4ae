package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/codegen-proxy/codegen-proxy/internal/browsertest"
)

// TestBrowserEventSourceReceivesTheStream opens the stream from a page on
// another origin with a browser's EventSource (token in the query, as a
// browser must send it) and checks what the page received.
func TestBrowserEventSourceReceivesTheStream(t *testing.T) {
	b := browsertest.New(t)
	e := newStreamEnv(t, streamOpts{})
	id := e.create(t, "From a browser")

	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>waiting</title><script>
window.got = [];
const es = new EventSource(%q);
es.addEventListener("log", e => got.push("log:" + e.lastEventId));
es.addEventListener("status", e => got.push("status:" + JSON.parse(e.data).status));
es.addEventListener("done", e => { got.push("done:" + JSON.parse(e.data).status); es.close(); document.title = "done"; });
es.onerror = () => got.push("onerror");
</script>`, fmt.Sprintf("%s/agent-runs/%d/logs/stream?access_token=%s", e.proxy, id, secretToken))
	}))
	defer page.Close()

	var got []string
	b.Run(t, 20*time.Second,
		chromedp.Navigate(page.URL),
		chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`window.got.length > 0`)(ctx, tgt)
			e.tick.Store(int64(sandboxStep)) // the run moves once the page is listening
			return err
		}),
		chromedp.Func(func(ctx2 context.Context, tgt *chromedp.Target) error {
			v, err := chromedp.Poll[[]string](`document.title === "done" && window.got`)(ctx2, tgt)
			got = v
			return err
		}),
	)
	joined := strings.Join(got, " ")
	want := "status:PENDING"
	if !strings.HasPrefix(joined, want) || !strings.HasSuffix(joined, "done:COMPLETE") || strings.Contains(joined, "onerror") {
		t.Errorf("page received %s", joined)
	}
	var logs []string
	for _, g := range got {
		if strings.HasPrefix(g, "log:") {
			logs = append(logs, strings.TrimPrefix(g, "log:"))
		}
	}
	if strings.Join(logs, ",") != strings.Join(seq(0, 10), ",") {
		t.Errorf("page received log ids %v, want 0..9", logs)
	}
	if off := b.OffHost(); len(off) > 0 {
		t.Errorf("the page requested URLs off 127.0.0.1: %v", off)
	}
}
