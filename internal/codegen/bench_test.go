package codegen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkClientGetRun measures one GetRun through the Client's own
// per-token pool (a net/http Transport) to a loopback upstream in the same
// process: allocs/op include the Transport's and the upstream's, so compare
// it run to run, not with the server's handler benchmark.
// With held, each call's answer is kept by HoldAnswers until the loop
// releases it, as the server's handlers do until they have written it.
func BenchmarkClientGetRun(b *testing.B) {
	for _, held := range []bool{false, true} {
		b.Run(map[bool]string{false: "returned", true: "held"}[held], func(b *testing.B) { benchGetRun(b, held) })
	}
}

func benchGetRun(b *testing.B, held bool) {
	run := []byte(`{"id":12345,"organization_id":323,"status":"COMPLETE","web_url":"https://sandbox.codegen.invalid/agent/trace/12345"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(run))}
		w.Write(run)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/v1", RequestID: func(context.Context) string { return "bench-id" }}
	defer c.CloseIdleConnections()
	b.ReportAllocs()
	for b.Loop() {
		ctx, release := context.Background(), func() {}
		if held {
			ctx, release = HoldAnswers(ctx)
		}
		if _, err := c.GetRun(ctx, "sk-bench", 323, 12345); err != nil {
			b.Fatal(err)
		}
		release()
	}
}
