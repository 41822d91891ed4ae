module github.com/codegen-proxy/codegen-proxy

go 1.26.0

toolchain go1.26.11

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/go-chi/cors v1.2.2
	github.com/google/uuid v1.6.0
	go.uber.org/goleak v1.3.0
)
