package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/config"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

// The fuzz targets feed caller input to the parsers and to the whole
// handler. Run one with: go test -run '^$' -fuzz '^FuzzRequest$' ./internal/server
// (make fuzz runs each for a bounded time; the f.Add seeds are the corpus).

// FuzzRequest sends arbitrary requests through the full handler, in front of
// an upstream that always answers well: the answer must be 2xx, 3xx or 4xx,
// never 5xx, and every 4xx is the error envelope.
func FuzzRequest(f *testing.F) {
	f.Add("GET", "/agent-runs/12345", "limit=10&skip=2", "", "Bearer sandbox", "", "")
	f.Add("POST", "/agent-runs", "", `{"prompt":"x","images":["data:,"],"repo_id":3}`, "Bearer t", "rid-1", "application/json")
	f.Add("POST", "/agent-runs/9/resume", "org_id=4", `{"prompt":null}`, "bearer t", "", "text/plain")
	f.Add("GET", "/agent-runs", "status=complete,failed&page=3&limit=100&source_type=api&user_id=7", "", "Bearer t", "", "")
	f.Add("GET", "/agent-runs/1/logs", "message_type=ACTION&reverse=1", "", "Bearer t", "", "")
	f.Add("GET", "/agent-runs/1/logs/stream", "after=5&access_token=t", "", "", "", "")
	f.Add("GET", "/agent-runs/stream", "access_token=t", "", "", "", "")
	f.Add("GET", "/agent-runs/1/wait", "timeout=1", "", "Bearer t", "", "")
	f.Add("GET", "/organizations", "page=0&limit=101", "", "Basic x", "\x00", "")
	f.Add("DELETE", "/%zz", "%%", "{", "Bearer \x7f", "a b", "multipart/form-data; boundary")

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/logs"):
			io.WriteString(w, `{"id":1,"organization_id":1,"status":"COMPLETE","logs":[{"agent_run_id":1,"message_type":"ACTION"}],"total_logs":1}`)
		case strings.HasSuffix(r.URL.Path, "/runs") || r.URL.Path == "/v1/organizations":
			io.WriteString(w, `{"items":[{"id":1,"organization_id":1,"status":"COMPLETE","name":"o","settings":{}}],"total":1,"page":1,"size":100,"pages":1}`)
		default:
			io.WriteString(w, `{"id":1,"organization_id":1,"status":"COMPLETE"}`)
		}
	}))
	defer upstream.Close()
	cfg, _ := config.Load(nil, func(k string) string { return "" }, io.Discard)
	client := &codegen.Client{BaseURL: upstream.URL + "/v1"}
	hub := &stream.Hub{Client: client}
	defer hub.Close()
	h := newHandler(f, Deps{Logger: newTestLogger(io.Discard), Config: cfg, Client: client, Streams: hub})

	methods := map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "OPTIONS": true, "HEAD": true}
	f.Fuzz(func(t *testing.T, method, path, query, body, auth, requestID, contentType string) {
		if !methods[method] {
			method = "GET"
		}
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/docs/") {
			return // not a request net/http would route; Swagger UI's assets are static
		}
		req := &http.Request{
			Method: method, URL: &url.URL{Path: path, RawQuery: query}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
			Host: "127.0.0.1", RemoteAddr: "127.0.0.1:1", RequestURI: path,
		}
		for k, v := range map[string]string{"Authorization": auth, "X-Request-Id": requestID, "Content-Type": contentType, "Last-Event-Id": requestID} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		// The runs feed never ends by itself: a deadline ends it, as a
		// client leaving would, and such an answer is a stream, not checked.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req = req.WithContext(ctx)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if ctx.Err() != nil {
			return
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s answered %d: %s", method, path, query, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && method != "HEAD" {
			var e envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.StatusCode != rec.Code || e.Error == "" {
				t.Fatalf("%s %s answered %d without the envelope: %s", method, path, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzParsePage checks page, skip and limit parsing: either a 400 or a page
// within the API's bounds that agrees with what was asked.
func FuzzParsePage(f *testing.F) {
	for _, q := range []string{"", "page=2&limit=10", "skip=5", "page=1&skip=1", "limit=0", "limit=100&page=21474836", "page=-1", "limit=1e3"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := parsePage(q, maxLimit)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Status != 400 {
				t.Fatalf("%q: error %v is not a 400", raw, err)
			}
			return
		}
		if p.Limit < 1 || p.Limit > maxLimit || p.Skip < 0 {
			t.Fatalf("%q: page %+v out of bounds", raw, p)
		}
		if q.Has("page") && p.Skip%p.Limit != 0 {
			t.Fatalf("%q: skip %d is not a whole number of pages of %d", raw, p.Skip, p.Limit)
		}
	})
}

// FuzzBearerToken checks that a token is accepted only when it is 1 to 4096
// visible ASCII characters after "Bearer ".
func FuzzBearerToken(f *testing.F) {
	for _, h := range []string{"Bearer sk-abc", "bearer x", "Bearer", "Bearer  x", "Basic x", "Bearer a\tb", "Bearer é"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, msg := bearerToken(h)
		if msg != "" {
			return
		}
		if tok == "" || len(tok) > maxTokenLen || strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }) {
			t.Fatalf("accepted token %q from %q", tok, h)
		}
		if !strings.HasSuffix(h, tok) {
			t.Fatalf("token %q is not what %q carried", tok, h)
		}
	})
}

// FuzzRequestID checks that only short, plain ids are kept.
func FuzzRequestID(f *testing.F) {
	for _, id := range []string{"abc-123", "", "a b", "0f8fad5b-d9cb-469f-a165-70867728950e", "x\ny", strings.Repeat("a", 129)} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !saneRequestID(id) {
			return
		}
		if len(id) == 0 || len(id) > 128 || strings.ContainsAny(id, " \r\n\t\"\\{}") {
			t.Fatalf("kept request id %q", id)
		}
	})
}

// FuzzResumePosition checks Last-Event-ID and after parsing: a 400, or the
// position after a non-negative id.
func FuzzResumePosition(f *testing.F) {
	for _, v := range [][2]string{{"5", ""}, {"", "7"}, {"-1", ""}, {"", "x"}, {" 3 ", "9"}, {"99999999999", ""}} {
		f.Add(v[0], v[1])
	}
	f.Fuzz(func(t *testing.T, header, after string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: url.Values{"after": {after}}.Encode()}}
		if header != "" {
			r.Header.Set("Last-Event-ID", header)
		}
		from, err := resumePosition(r)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Status != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if from < 0 || from > 1_000_000_001 {
			t.Fatalf("position %d from header %q, after %q", from, header, after)
		}
	})
}
