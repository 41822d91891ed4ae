package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the current code")

// goldenLimit is the size past which an answer is kept in the golden file
// as its length and SHA-256 rather than as text.
const goldenLimit = 4 << 10

// raw sends a request and returns the status and body of the answer.
func (f *fixture) raw(method, path, body string) (int, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer sandbox")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// recorder keeps, in order, what the sandbox answered to each request of a
// golden scenario.
type recorder struct {
	f       *fixture
	answers []string
}

func (rc *recorder) record(method, path, body string) {
	rc.f.t.Helper()
	status, b := rc.f.raw(method, path, body)
	answer := string(b)
	if len(b) > goldenLimit {
		sum := sha256.Sum256(b)
		answer = fmt.Sprintf("%d bytes, sha256 %s", len(b), hex.EncodeToString(sum[:]))
	}
	rc.answers = append(rc.answers, fmt.Sprintf("%s %s %s -> %d %s", method, path, body, status, answer))
}

// logPages records pages of run id's logs at positions that cover each kind
// of step: the plan, the first and last work entries, the final entry, both
// directions, past the end, and the whole log in pages of 100.
func (rc *recorder) logPages(id int64, total int) {
	rc.f.t.Helper()
	base := fmt.Sprintf("/v1/alpha/organizations/323/agent/run/%d/logs", id)
	for _, q := range []string{
		"skip=0&limit=3", "skip=624&limit=3", "skip=2500&limit=3", "skip=4997&limit=5", "skip=5000&limit=3",
		"reverse=true&limit=3", "reverse=true&skip=4998&limit=5", "skip=1&limit=1", "skip=10&limit=7&reverse=true",
	} {
		rc.record("GET", base+"?"+q, "")
	}
	for skip := 0; skip <= total; skip += 100 {
		rc.record("GET", fmt.Sprintf("%s?skip=%d", base, skip), "")
	}
}

// TestLogsAndListsMatchTheGoldenAnswers replays scenarios on a fake clock and
// compares every answer with testdata/golden.json, written by the sandbox
// that stored every log entry (go test -run Golden -update). Generating logs
// on demand must not change a byte of what callers see.
func TestLogsAndListsMatchTheGoldenAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Step: time.Second})
	rc := &recorder{f: f}
	createRun := func(prompt string) int64 {
		var r struct{ ID int64 }
		status, b := f.raw("POST", "/v1/organizations/323/agent/run", fmt.Sprintf(`{"prompt":%q}`, prompt))
		if err := json.Unmarshal(b, &r); status != 200 || err != nil {
			t.Fatalf("create %q: %d %s", prompt, status, b)
		}
		rc.answers = append(rc.answers, "create "+prompt+" -> "+string(b))
		return r.ID
	}
	resume := func(id int64, prompt string) {
		rc.record("POST", "/v1/organizations/323/agent/run/resume", fmt.Sprintf(`{"agent_run_id":%d,"prompt":%q}`, id, prompt))
	}
	list := func() {
		for _, q := range []string{"", "?skip=1&limit=4", "?user_id=1002", "?source_type=API&limit=3", "?skip=100"} {
			rc.record("GET", "/v1/organizations/323/agent/runs"+q, "")
		}
		rc.record("GET", "/v1/organizations/324/agent/runs", "")
	}

	var meta struct{ ID int64 }
	status, b := f.raw("POST", "/v1/organizations/323/agent/run",
		`{"prompt":"Metadata","metadata":{"z":1, "a":{"<b>":"x&y","n":[1.5,1e20,-0,null,true,{}]},"u":"\u00e9\u2028\ud83d\ude00\n\t\u0001","e":[]}}`)
	if err := json.Unmarshal(b, &meta); status != 200 || err != nil {
		t.Fatalf("create with metadata: %d %s", status, b)
	}
	rc.answers = append(rc.answers, "create with metadata -> "+string(b))
	rc.record("GET", fmt.Sprintf("/v1/organizations/323/agent/run/%d", meta.ID), "")
	rc.record("GET", fmt.Sprintf("/v1/alpha/organizations/323/agent/run/%d/logs?limit=1", meta.ID), "")

	big := createRun("Golden run with the most logs sandbox:logs=5000 sandbox:step=10ms")
	rc.logPages(big, 0)
	for _, d := range []time.Duration{10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond, time.Second} {
		f.clock.Advance(d)
		rc.logPages(big, 5000)
		rc.record("GET", fmt.Sprintf("/v1/organizations/323/agent/run/%d", big), "")
	}
	resume(big, "Past the cap: these logs are dropped")
	f.clock.Advance(10 * time.Second)
	rc.logPages(big, 5000)

	nearCap := createRun("Nearly full " + strings.Repeat("long prompt ", 10) + "sandbox:logs=4998 sandbox:step=5ms sandbox:paused")
	f.clock.Advance(time.Second)
	resume(nearCap, "Half of my logs fit")
	f.clock.Advance(time.Second)
	rc.logPages(nearCap, 5000)

	paused := createRun("Pause me sandbox:PAUSED sandbox:logs=20")
	f.clock.Advance(2500 * time.Millisecond)
	resume(paused, "Cut the plan short") // before the run paused: its last steps never happen
	f.clock.Advance(1500 * time.Millisecond)
	resume(paused, "Again, mid-resume")
	f.clock.Advance(time.Minute)
	resume(paused, "And once more, after the end")
	f.clock.Advance(2 * time.Second)
	rc.logPages(paused, 100)
	list()

	var ended []int64
	for _, o := range []string{"failed", "error", "cancelled", "stopped", "timeout", "max_iterations_reached", "out_of_tokens"} {
		ended = append(ended, createRun("Outcome sandbox:logs=3 sandbox:"+o))
	}
	f.clock.Advance(time.Hour)
	for _, id := range ended {
		rc.logPages(id, 0)
	}
	resume(12341, "A seed run resumed")
	f.clock.Advance(1500 * time.Millisecond)
	rc.record("GET", "/v1/alpha/organizations/324/agent/run/12339/logs", "")
	for _, id := range []int64{12341, 12345} {
		rc.record("GET", fmt.Sprintf("/v1/alpha/organizations/323/agent/run/%d/logs", id), "")
	}
	list()

	const path = "testdata/golden.json"
	if *update {
		b, _ := json.MarshalIndent(rc.answers, "", " ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(rc.answers) != len(want) {
		t.Fatalf("%d answers, want %d", len(rc.answers), len(want))
	}
	for i := range want {
		if !bytes.Equal([]byte(rc.answers[i]), []byte(want[i])) {
			t.Errorf("answer %d:\n got %s\nwant %s", i, rc.answers[i], want[i])
		}
	}
}
