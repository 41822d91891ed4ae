package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// TestFilteredLogsKeepTheRunAsSent checks the typed answer of a filtered
// logs request: the schema's fields, the run's as the upstream sent them
// (a number too large for float64 included), and the matching logs byte for
// byte.
func TestFilteredLogsKeepTheRunAsSent(t *testing.T) {
	t.Parallel()
	const (
		metadata = `{"ticket":12345678901234567890,"tags":["a","b"]}`
		log0     = `{"agent_run_id":7,"message_type":"ACTION","tool_output":{"n":1.50}}`
		log1     = `{"agent_run_id":7,"message_type":"FINAL_ANSWER","thought":"done"}`
	)
	u := newUpstream(t, jsonAnswer(200, `{"id":7,"organization_id":323,"status":"COMPLETE","created_at":"2026-11-25T12:00:00",`+
		`"web_url":"https://x.invalid/7","result":null,"metadata":`+metadata+`,"logs":[`+log0+`,`+log1+`],`+
		`"total_logs":2,"page":1,"size":100,"pages":1}`))
	proxy := newProxy(t, u, proxyOpts{})
	resp, body := call(t, "GET", proxy+"/agent-runs/7/logs?message_type=final_answer&limit=10", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"created_at", "id", "logs", "metadata", "organization_id", "page", "pages", "result", "size", "status", "total_logs", "web_url"}
	if !slices.Equal(keys, want) {
		t.Errorf("fields %v, want %v", keys, want)
	}
	for k, v := range map[string]string{"id": "7", "status": `"COMPLETE"`, "result": "null", "metadata": metadata,
		"logs": "[" + log1 + "]", "total_logs": "1", "page": "1", "size": "10", "pages": "1"} {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	if resp.Header.Get("X-Filter-Scanned") != "2" || resp.Header.Get("X-Filter-Complete") != "true" {
		t.Errorf("scan headers %q %q, want 2 true", resp.Header.Get("X-Filter-Scanned"), resp.Header.Get("X-Filter-Complete"))
	}
}
