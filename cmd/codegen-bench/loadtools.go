package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// result is what one load run measured.
type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int     // wrk: answers of 400 and up; hey: answers outside 2xx; both: socket and transport errors
	cpu      float64 // microseconds of CPU the measured hop used per request (set by runLeg)
}

const benchToken = "Authorization: Bearer sk-bench"

// wrk drives url with conns connections for d and parses its report.
func wrk(url string, conns int, d time.Duration) (result, error) {
	threads := min(2, conns)
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", d.String(), "--latency", "-H", benchToken}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	return parseWrk(string(out))
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(out string) (result, error) {
	var r result
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		d := parseDur(p[2], p[3])
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.errors += n
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errors += n
		}
	}
	return r, nil
}

// parseDur reads a latency in one of the units wrk prints (us, ms, s, m,
// h; hey's are seconds).
func parseDur(v, unit string) time.Duration {
	f, _ := strconv.ParseFloat(v, 64)
	u := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "m": time.Minute, "h": time.Hour}[unit]
	if u == 0 {
		u = time.Second
	}
	return time.Duration(f * float64(u))
}

// hey sends POSTs of body to url at rate requests/s for d, from a few
// workers, and parses its report: the way to load at a fixed low rate.
func hey(url, body string, rate int, d time.Duration) (result, error) {
	const workers = 4
	args := []string{"-z", d.String(), "-c", strconv.Itoa(workers), "-q", strconv.Itoa(max(1, rate/workers)),
		"-m", "POST", "-T", "application/json", "-H", benchToken, "-d", body, url}
	out, err := exec.Command("hey", args...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("hey: %v: %s", err, out)
	}
	return parseHey(string(out))
}

var (
	heyRPS    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	heyPct    = regexp.MustCompile(`(?m)^\s+(50|99)% in ([\d.]+) secs`)
	heyStatus = regexp.MustCompile(`\[(\d+)\]\s+(\d+) responses`)
	heyErrors = regexp.MustCompile(`(?s)Error distribution:(.*)`)
)

func parseHey(out string) (result, error) {
	var r result
	m := heyRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in hey output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range heyPct.FindAllStringSubmatch(out, -1) {
		d := parseDur(p[2], "s")
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	for _, s := range heyStatus.FindAllStringSubmatch(out, -1) {
		if !strings.HasPrefix(s[1], "2") {
			n, _ := strconv.Atoi(s[2])
			r.errors += n
		}
	}
	if m := heyErrors.FindStringSubmatch(out); m != nil {
		for _, line := range strings.Split(m[1], "\n") {
			var n int
			if _, err := fmt.Sscanf(strings.TrimSpace(line), "[%d]", &n); err == nil {
				r.errors += n
			}
		}
	}
	return r, nil
}
