package codegen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestAnswersOverTheBudgetFailBusy holds two answers half read, which fill
// the Client's MaxInFlightBytes, and checks that a third call fails with
// ErrBusy until they are done, with answers of known and of unknown length.
func TestAnswersOverTheBudgetFailBusy(t *testing.T) {
	t.Parallel()
	body := `"` + strings.Repeat("a", 998) + `"` // 1000 bytes of JSON
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if !chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				if r.Header.Get("Authorization") != "Bearer hold" {
					io.WriteString(w, body)
					return
				}
				io.WriteString(w, body[:10])
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				io.WriteString(w, body[10:])
			}))
			t.Cleanup(srv.Close)
			// Each answer reserves 1000 bytes, or 1025 (MaxResponseBytes+1)
			// without a Content-Length: two fit, three do not.
			c := &Client{BaseURL: srv.URL, MaxResponseBytes: 1024, MaxInFlightBytes: 2100, Retries: -1}
			t.Cleanup(c.CloseIdleConnections)
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			t.Cleanup(free) // first, should the test fail with answers held
			held := make(chan error, 2)
			for range 2 {
				go func() {
					got, err := c.CurrentUser(context.Background(), "hold")
					for errors.Is(err, ErrBusy) { // a probe had the room: try again
						got, err = c.CurrentUser(context.Background(), "hold")
					}
					if err == nil && string(got) != body {
						err = errors.New("a held answer came back altered")
					}
					held <- err
				}()
			}
			waitFor(t, "a call to fail with ErrBusy while two answers are held", func() bool {
				got, err := c.CurrentUser(context.Background(), "probe")
				if err != nil && !errors.Is(err, ErrBusy) {
					t.Fatalf("probe: %v, want ErrBusy or success", err)
				}
				if err == nil && string(got) != body {
					t.Fatalf("probe got %q", got)
				}
				return err != nil
			})
			free()
			for range 2 {
				if err := <-held; err != nil {
					t.Errorf("held call: %v", err)
				}
			}
			// The budget is whole again: calls one after another all fit.
			for range 5 {
				if _, err := c.CurrentUser(context.Background(), "probe"); err != nil {
					t.Fatalf("after the held answers: %v", err)
				}
			}
		})
	}
}

// TestHeldAnswersKeepTheirBudget checks that answers returned under a
// HoldAnswers context keep their bytes reserved until release, and that
// failed calls' bytes are not kept.
func TestHeldAnswersKeepTheirBudget(t *testing.T) {
	t.Parallel()
	body := `"` + strings.Repeat("a", 998) + `"` // 1000 bytes of JSON
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/organizations" {
			w.WriteHeader(http.StatusNotFound)
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL, MaxResponseBytes: 1024, MaxInFlightBytes: 2100, Retries: -1}
	t.Cleanup(c.CloseIdleConnections)
	ctx, release := HoldAnswers(context.Background())
	for range 3 { // failed calls keep nothing
		var apiErr *Error
		if _, err := c.Organizations(ctx, "tok", PageParams{}); !errors.As(err, &apiErr) {
			t.Fatalf("err = %v, want the API's 404", err)
		}
	}
	for i := range 2 {
		if _, err := c.CurrentUser(ctx, "tok"); err != nil {
			t.Fatalf("held call %d: %v", i, err)
		}
	}
	if _, err := c.CurrentUser(context.Background(), "tok"); !errors.Is(err, ErrBusy) {
		t.Fatalf("with two answers held: err = %v, want ErrBusy", err)
	}
	release()
	release()
	for range 3 {
		if _, err := c.CurrentUser(ctx, "tok"); err != nil { // after release, nothing is kept
			t.Fatalf("after release: %v", err)
		}
	}
}

// TestHoldBytesKeepsTheBytesUntilRelease reserves answers' bytes that no
// call read, as the read cache does for the answers it shares.
func TestHoldBytesKeepsTheBytesUntilRelease(t *testing.T) {
	t.Parallel()
	c := &Client{BaseURL: "http://127.0.0.1:1", MaxResponseBytes: 1024, MaxInFlightBytes: 2100}
	first, releaseFirst := HoldAnswers(context.Background())
	if err := c.HoldBytes(first, 1500); err != nil {
		t.Fatalf("1500 of 2100 bytes: got %v, want nil", err)
	}
	second, releaseSecond := HoldAnswers(context.Background())
	defer releaseSecond()
	if err := c.HoldBytes(second, 1000); !errors.Is(err, ErrBusy) {
		t.Fatalf("1000 more bytes with 1500 of 2100 held: got %v, want ErrBusy", err)
	}
	if err := c.HoldBytes(context.Background(), 1<<20); err != nil {
		t.Fatalf("without a hold: got %v, want nil (nothing reserved)", err)
	}
	releaseFirst()
	if err := c.HoldBytes(first, 2100); err != nil {
		t.Fatalf("after its release a hold keeps nothing: got %v, want nil", err)
	}
	if err := c.HoldBytes(second, 2100); err != nil {
		t.Fatalf("2100 bytes once the first hold is released: got %v, want nil", err)
	}
	if err := c.HoldBytes(first, 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("one more byte with 2100 of 2100 held: got %v, want ErrBusy", err)
	}
}
