package server

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/config"
)

// TestJSONPassesThroughByteForByte sends metadata and images whose JSON a
// decode into Go values would change (key order, number spelling, a number
// beyond float64's precision, escapes) and checks that the upstream gets
// them exactly as sent.
func TestJSONPassesThroughByteForByte(t *testing.T) {
	t.Parallel()
	const metadata = `{"z":1,"a":[1,2.50,-3E-7,12345678901234567890123,1e400,{"deep":{"er":[null,true,false,"\u00e9\"\/x",[]]}}],"m":{},"s":"é"}`
	const images = `["data:image/png;base64,AA==","data:image\/png;base64,iVBO\/w==","data:,"]`
	tests := []struct{ name, path, body, want string }{
		{"create", "/agent-runs", `{"metadata":` + metadata + `,"prompt":"x","images":` + images + `}`,
			`{"prompt":"x","images":` + images + `,"metadata":` + metadata + `}`},
		{"create, null metadata and images", "/agent-runs", `{"prompt":"x","metadata":null,"images":null}`, `{"prompt":"x"}`},
		{"resume", "/agent-runs/7/resume", `{"images":` + images + `,"prompt":"go on"}`,
			`{"agent_run_id":7,"prompt":"go on","images":` + images + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, jsonAnswer(200, `{"id":7,"organization_id":323}`))
			proxy := newProxy(t, u, proxyOpts{})
			if resp, body := call(t, "POST", proxy+tt.path, tt.body); resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := u.requests()
			if len(got) != 1 || got[0].Body != tt.want {
				t.Errorf("upstream got\n %+v\nwant the body\n %s", got, tt.want)
			}
		})
	}
}

// TestImagesAndMetadataAreChecked covers the checks made on images and
// metadata without decoding them.
func TestImagesAndMetadataAreChecked(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, wantMsg string }{
		{"images not an array", `{"prompt":"x","images":"data:,"}`, "images must be an array of strings"},
		{"image null", `{"prompt":"x","images":["data:,",null]}`, "images must be an array of strings"},
		{"image an object", `{"prompt":"x","images":[{"data":"x"}]}`, "images must be an array of strings"},
		{"image without comma", `{"prompt":"x","images":["data:,","data:image/png;base64"]}`, "images[1] must be a data URI"},
		{"image escaped, not data", `{"prompt":"x","images":["dat\u0061x:,"]}`, "images[0] must be a data URI"},
		{"metadata a string", `{"prompt":"x","metadata":"a"}`, "metadata must be an object"},
		{"metadata a number", `{"prompt":"x","metadata":1}`, "metadata must be an object"},
		{"resume image not a data URI", `{"prompt":"x","images":["x,y"]}`, "images[0] must be a data URI"},
	}
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/agent-runs"
			if strings.HasPrefix(tt.name, "resume") {
				path = "/agent-runs/3/resume"
			}
			resp, body := call(t, "POST", proxy+path, tt.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, body)
			}
			if e := decodeEnvelope(t, body); !strings.Contains(e.Error, tt.wantMsg) {
				t.Errorf("error %q, want it to contain %q", e.Error, tt.wantMsg)
			}
		})
	}
	if got := u.requests(); len(got) != 0 {
		t.Errorf("bad input reached upstream: %+v", got)
	}
	// An escaped header is decoded and accepted.
	if resp, body := call(t, "POST", proxy+"/agent-runs", `{"prompt":"x","images":["\u0064ata:image\/png;base64,AA=="]}`); resp.StatusCode != 200 {
		t.Errorf("escaped data URI: status %d, want 200: %s", resp.StatusCode, body)
	}
}

// continueClient is a client that sends a body announced with
// Expect: 100-continue only once the server starts reading it, and traces
// whether it did.
func continueClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{ExpectContinueTimeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// bodyRequest makes a POST with the secret token (unless auth is false)
// whose body the server must ask for with 100 Continue; continued is closed
// when it does.
func bodyRequest(t *testing.T, url string, body io.Reader, length int64, auth bool) (req *http.Request, continued chan struct{}) {
	t.Helper()
	continued = make(chan struct{})
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(continued) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "POST", url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+secretToken)
	}
	return req, continued
}

// readCounter counts the reads of a body.
type readCounter struct {
	io.Reader
	reads atomic.Int64
}

func (r *readCounter) Read(p []byte) (int, error) {
	r.reads.Add(1)
	return r.Reader.Read(p)
}

