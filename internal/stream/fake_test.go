package stream

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/launchdarkly/eventsource"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// fakeAPI is a Codegen API with one run per id, all alike: n log entries of
// about size bytes each, in status. It counts the calls it answers.
type fakeAPI struct {
	url string
	srv *httptest.Server

	mu     sync.Mutex
	n      int
	size   int
	status string
	fail   int // the next log reads answer this status, failN times
	failN  int
	gate   chan struct{} // if set, log reads wait for it to close

	logReads, runReads atomic.Int64
	held               atomic.Int64 // log reads that waited at the gate
	lastFail           atomic.Int64 // unix nanoseconds of the last failed read
	readAt             atomic.Int64 // unix nanoseconds of the last log read
}

func newFakeAPI(t *testing.T, n int, status string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{n: n, size: 100, status: status}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url, f.srv = srv.URL, srv
	return f
}

func (f *fakeAPI) set(n int, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n, f.status = n, status
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/logs") {
		f.mu.Lock()
		gate := f.gate
		f.mu.Unlock()
		if gate != nil {
			f.held.Add(1)
			<-gate
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasSuffix(r.URL.Path, "/logs") {
		f.runReads.Add(1)
		fmt.Fprintf(w, `{"id":1,"status":%q,"result":null,"summary":"s","github_pull_requests":[]}`, f.status)
		return
	}
	f.logReads.Add(1)
	f.readAt.Store(time.Now().UnixNano())
	if f.failN > 0 {
		f.failN--
		f.lastFail.Store(time.Now().UnixNano())
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(f.fail)
		fmt.Fprintf(w, `{"message":"failing","status_code":%d}`, f.fail)
		return
	}
	skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	var logs []string
	for i := skip; i < f.n && i < skip+limit; i++ {
		logs = append(logs, fmt.Sprintf(`{"pos":%d,"thought":%q}`, i, strings.Repeat("x", f.size)))
	}
	fmt.Fprintf(w, `{"id":1,"status":%q,"logs":[%s],"total_logs":%d}`, f.status, strings.Join(logs, ","), f.n)
}

// newHub returns a fast Hub on f, closed when the test ends.
func newHub(t *testing.T, f *fakeAPI, adjust func(*Hub)) *Hub {
	t.Helper()
	h := &Hub{Client: &codegen.Client{BaseURL: f.url, Retries: -1}, Interval: 5 * time.Millisecond, Budget: 60000,
		Linger: time.Hour, StartWait: 10 * time.Second}
	if adjust != nil {
		adjust(h)
	}
	t.Cleanup(h.Close)
	return h
}

// sent is what one Run wrote, event by event ("log 7", "status", "done",
// "error <data>"). Comments are not events and are not in it.
type sent []string

// runTo streams run 1 for tok from position from until Run returns, and
// returns what it sent and the Writer it sent through.
func runTo(t *testing.T, h *Hub, tok string, from int) (sent, *Writer) {
	t.Helper()
	sub, err := h.Subscribe(tok, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sub.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	w, err := NewWriter(rec, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sub.Run(ctx, w, from, time.Hour, func(err error) []byte { return []byte(err.Error()) })
	if ctx.Err() != nil {
		t.Fatal("the stream did not end")
	}
	return parseSent(t, rec.Body.String()), w
}

// retryLine is how NewWriter(w, time.Second) opens every stream.
const retryLine = "retry: 1000\n\n"

// parseSent decodes the Writer's output, which runTo opened with a retry
// hint of a second, with launchdarkly/eventsource's Decoder. It checks what
// the Writer promises: log events carry their position as their own id, and
// their data is that entry; control events carry no id; data is one line.
func parseSent(t *testing.T, out string) sent {
	t.Helper()
	rest, ok := strings.CutPrefix(out, retryLine)
	if !ok {
		t.Errorf("the stream opens with %.40q, want %q", out, retryLine)
	}
	var s sent
	dec := eventsource.NewDecoder(strings.NewReader(rest))
	for {
		ev, err := dec.Decode()
		if err == io.EOF {
			return s
		}
		if err != nil {
			t.Errorf("decoding the stream: %v", err)
			return s
		}
		if strings.Contains(ev.Data(), "\n") {
			t.Errorf("%s event's data spans lines: %q", ev.Event(), ev.Data())
		}
		switch name := ev.Event(); name {
		case "log":
			var entry struct{ Pos int }
			if json.Unmarshal([]byte(ev.Data()), &entry) != nil || ev.Id() == "" || fmt.Sprint(entry.Pos) != ev.Id() {
				t.Errorf("log event id %q carries another entry: %s", ev.Id(), ev.Data())
			}
			s = append(s, "log "+ev.Id())
		case "status", "done", "error":
			if ev.Id() != "" {
				t.Errorf("%s event carries id %q; only logs may", name, ev.Id())
			}
			if name == "error" {
				name += " " + ev.Data()
			}
			s = append(s, name)
		default:
			t.Errorf("unexpected event %q (id %q, data %q)", name, ev.Id(), ev.Data())
		}
	}
}

// logs returns the positions of the log events, as "from..to" ranges.
func (s sent) logs() string {
	var ranges []string
	start, prev := -1, -1
	for _, ev := range s {
		pos, ok := strings.CutPrefix(ev, "log ")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(pos)
		if n != prev+1 || start < 0 {
			if start >= 0 {
				ranges = append(ranges, fmt.Sprintf("%d..%d", start, prev))
			}
			start = n
		}
		prev = n
	}
	if start >= 0 {
		ranges = append(ranges, fmt.Sprintf("%d..%d", start, prev))
	}
	return strings.Join(ranges, ",")
}

func (s sent) last() string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// waitFor waits until cond holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// pollerOf returns the poller of (tok, 1, 1), or nil.
func pollerOf(h *Hub, tok string) *poller {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pollers[key{sha256.Sum256([]byte(tok)), 1, 1}]
}

// history returns the positions and bytes a poller holds.
func (p *poller) history() (base, n, size int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base, len(p.logs), p.size
}
