package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// TestStrictInputIs400 covers input that the proxy used to take with a
// guess: a 400 naming the problem, and nothing sent upstream.
func TestStrictInputIs400(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, method, path, body, wantMsg string }{
		// Body JSON.
		{"body invalid UTF-8 in a value", "POST", "/agent-runs", "{\"prompt\":\"caf\xe9\"}", "not valid UTF-8"},
		{"body invalid UTF-8 in metadata", "POST", "/agent-runs", "{\"prompt\":\"x\",\"metadata\":{\"k\":\"\xff\xfe\"}}", "not valid UTF-8"},
		{"body invalid UTF-8 in a key", "POST", "/agent-runs/1/resume", "{\"prompt\":\"x\",\"\xc0\":1}", "not valid UTF-8"},
		{"body key in upper case", "POST", "/agent-runs", `{"PROMPT":"x"}`, `unknown field "PROMPT": field names are case-sensitive; did you mean "prompt"?`},
		{"body key in mixed case", "POST", "/agent-runs", `{"prompt":"x","Repo_Id":4}`, `did you mean "repo_id"?`},
		{"body key escaped to another case", "POST", "/agent-runs", `{"\u0050rompt":"x"}`, `unknown field "Prompt"`},
		{"body duplicate key", "POST", "/agent-runs", `{"prompt":"x","prompt":"y"}`, `field "prompt" is given twice`},
		{"body duplicate key, escaped", "POST", "/agent-runs", `{"prompt":"x","metadata":{},"\u0070rompt":"y"}`, `field "prompt" is given twice`},
		{"body duplicate key, other case", "POST", "/agent-runs", `{"prompt":"x","PROMPT":"y"}`, `did you mean "prompt"?`},
		{"body duplicate metadata", "POST", "/agent-runs", `{"prompt":"x","metadata":{"a":1},"metadata":{"b":2}}`, `field "metadata" is given twice`},
		{"body unknown field", "POST", "/agent-runs", `{"prompt":"x","priority":"high"}`, `unknown field "priority": the fields are prompt, images, metadata, repo_id, model, agent_type`},
		{"body unknown field on resume", "POST", "/agent-runs/1/resume", `{"prompt":"x","metadata":{}}`, `unknown field "metadata": the fields are prompt, images`},
		{"body lone surrogate in a value", "POST", "/agent-runs", `{"prompt":"a\ud800b"}`, "lone UTF-16 surrogate"},
		{"body lone surrogate hiding other checks", "POST", "/agent-runs", `{"prompt":"\ud800","PROMPT":"evil","zzz":1}`, "lone UTF-16 surrogate"},
		{"body lone surrogate as a key", "POST", "/agent-runs", `{"\ud800":1,"prompt":"ok"}`, "lone UTF-16 surrogate"},
		{"body lone surrogate in metadata", "POST", "/agent-runs", `{"prompt":"x","metadata":{"k":"\udfff"}}`, "lone UTF-16 surrogate"},
		{"body long unknown field", "POST", "/agent-runs", `{"prompt":"x","` + strings.Repeat("k", 5000) + `":1}`, `unknown field "kkkkkkkk`},
		// Ids in paths.
		{"id with plus", "GET", "/agent-runs/+1", "", "id must be a positive integer"},
		{"id with leading zero", "GET", "/agent-runs/01", "", "id must be a positive integer"},
		{"id with space", "GET", "/agent-runs/%201/logs", "", "id must be a positive integer"},
		{"id in exponent form", "GET", "/agent-runs/1e3", "", "id must be a positive integer"},
		{"id with plus on resume", "POST", "/agent-runs/+7/resume", `{"prompt":"x"}`, "id must be a positive integer"},
		{"id with leading zero on stream", "GET", "/agent-runs/007/logs/stream", "", "id must be a positive integer"},
		{"user_id with plus", "GET", "/agent-runs?user_id=%2B7", "", "user_id must be a positive integer"},
		{"org_id with leading zero", "GET", "/agent-runs/1?org_id=0323", "", "org_id must be a positive integer"},
		{"limit with leading zero", "GET", "/agent-runs?limit=010", "", "limit must be an integer from 1 to 100"},
		{"after with plus", "GET", "/agent-runs/1/logs/stream?after=%2B3", "", "after must be a log position"},
		// Query.
		{"semicolon after a value", "GET", "/agent-runs?status=FAILED;", "", `the query string holds a ";"`},
		{"semicolon as separator", "GET", "/agent-runs/1/logs?limit=5;message_type=ACTION", "", `the query string holds a ";"`},
		{"malformed escape", "GET", "/agent-runs?status=%zz", "", "the query string is malformed"},
		{"status twice", "GET", "/agent-runs?status=FAILED&status=COMPLETE", "", "status: give it once"},
		{"user_id twice", "GET", "/agent-runs?user_id=1&user_id=2", "", "user_id: give it once"},
		{"source_type twice", "GET", "/agent-runs?source_type=API&source_type=API", "", "source_type: give it once"},
		{"message_type twice", "GET", "/agent-runs/1/logs?message_type=ACTION&message_type=ERROR", "", "message_type: give it once"},
		{"reverse twice", "GET", "/agent-runs/1/logs?reverse=true&reverse=false", "", "reverse: give it once"},
		{"org_id twice", "GET", "/agent-runs/1?org_id=323&org_id=324", "", "org_id: give it once"},
		{"after twice", "GET", "/agent-runs/1/logs/stream?after=1&after=2", "", "after: give it once"},
		{"org_id twice, once escaped", "GET", "/agent-runs/1?org_id=323&org%5Fid=324", "", "org_id: give it once"},
		{"org_id escaped", "GET", "/agent-runs/1?org%5Fid=0323", "", "org_id must be a positive integer"},
		{"status unknown", "GET", "/agent-runs?status=completed", "",
			`status must be a comma-separated list of ` + strings.Join(codegen.RunStatuses(), ", ") + `, in any case: "completed" is none of them`},
		{"status unknown in a list", "GET", "/agent-runs?status=FAILED,done", "", `"done" is none of them`},
		{"status empty in a list", "GET", "/agent-runs?status=FAILED,,COMPLETE", "", `"" is none of them`},
		{"message_type unknown", "GET", "/agent-runs/1/logs?message_type=THOUGHT", "",
			`message_type must be a comma-separated list of ` + strings.Join(codegen.MessageTypes(), ", ") + `, in any case: "THOUGHT" is none of them`},
	}
	// A finished run with no logs, should a stream be opened by mistake: it
	// ends at once.
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323,"status":"COMPLETE","logs":[],"total_logs":0,"items":[],"total":0,"page":1,"size":1,"pages":0}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, tt.method, proxy+tt.path, tt.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, body)
			}
			if e := decodeEnvelope(t, body); !strings.Contains(e.Error, tt.wantMsg) || e.Code != "invalid_request" {
				t.Errorf("error %q (code %s), want it to contain %q", e.Error, e.Code, tt.wantMsg)
			}
		})
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("bad input reached upstream: %+v", got)
	}
}

