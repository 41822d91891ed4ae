package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Markers around the generated part of docs/benchmarks.md; the rest of the
// file is written by hand.
const (
	beginResults = "<!-- BEGIN RESULTS: written by make bench -->"
	endResults   = "<!-- END RESULTS -->"
)

// runAll runs the HTTP and stream benchmarks, prints the results with the
// machine's facts, and with -out writes them between the markers of a file.
func runAll(ctx context.Context, args []string, dir string, stdout io.Writer) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	out := fs.String("out", "", "Markdown file whose results section to replace")
	proxy := fs.String("proxy", "bin/codegen-proxy", "codegen-proxy binary to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := io.MultiWriter(stdout, &buf)
	fmt.Fprintln(w, machineFacts())
	fmt.Fprintln(w, "\n## Proxy overhead: direct vs nginx vs codegen-proxy")
	ho, err := parseHTTPOpts([]string{"-proxy", *proxy})
	if err != nil {
		return err
	}
	ho.dir = dir
	if err := runHTTP(ho, w); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n## Log streams: K subscribers on one live run")
	so, err := parseStreamOpts([]string{"-proxy", *proxy})
	if err != nil {
		return err
	}
	so.dir = dir
	if err := runStream(ctx, so, w); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n## UI workload: K tabs of one token against the documented limits")
	uo, err := parseUIOpts([]string{"-proxy", *proxy})
	if err != nil {
		return err
	}
	uo.dir = dir
	if err := runUILoad(ctx, uo, w); err != nil {
		return err
	}
	if *out == "" {
		return nil
	}
	return replaceResults(*out, buf.String())
}

// replaceResults puts results between the markers of path, or writes them
// as the whole file when it has no markers.
func replaceResults(path, results string) error {
	doc, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(doc)
	i, j := strings.Index(s, beginResults), strings.Index(s, endResults)
	block := beginResults + "\n" + results + "\n" + endResults
	if i < 0 || j < i {
		s = block + "\n"
	} else {
		s = s[:i] + block + s[j+len(endResults):]
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// machineFacts describes where the numbers were measured.
func machineFacts() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Join(strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:], " ")
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	version := func(name string, args ...string) string {
		if _, err := exec.LookPath(name); err != nil {
			return name + " not installed"
		}
		out, _ := exec.Command(name, args...).CombinedOutput() // wrk -v exits 1
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return fmt.Sprintf("Measured %s on %s, %d cores, %s RAM, Linux %s; %s; %s; %s; hey. "+
		"Load generator, upstream and proxy share the machine.",
		time.Now().UTC().Format("2006-01-02"), cpu, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)),
		runtime.Version(), version("nginx", "-v"), version("wrk", "-v"))
}
