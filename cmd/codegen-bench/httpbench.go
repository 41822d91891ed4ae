package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// httpOpts configure `codegen-bench http`.
type httpOpts struct {
	proxyBin  string
	duration  time.Duration
	conns     int
	rounds    int
	latencies []time.Duration
	postRate  int
	proxyEnv  []string // extra environment of the proxy, to compare settings
	only      string   // run only the scenarios whose name contains this
	dir       string
}

// leg is one way to reach the upstream: directly, through nginx, through a
// bare httputil.ReverseProxy or through codegen-proxy. hop is the process
// whose CPU the leg adds, if any.
type leg struct {
	name    string
	addr    string
	proxied bool // codegen-proxy's paths, not the API's (also the ReverseProxy's)
	hop     *proc
}

// scenario is one kind of request, by its API path and codegen-proxy path.
type scenario struct {
	name             string
	apiPath, ourPath string
	post             bool
}

var scenarios = []scenario{
	{name: "GET one run", apiPath: "/v1/organizations/323/agent/run/12345", ourPath: "/agent-runs/12345"},
	{name: "GET a list of 10", apiPath: "/v1/organizations/323/agent/runs?limit=10", ourPath: "/agent-runs?limit=10"},
	{name: "POST create (fixed rate)", apiPath: "/v1/organizations/323/agent/run", ourPath: "/agent-runs", post: true},
}

const createBody = `{"prompt":"Create a Python function to calculate fibonacci numbers","metadata":{"source":"bench"}}`

func parseHTTPOpts(args []string) (httpOpts, error) {
	o := httpOpts{}
	fs := flag.NewFlagSet("http", flag.ContinueOnError)
	fs.StringVar(&o.proxyBin, "proxy", "bin/codegen-proxy", "codegen-proxy binary to measure")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each leg")
	fs.IntVar(&o.conns, "conns", 50, "connections of the throughput legs")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of interleaved legs; medians are reported")
	fs.IntVar(&o.postRate, "post-rate", 100, "requests per second of the POST scenario")
	lat := fs.String("latencies", "0ms,20ms", "upstream latencies to measure at")
	env := fs.String("proxy-env", "", "comma-separated KEY=VALUE settings for the proxy, e.g. GOMAXPROCS=1")
	fs.StringVar(&o.only, "scenarios", "", "run only the scenarios whose name contains this, e.g. 'GET one'")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *env != "" {
		o.proxyEnv = strings.Split(*env, ",")
	}
	for _, s := range strings.Split(*lat, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return o, fmt.Errorf("-latencies: %w", err)
		}
		o.latencies = append(o.latencies, d)
	}
	return o, nil
}

// runHTTP measures every scenario through every leg at every latency and
// writes the tables as Markdown.
func runHTTP(o httpOpts, w io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, lat := range o.latencies {
		legs, stop, err := startLegs(o, self, lat)
		if err != nil {
			return err
		}
		err = measureLegs(o, lat, legs, w)
		stop()
		if err != nil {
			return err
		}
	}
	return nil
}

