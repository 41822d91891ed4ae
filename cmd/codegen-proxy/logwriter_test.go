package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogWriterBatchesInOrderAndFlushes(t *testing.T) {
	// An interval no test outlives: only the size limit and Close write.
	out := &lockedBuffer{}
	w := newLogWriter(out, 1<<10, time.Hour)
	w.Write([]byte("first\n"))
	if out.String() != "" {
		t.Errorf("a short line was written at once, not batched")
	}
	w.Write(bytes.Repeat([]byte("x"), 2<<10)) // over the limit: written at once
	if got := out.String(); !strings.HasPrefix(got, "first\n") || len(got) < 2<<10 {
		t.Errorf("a batch over the limit waited for the interval, or lost its order: %d bytes", len(got))
	}
	w.Write([]byte("last\n"))
	w.Close()
	if !strings.HasSuffix(out.String(), "last\n") {
		t.Errorf("Close lost the last line")
	}
}

func TestLogWriterFlushesAfterTheInterval(t *testing.T) {
	out := &lockedBuffer{}
	w := newLogWriter(out, 1<<10, 20*time.Millisecond)
	defer w.Close()
	w.Write([]byte("first\n"))
	deadline := time.Now().Add(5 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if out.String() != "first\n" {
		t.Errorf("after the interval: %q, want the line", out.String())
	}
}

func TestLogWriterKeepsLinesWholeUnderConcurrency(t *testing.T) {
	out := &lockedBuffer{}
	w := newLogWriter(out, 512, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				fmt.Fprintf(w, "g%d-%d\n", g, i)
			}
		}()
	}
	wg.Wait()
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	last := map[string]int{}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d-%d", &g, &i); err != nil {
			t.Fatalf("torn line %q", l)
		}
		if prev, ok := last[fmt.Sprint(g)]; ok && i != prev+1 {
			t.Fatalf("goroutine %d: line %d after %d", g, i, prev)
		}
		last[fmt.Sprint(g)] = i
	}
}
