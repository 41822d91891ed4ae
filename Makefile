# codegen-proxy. `make run` serves; `make test` tests. See README.md.

# Use the toolchain go.mod pins even where the installed Go defaults to
# GOTOOLCHAIN=local.
export GOTOOLCHAIN := auto

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
SWAG := github.com/swaggo/swag/cmd/swag@v1.16.6
OAPI_CODEGEN := github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
REDOC_JS := internal/web/assets/redoc.standalone.js

GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB := $(or $(TMPDIR),/tmp)/codegen-proxy-vulndb-$(VULNDB_VERSION)
FUZZTIME ?= 10s
FUZZ_TARGETS := internal/codegen:FuzzValidJSON internal/server:FuzzRequest internal/server:FuzzParsePage internal/server:FuzzBearerToken \
	internal/server:FuzzRequestID internal/server:FuzzResumePosition internal/sandbox:FuzzSandboxBodies

.PHONY: cluster run build test lint web assets docs docs-check docs-lint fuzz vuln bench load bench-tools screenshots bench-cluster

# exec: Ctrl-C reaches the server alone, which stops gracefully and exits 0,
# so make reports no error (go run would).
run: build
	exec bin/codegen-proxy

# A local cluster: redis-server, the sandbox as the one upstream, three
# replicas with REDIS_URL and nginx round-robin in front, all on 127.0.0.1
# (nginx on CLUSTER_PORT, default 8080). Ctrl-C stops it. See docs/deploy.md.
cluster: build
	CGO_ENABLED=0 go build -trimpath -o bin/codegen-sandbox ./cmd/codegen-sandbox
	exec deploy/cluster.sh

build: assets
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/codegen-proxy ./cmd/codegen-proxy

test: assets
	go test -race -count=1 ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...
	go run $(STATICCHECK) ./...

# Each fuzz target for FUZZTIME; the seeds in the f.Add calls are the corpus.
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*} || exit 1; \
	done

# govulncheck against a database built from the golang.org/x/vulndb module,
# since vuln.go.dev may be unreachable (it is on the CI machines).
vuln:
	@if [ ! -d "$(VULNDB)/index" ]; then \
		cd /tmp && go mod download golang.org/x/vulndb@$(VULNDB_VERSION) && \
		go run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) \
			-vulns "$$(go env GOMODCACHE)/golang.org/x/vulndb@$(VULNDB_VERSION)/data/osv" -out "$(VULNDB)"; \
	fi
	go run $(GOVULNCHECK) -db file://$(VULNDB) ./...

# Benchmarks (not part of the tests): the proxy against a direct upstream
# and nginx, and log streams with 1 to 1000 subscribers, written into
# docs/benchmarks.md. nginx is installed when possible and skipped otherwise.
bench: build bench-tools
	go build -o bin/codegen-bench ./cmd/codegen-bench
	bin/codegen-bench all -out docs/benchmarks.md

# The soak test: 1000 open streams and a steady request load for 60 s.
load: build
	go build -o bin/codegen-bench ./cmd/codegen-bench
	bin/codegen-bench load

# The shared mode: redis-server and three replicas, 300 subscribers, the
# lease holder killed and stopped, Redis restarted (docs/benchmarks.md,
# "Shared mode"). Prints the table; it does not rewrite the file.
bench-cluster: build
	go build -o bin/codegen-bench ./cmd/codegen-bench
	bin/codegen-bench cluster -proxy bin/codegen-proxy

bench-tools:
	@missing=""; for t in wrk hey nginx; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		pkgs=$$(echo $$missing | sed 's/nginx/nginx-light/'); echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null || true; fi; \
	for t in wrk hey; do command -v $$t >/dev/null 2>&1 || { echo "make bench needs $$t (apt-get install -y wrk hey)"; exit 1; }; done; \
	command -v nginx >/dev/null 2>&1 || echo "nginx is not installed: its legs are skipped"

# ReDoc's bundle comes from the npm package pinned in package-lock.json and is
# embedded in the binary; without it, /redoc says how to get it and the
# server warns at start-up.
web: $(REDOC_JS)
$(REDOC_JS): package-lock.json
	npm ci --no-audit --no-fund
	cp node_modules/redoc/bundles/redoc.standalone.js $@

assets:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web; \
	else echo "npm not found: no ReDoc bundle, so /redoc will only say how to get it (/docs works)"; fi

# The API documentation is generated from the server's annotations: swag
# writes Swagger 2.0, cmd/openapi-gen converts it to the OpenAPI 3 served at
# /openapi.json, and oapi-codegen writes a client from that, which
# internal/apiclienttest drives against the sandbox; it also writes one from
# the Codegen API's own document, which internal/v1clienttest drives through
# the /v1 pass-through.
docs:
	go run $(SWAG) init -q -g apidoc.go -d internal/server,internal/codegen --parseInternal --outputTypes json -o docs
	go run ./cmd/openapi-gen docs/swagger.json docs/openapi.json
	cd internal/apiclienttest && go run $(OAPI_CODEGEN) -config oapi-codegen.yaml ../../docs/openapi.json
	cd internal/v1clienttest && go run $(OAPI_CODEGEN) -config oapi-codegen.yaml ../../api/codegen-openapi3.json

docs-check:
	@tmp=$$(mktemp -d); \
	go run $(SWAG) init -q -g apidoc.go -d internal/server,internal/codegen --parseInternal --outputTypes json -o $$tmp && \
	go run ./cmd/openapi-gen $$tmp/swagger.json $$tmp/openapi.json && \
	cp internal/apiclienttest/oapi-codegen.yaml $$tmp && (cd $$tmp && go run $(OAPI_CODEGEN) -config oapi-codegen.yaml openapi.json) && \
	diff -u docs/swagger.json $$tmp/swagger.json && diff -u docs/openapi.json $$tmp/openapi.json && \
	diff -u internal/apiclienttest/client.gen.go $$tmp/client.gen.go && \
	mkdir $$tmp/v1 && cp internal/v1clienttest/oapi-codegen.yaml internal/v1clienttest/overlay.yaml $$tmp/v1 && \
	(cd $$tmp/v1 && go run $(OAPI_CODEGEN) -config oapi-codegen.yaml $(CURDIR)/api/codegen-openapi3.json) && \
	diff -u internal/v1clienttest/client.gen.go $$tmp/v1/client.gen.go || \
	{ echo "docs/, internal/apiclienttest or internal/v1clienttest is stale: run make docs and commit the result"; rm -rf $$tmp; exit 1; }; rm -rf $$tmp

docs-lint: web
	npx --no-install redocly lint --format=stylish docs/openapi.json

# Screenshots of the web console for the README, taken by its browser test
# against the sandbox (needs chromium).
screenshots:
	REQUIRE_BROWSER=1 go test -count=1 -run '^TestConsoleInABrowser$$' ./internal/server -args -screenshots=$(CURDIR)/docs/images
