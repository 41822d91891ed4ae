# codegen-proxy: `docker build -t codegen-proxy .`
#   docker run -p 8000:8000 codegen-proxy                           # sandbox mode
#   docker run -p 8000:8000 -e CODEGEN_API_TOKEN=sk-... codegen-proxy # the real Codegen API
# cmd/codegen-proxy/dockerfile_test.go runs this file's build command and
# checks what it copies, exposes and runs.

# ReDoc's bundle, from the npm package pinned in package-lock.json.
FROM node:20-bookworm-slim AS web
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=auto CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/node_modules/redoc/bundles/redoc.standalone.js internal/web/assets/redoc.standalone.js
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/codegen-proxy ./cmd/codegen-proxy

# A static binary on a small, non-root image with no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/codegen-proxy /codegen-proxy
USER nonroot:nonroot
ENV LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD ["/codegen-proxy", "--healthcheck"]
ENTRYPOINT ["/codegen-proxy"]
