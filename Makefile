# codegen-proxy. `make run` serves; `make test` tests. See README.md.

# Use the toolchain go.mod pins even where the installed Go defaults to
# GOTOOLCHAIN=local.
export GOTOOLCHAIN := auto

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test lint

run:
	go run -ldflags "$(LDFLAGS)" ./cmd/codegen-proxy

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/codegen-proxy ./cmd/codegen-proxy

test:
	go test -race -count=1 ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...
	go run $(STATICCHECK) ./...
