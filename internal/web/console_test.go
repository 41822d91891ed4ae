package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// firstViewBudget is the bound on the bytes of the console's first
// view, uncompressed.
const firstViewBudget = 100 * 1024

// reachable returns the console's files the page loads, following the
// page's script and stylesheet and the modules' imports.
func reachable(t *testing.T, c *Console) []string {
	t.Helper()
	ref := regexp.MustCompile(`(?:src|href)="/console/([^"]+)"`)
	imp := regexp.MustCompile(`(?m)^import [^;]*? from "\./([^"]+)";`)
	seen := map[string]bool{"index.html": true}
	queue := []string{"index.html"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		f, ok := c.files[name]
		if !ok {
			t.Fatalf("the console loads %s, which is not embedded", name)
		}
		re := imp
		if name == "index.html" {
			re = ref
		}
		for _, m := range re.FindAllStringSubmatch(string(f.body), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				queue = append(queue, m[1])
			}
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TestConsoleFirstViewIsUnder100KB sums the bytes of the page and every
// asset it loads, as a browser fetches them without compression, and
// checks that every embedded file is one of them (so the sum is the whole
// console).
func TestConsoleFirstViewIsUnder100KB(t *testing.T) {
	c := NewConsole()
	loaded := reachable(t, c)
	all := c.Names()
	slices.Sort(all)
	if !slices.Equal(loaded, all) {
		t.Errorf("the page loads %v; embedded are %v", loaded, all)
	}
	total := 0
	for _, n := range loaded {
		total += len(c.files[n].body)
		t.Logf("%-12s %6d bytes", n, len(c.files[n].body))
	}
	t.Logf("first view: %d bytes in %d files (budget %d)", total, len(loaded), firstViewBudget)
	if total != c.FirstViewBytes() {
		t.Errorf("FirstViewBytes() = %d, files sum to %d", c.FirstViewBytes(), total)
	}
	if total >= firstViewBudget {
		t.Errorf("first view is %d bytes, want under %d", total, firstViewBudget)
	}
}

// TestConsoleWritesNoHTMLFromData checks the sources for what the CSP
// forbids or what would put untrusted text in as HTML: inline scripts,
// styles and handlers in the page; innerHTML and its kin, eval and inline
// styles in the modules.
func TestConsoleWritesNoHTMLFromData(t *testing.T) {
	c := NewConsole()
	page := string(c.files["index.html"].body)
	for _, m := range regexp.MustCompile(`<script[^>]*>[^<]*</script>`).FindAllString(page, -1) {
		if !regexp.MustCompile(`^<script type="module" src="/console/[a-z]+\.js"></script>$`).MatchString(m) {
			t.Errorf("index.html has an inline or foreign script: %s", m)
		}
	}
	for _, bad := range []string{"<style", " style=", "javascript:", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	if m := regexp.MustCompile(`\son[a-z]+=`).FindString(page); m != "" {
		t.Errorf("index.html has an inline handler: %q", m)
	}
	forbidden := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
		".style", `setAttribute("style`, "http://", "https://", "localStorage"}
	for _, name := range c.Names() {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		src := string(c.files[name].body)
		for _, f := range forbidden {
			if strings.Contains(src, f) {
				t.Errorf("%s contains %q", name, f)
			}
		}
	}
}

// TestConsoleKnowsTheAPIVocabulary checks the page's choices against
// internal/codegen: the status and source filters, the agent types, and the
// statuses the console treats as finished.
func TestConsoleKnowsTheAPIVocabulary(t *testing.T) {
	c := NewConsole()
	page := string(c.files["index.html"].body)
	options := func(selectID string) []string {
		start := strings.Index(page, `<select id="`+selectID+`"`)
		if start < 0 {
			t.Fatalf("no select %s", selectID)
		}
		end := start + strings.Index(page[start:], "</select>")
		var got []string
		for _, m := range regexp.MustCompile(`<option>([^<]+)</option>`).FindAllStringSubmatch(page[start:end], -1) {
			got = append(got, m[1])
		}
		return got
	}
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"status filter", options("f-status"), codegen.RunStatuses()},
		{"source filter", options("f-source"), codegen.SourceTypes()},
		{"agent types", options("c-agent"), codegen.AgentTypes()},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: page has %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	m := regexp.MustCompile(`export const TERMINAL = \[([^\]]+)\]`).FindStringSubmatch(string(c.files["dom.js"].body))
	if m == nil {
		t.Fatal("dom.js has no TERMINAL list")
	}
	var terminal []string
	for _, s := range strings.Split(m[1], ",") {
		terminal = append(terminal, strings.Trim(strings.TrimSpace(s), `"`))
	}
	if want := codegen.TerminalStatuses(); !slices.Equal(terminal, want) {
		t.Errorf("dom.js TERMINAL is %v, want %v", terminal, want)
	}
}

// TestConsoleServesItsFilesWithTheirHeaders serves every file and checks
// the type, the security headers and revalidation by ETag.
func TestConsoleServesItsFilesWithTheirHeaders(t *testing.T) {
	c := NewConsole()
	wantType := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, name := range c.Names() {
		serve := func(req *http.Request) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			if name == "index.html" {
				c.ServePage(w, req)
			} else if !c.ServeAsset(w, req, name) {
				t.Fatalf("ServeAsset(%s) found nothing", name)
			}
			return w
		}
		w := serve(httptest.NewRequest("GET", "/", nil))
		ext := name[strings.LastIndex(name, "."):]
		h := w.Result().Header
		if w.Code != 200 || h.Get("Content-Type") != wantType[ext] || w.Body.Len() != len(c.files[name].body) {
			t.Errorf("%s: %d %q %d bytes", name, w.Code, h.Get("Content-Type"), w.Body.Len())
		}
		if h.Get("Content-Security-Policy") != ConsoleCSP || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: security headers %v", name, h)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		if w := serve(req); w.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", name, w.Code)
		}
	}
	w := httptest.NewRecorder()
	if c.ServeAsset(w, httptest.NewRequest("GET", "/", nil), "index.html") || c.ServeAsset(w, httptest.NewRequest("GET", "/", nil), "nope.js") {
		t.Error("ServeAsset serves the page or a file that does not exist")
	}
}
