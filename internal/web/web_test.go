package web

import (
	"strings"
	"testing"
)

func TestRedocPageWithoutTheBundleSaysHowToGetIt(t *testing.T) {
	var b strings.Builder
	if err := writeRedocPage(&b, false, "API", "/openapi.json", "/redoc/redoc.standalone.js"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"make web", "npm ci", `href="/docs"`, `href="/openapi.json"`, RedocVersion} {
		if !strings.Contains(page, want) {
			t.Errorf("page without the bundle lacks %q:\n%s", want, page)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("page without the bundle contains %q: it must work offline", bad)
		}
	}
}

func TestRedocPageWithTheBundleLoadsItFromThisServer(t *testing.T) {
	var b strings.Builder
	if err := writeRedocPage(&b, true, "API", "/openapi.json", "/redoc/redoc.standalone.js"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.Contains(page, `<script src="/redoc/redoc.standalone.js">`) || !strings.Contains(page, `<redoc spec-url="/openapi.json">`) {
		t.Errorf("page with the bundle:\n%s", page)
	}
	if strings.Contains(page, "https://") {
		t.Errorf("page with the bundle loads something off this server:\n%s", page)
	}
}
