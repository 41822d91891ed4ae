package server

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// TestAnswersOverTheBudgetAreServerBusy holds two upstream answers half
// read, which fill the client's MaxInFlightBytes, and checks that a third
// request is answered 503 server_busy with Retry-After.
func TestAnswersOverTheBudgetAreServerBusy(t *testing.T) {
	t.Parallel()
	run := `{"id":1,"status":"running","pad":"` + strings.Repeat("a", 900) + `"}`
	release := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(run)))
		if strings.HasSuffix(r.URL.Path, "/run/2") {
			io.WriteString(w, run)
			return
		}
		io.WriteString(w, run[:10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, run[10:])
		case <-r.Context().Done():
		}
	})
	// Each answer reserves its 936 bytes: two fit, three do not.
	proxy := newProxy(t, u, proxyOpts{client: func(c *codegen.Client) { c.MaxResponseBytes, c.MaxInFlightBytes = 1024, 2000 }})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // first, should the test fail with answers held
	held := make(chan int, 2)
	for range 2 {
		go func() {
			for { // until the answer is held: a probe may have had the room
				req, _ := http.NewRequest("GET", proxy+"/agent-runs/1", nil)
				req.Header.Set("Authorization", "Bearer "+secretToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					held <- 0
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					held <- resp.StatusCode
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := call(t, "GET", proxy+"/agent-runs/2", "")
		if resp.StatusCode == http.StatusServiceUnavailable {
			if e := decodeEnvelope(t, body); e.Code != "server_busy" || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("envelope %+v, Retry-After %q: want server_busy and 1", e, resp.Header.Get("Retry-After"))
			}
			break
		}
		if resp.StatusCode != http.StatusOK || body != run {
			t.Fatalf("probe: status %d: %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("no request was refused with two answers filling the budget")
		}
		time.Sleep(5 * time.Millisecond)
	}
	free()
	for range 2 {
		if status := <-held; status != http.StatusOK {
			t.Errorf("held request: status %d, want 200", status)
		}
	}
}