// measureLegs runs each scenario through every leg for o.rounds rounds,
// rotating their order, and writes the medians.
func measureLegs(o httpOpts, lat time.Duration, legs []leg, w io.Writer) error {
	fmt.Fprintf(w, "\n### Upstream latency %s: %d connections, %s per leg, %d rounds (medians)\n\n", lat, o.conns, o.duration, o.rounds)
	fmt.Fprintln(w, "| Scenario | Leg | req/s | p50 | p99 | errors | hop CPU per request | vs direct | vs ReverseProxy | vs nginx |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	var summary []string
	for _, sc := range scenarios {
		if !strings.Contains(sc.name, o.only) {
			continue
		}
		runs := map[string][]result{}
		for round := range o.rounds {
			for i := range legs {
				l := legs[(i+round)%len(legs)]
				r, err := runLeg(o, sc, l, o.conns)
				if err != nil {
					return fmt.Errorf("%s via %s: %w", sc.name, l.name, err)
				}
				runs[l.name] = append(runs[l.name], r)
			}
		}
		summary = append(summary, writeRows(w, sc.name, legs, runs))
	}
	fmt.Fprintln(w, "\ncodegen-proxy's throughput as a ratio of the others':")
	fmt.Fprintln(w)
	fmt.Fprintln(w, strings.Join(summary, "\n"))
	return measureLightLoad(o, legs, w)
}

// runLeg runs one scenario through one leg and notes the hop's CPU.
func runLeg(o httpOpts, sc scenario, l leg, conns int) (result, error) {
	path := sc.apiPath
	if l.proxied {
		path = sc.ourPath
	}
	url := "http://" + l.addr + path
	var cpu0 time.Duration
	if l.hop != nil {
		cpu0 = l.hop.cpu()
	}
	var r result
	var err error
	if sc.post {
		r, err = hey(url, createBody, o.postRate, o.duration)
	} else {
		r, err = wrk(url, conns, o.duration)
	}
	if err == nil && l.hop != nil && r.rps > 0 {
		r.cpu = (l.hop.cpu() - cpu0).Seconds() / (r.rps * o.duration.Seconds()) * 1e6 // µs per request
	}
	return r, err
}

// measureLightLoad compares the latency of one request at a time.
func measureLightLoad(o httpOpts, legs []leg, w io.Writer) error {
	fmt.Fprintln(w, "\nLight load, GET one run over 1 connection:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Leg | req/s | p50 | p99 | added p50 vs direct |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	runs := map[string][]result{}
	for round := range o.rounds {
		for i := range legs {
			l := legs[(i+round)%len(legs)]
			r, err := runLeg(o, scenarios[0], l, 1)
			if err != nil {
				return err
			}
			runs[l.name] = append(runs[l.name], r)
		}
	}
	direct := median(runs[legDirect])
	for _, l := range legs {
		m := median(runs[l.name])
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s |\n", l.name, m.rps, fmtDur(m.p50), fmtDur(m.p99), fmtDur(m.p50-direct.p50))
	}
	return nil
}

// writeRows writes a scenario's row per leg, each with its throughput as a
// ratio of direct's, the bare ReverseProxy's and nginx's, and returns
// codegen-proxy's three ratios as a line of a list.
func writeRows(w io.Writer, name string, legs []leg, runs map[string][]result) (summary string) {
	direct, rp, nginx := median(runs[legDirect]), median(runs[legReverseProxy]), median(runs[legNginx])
	for _, l := range legs {
		m := median(runs[l.name])
		cpu := "-"
		if m.cpu > 0 {
			cpu = fmt.Sprintf("%.1f µs", m.cpu)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %d | %s | %s | %s | %s |\n",
			name, l.name, m.rps, fmtDur(m.p50), fmtDur(m.p99), m.errors, cpu,
			ratio(m, direct, l.name == legDirect), ratio(m, rp, l.name == legReverseProxy), ratio(m, nginx, l.name == legNginx))
	}
	ours := median(runs[legProxy])
	return fmt.Sprintf("- %s: %s of direct, %s of the bare ReverseProxy, %s of nginx", name,
		ratio(ours, direct, false), ratio(ours, rp, false), ratio(ours, nginx, false))
}

// ratio is m's throughput over base's, or "-" when base was not measured
// or is m itself.
func ratio(m, base result, self bool) string {
	if self || base.rps <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", m.rps/base.rps)
}

// median returns the median of each measure over runs, and their errors
// summed.
func median(runs []result) result {
	if len(runs) == 0 {
		return result{}
	}
	pick := func(f func(result) float64) float64 {
		vs := make([]float64, len(runs))
		for i, r := range runs {
			vs[i] = f(r)
		}
		slices.Sort(vs)
		return vs[len(vs)/2]
	}
	m := result{
		rps: pick(func(r result) float64 { return r.rps }),
		p50: time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		cpu: pick(func(r result) float64 { return r.cpu }),
	}
	for _, r := range runs {
		m.errors += r.errors
	}
	return m
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}
