# codegen-proxy. `make run` serves; `make test` tests. See README.md.

# Use the toolchain go.mod pins even where the installed Go defaults to
# GOTOOLCHAIN=local.
export GOTOOLCHAIN := auto

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
SWAG := github.com/swaggo/swag/cmd/swag@v1.16.6
REDOC_JS := internal/web/assets/redoc.standalone.js

.PHONY: run build test lint web assets docs docs-check docs-lint

run: assets
	go run -ldflags "$(LDFLAGS)" ./cmd/codegen-proxy

build: assets
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/codegen-proxy ./cmd/codegen-proxy

test: assets
	go test -race -count=1 ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...
	go run $(STATICCHECK) ./...

# ReDoc's bundle comes from the npm package pinned in package-lock.json and is
# embedded in the binary; without npm, /redoc loads the same version from a CDN.
web: $(REDOC_JS)
$(REDOC_JS): package-lock.json
	npm ci --no-audit --no-fund
	cp node_modules/redoc/bundles/redoc.standalone.js $@

assets:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web; \
	else echo "npm not found: /redoc will load ReDoc $(shell sed -n 's/.*"redoc": "\(.*\)".*/\1/p' package.json) from a CDN"; fi

# The API documentation is generated from the server's annotations: swag
# writes Swagger 2.0, cmd/openapi-gen converts it to the OpenAPI 3 served at
# /openapi.json.
docs:
	go run $(SWAG) init -q -g apidoc.go -d internal/server,internal/codegen --parseInternal --outputTypes json -o docs
	go run ./cmd/openapi-gen docs/swagger.json docs/openapi.json

docs-check:
	@tmp=$$(mktemp -d); \
	go run $(SWAG) init -q -g apidoc.go -d internal/server,internal/codegen --parseInternal --outputTypes json -o $$tmp && \
	go run ./cmd/openapi-gen $$tmp/swagger.json $$tmp/openapi.json && \
	diff -u docs/swagger.json $$tmp/swagger.json && diff -u docs/openapi.json $$tmp/openapi.json || \
	{ echo "docs/ is stale: run make docs and commit the result"; rm -rf $$tmp; exit 1; }; rm -rf $$tmp

docs-lint: web
	npx --no-install redocly lint --format=stylish docs/openapi.json
