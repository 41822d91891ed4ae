package main

import (
	"bufio"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

const otherCallersBytes = "sk-another-callers-secret"

func TestStdLogWriterLeavesOutTheQuotedBytes(t *testing.T) {
	t.Parallel()
	out := &lockedBuffer{}
	l := log.New(stdLogWriter{slog.New(slog.NewTextHandler(out, nil))}, "", 0)
	l.Printf("Unsolicited response received on idle HTTP channel starting with %q; err=%v", "HTTP/1.1 200 OK\r\n\r\n"+otherCallersBytes, nil)
	l.Print("a line that quotes nothing")
	got := out.String()
	for _, want := range []string{"level=WARN", `text="Unsolicited response received on idle HTTP channel"`, `text="a line that quotes nothing"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, otherCallersBytes) || strings.Contains(got, "starting with") {
		t.Errorf("log holds the quoted bytes:\n%s", got)
	}
}

// TestTransportsUnsolicitedResponseLine has a real net/http Transport meet
// bytes on an idle connection, and checks what reaches the log. It sets the
// standard logger, so it does not run in parallel.
func TestTransportsUnsolicitedResponseLine(t *testing.T) {
	out := &lockedBuffer{}
	log.SetOutput(stdLogWriter{slog.New(slog.NewTextHandler(out, nil))})
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	idle, done := make(chan struct{}), make(chan struct{})
	go func() { // answers one request, then sends more once the connection is idle
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		<-idle
		io.WriteString(conn, "HTTP/1.1 200 OK\r\n\r\n"+otherCallersBytes)
		io.Copy(io.Discard, conn) // until the Transport drops the connection
	}()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close() // the connection goes back to the pool, idle
	close(idle)
	<-done

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Unsolicited response") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := out.String()
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "Unsolicited response received on idle HTTP channel") {
		t.Errorf("want a warning about the unsolicited response, got:\n%s", got)
	}
	if strings.Contains(got, otherCallersBytes) {
		t.Errorf("the log holds the bytes another caller was sent:\n%s", got)
	}
}