// TestStrictInputStillTakesWhatIsRight checks the other side of the strict
// rules: what they must not refuse.
func TestStrictInputStillTakesWhatIsRight(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, method, path, body, wantQuery string }{
		{"nested names are the caller's", "POST", "/agent-runs",
			`{"prompt":"x","metadata":{"a":1,"a":2,"PROMPT":3,"priority":"high"}}`, ""},
		{"escaped known name", "POST", "/agent-runs", `{"\u0070rompt":"x"}`, ""},
		{"UTF-8 text", "POST", "/agent-runs", `{"prompt":"café ✓ 😀"}`, ""},
		{"every status, any case", "GET", "/agent-runs?status=" + strings.ToLower(strings.Join(codegen.RunStatuses(), ",")), "", "limit=100"},
		{"every message type, spaces", "GET", "/agent-runs/1/logs?message_type=" + strings.Join(codegen.MessageTypes(), "%20,%20"), "", "limit=100"},
		{"escaped semicolon", "GET", "/agent-runs?status=FAILED&org_id=323&x=a%3Bb", "", "limit=100"},
		{"empty value is absent", "GET", "/agent-runs?status=&user_id=", "", "limit=100"},
	}
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323,"items":[],"total":0,"page":1,"size":1,"pages":0,"logs":[],"total_logs":0}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tt := range tests {
		resp, body := call(t, tt.method, proxy+tt.path, tt.body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200: %s", tt.name, resp.StatusCode, body)
			continue
		}
		got := u.requests()
		if last := got[len(got)-1]; tt.wantQuery != "" && last.Query != tt.wantQuery {
			t.Errorf("%s: upstream query %q, want %q", tt.name, last.Query, tt.wantQuery)
		}
	}
	// The metadata goes upstream exactly as sent, duplicate names included.
	for _, r := range u.requests() {
		if r.Method == "POST" && strings.Contains(r.Body, "metadata") && !strings.Contains(r.Body, `{"a":1,"a":2,"PROMPT":3,"priority":"high"}`) {
			t.Errorf("metadata changed on its way upstream: %s", r.Body)
		}
	}
}

// BenchmarkDecodeBody measures decodeBody on a body that is mostly one
// image, the largest kind: the member check reads the buffer in place.
func BenchmarkDecodeBody(b *testing.B) {
	body := []byte(`{"prompt":"x","metadata":{"k":"v"},"images":["data:image/png;base64,` +
		strings.Repeat("QUFB", 8<<20/4) + `"]}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var req createRunRequest
		if err := decodeBody(body, &req); err != nil || !bytes.HasPrefix(req.Images, []byte(`["data:`)) {
			b.Fatal(err)
		}
	}
}

// TestTwoOrganizationHeadersAre400 checks that a request naming its
// organization twice is refused rather than served for the first one.
func TestTwoOrganizationHeadersAre400(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{})
	req, _ := http.NewRequest(http.MethodGet, proxy+"/agent-runs/1", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	req.Header["X-Codegen-Org-Id"] = []string{"323", "999"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e := decodeEnvelope(t, string(b)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "X-Codegen-Org-Id: give it once") {
		t.Errorf("status %d, error %q; want 400 naming X-Codegen-Org-Id", resp.StatusCode, e.Error)
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("upstream got %+v", got)
	}
}

// TestTwoLastEventIDsAre400 checks that a stream asked to resume from two
// positions is refused rather than resumed from the first.
func TestTwoLastEventIDsAre400(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{})
	req, _ := http.NewRequest(http.MethodGet, proxy+"/agent-runs/1/logs/stream", nil)
	req.Header.Set("Authorization", "Bearer "+secretToken)
	req.Header["Last-Event-Id"] = []string{"3", "7"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e := decodeEnvelope(t, string(b)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "Last-Event-ID: give it once") {
		t.Errorf("status %d, error %q; want 400 naming Last-Event-ID", resp.StatusCode, e.Error)
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("upstream got %+v", got)
	}
}