// TestTokenIsCheckedBeforeTheBodyIsRead checks that a request without a
// token gets its 401 before the server asks for its body.
func TestTokenIsCheckedBeforeTheBodyIsRead(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{}`))
	proxy := newProxy(t, u, proxyOpts{})
	client := continueClient(t)
	for _, path := range []string{"/agent-runs", "/agent-runs/1/resume"} {
		body := &readCounter{Reader: strings.NewReader(`{"prompt":"x"}`)}
		req, continued := bodyRequest(t, proxy+path, body, 14, false)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || decodeEnvelope(t, string(b)).Code != "unauthorized" {
			t.Errorf("%s: got %d %s, want 401 unauthorized", path, resp.StatusCode, b)
		}
		select {
		case <-continued:
			t.Errorf("%s: the server asked for the body of a request without a token", path)
		default:
		}
		if n := body.reads.Load(); n != 0 {
			t.Errorf("%s: the body was read %d times, want never", path, n)
		}
	}
	if n := len(u.requests()); n != 0 {
		t.Errorf("upstream saw %d requests, want none", n)
	}
}

// TestBodiesInFlightAreBounded holds one body open, declared at the most a
// body may be but sent in part: it holds only the chunks it sent (of 513
// bytes: an eighth of MaxBodyBytes, plus one), so a body that it would have
// kept out had it reserved its Content-Length fits. Once it has sent enough
// to fill the budget, another body that does not fit gets 503 server_busy
// with Retry-After and its connection closed, and one declared over
// MaxBodyBytes 413 first, unread. A body of unknown length (chunked) is
// refused with 400 before anything is reserved.
func TestBodiesInFlightAreBounded(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, jsonAnswer(200, `{"id":1,"organization_id":323}`))
	proxy := newProxy(t, u, proxyOpts{config: func(c *config.Config) {
		c.MaxBodyBytes, c.MaxInflightBodyBytes = 4096, 6000
		c.BodyReadTimeout = time.Hour // the held body must not time out on a loaded machine: that is another test
	}})
	client := continueClient(t)
	send := func(length int64, size int) (*http.Response, string, *readCounter) {
		t.Helper()
		body := &readCounter{Reader: strings.NewReader(`{"prompt":"x"}` + strings.Repeat(" ", size-14))}
		req, _ := bodyRequest(t, proxy+"/agent-runs/1/resume", body, length, true)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("body of %d: %v", length, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b), body
	}

	pr, pw := io.Pipe()
	held, continued := bodyRequest(t, proxy+"/agent-runs", pr, 4096, true)
	heldDone := make(chan *http.Response, 1)
	go func() {
		resp, err := client.Do(held)
		if err != nil {
			t.Error(err)
			resp = nil
		}
		heldDone <- resp
	}()
	select {
	case <-continued: // the server began to read
	case <-time.After(10 * time.Second):
		t.Fatal("the server never asked for the held body")
	}
	// Nothing sent yet: the held body holds one chunk, and a largest body fits.
	if resp, b, _ := send(4096, 4096); resp.StatusCode != http.StatusOK {
		t.Fatalf("a largest body beside one that sent nothing: got %d %s, want 200", resp.StatusCode, b)
	}

	// 3000 bytes sent: the held body holds 6 chunks (3078 bytes), and a
	// largest body no longer fits, once the server has read them.
	io.WriteString(pw, `{"prompt":"held"}`+strings.Repeat(" ", 3000-17))
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, b, _ := send(4096, 4096)
		if resp.StatusCode == http.StatusServiceUnavailable {
			if e := decodeEnvelope(t, b); e.Code != "server_busy" || resp.Header.Get("Retry-After") == "" || !resp.Close {
				t.Errorf("over the budget: envelope %+v, Retry-After %q, close %v: want server_busy, Retry-After, Connection: close",
					e, resp.Header.Get("Retry-After"), resp.Close)
			}
			break
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("probe: got %d %s", resp.StatusCode, b)
		}
		if time.Now().After(deadline) {
			t.Fatal("no body was refused with the held one filling half the budget")
		}
	}
	for _, tt := range []struct {
		name   string
		length int64
		want   int
		code   string
	}{
		{"unknown length", -1, http.StatusBadRequest, "invalid_request"},
		{"over MaxBodyBytes, though the budget is full", 5000, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"within what is left", 14, http.StatusOK, ""},
	} {
		resp, b, body := send(tt.length, int(max(tt.length, 14)))
		if resp.StatusCode != tt.want {
			t.Fatalf("%s: got %d %s, want %d", tt.name, resp.StatusCode, b, tt.want)
		}
		if tt.want == http.StatusOK {
			continue
		}
		if e := decodeEnvelope(t, b); e.Code != tt.code || e.StatusCode != tt.want {
			t.Errorf("%s: envelope %+v, want %s", tt.name, e, tt.code)
		}
		if n := body.reads.Load(); n != 0 {
			t.Errorf("%s: body read %d times, want never", tt.name, n)
		}
	}

	io.WriteString(pw, strings.Repeat(" ", 4096-3000))
	pw.Close()
	resp := <-heldDone
	if resp == nil {
		t.FailNow()
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("held request: got %d %s, want 200", resp.StatusCode, b)
	}
	// Its reservation is given back: a body of MaxBodyBytes fits again.
	body := &readCounter{Reader: strings.NewReader(`{"prompt":"after"}` + strings.Repeat(" ", 4096-18))}
	req, _ := bodyRequest(t, proxy+"/agent-runs", body, 4096, true)
	if resp, err := client.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("after the held body: status %d, want 200", resp.StatusCode)
	}
}
