# syntax=docker/dockerfile:1
# The nsguard image: `make docker-build` (VERSION=… IMAGE=…).
#
# The binary is built exactly as `make build` builds it: CGO_ENABLED=0,
# -trimpath, -ldflags '-s -w -X …/internal/version.Version=$VERSION' (a test
# holds the two to the same flags). It runs on distroless static as
# 65532:65532 (nonroot), with nothing else in the image.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# The module download gets a layer of its own, rebuilt only when go.mod or
# go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w -X github.com/nsguard/nsguard/internal/version.Version=${VERSION}" -o /out/nsguard ./cmd/nsguard

# gcr.io/distroless/static-debian12:nonroot, pinned by digest as published
# (the digest other projects pin in 2026: kilo666mj/taskboard's Dockerfile,
# 0xChintan/AuditTrail.dev's deploy/docker/go.Dockerfile). To move it:
#   crane digest gcr.io/distroless/static-debian12:nonroot
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/nsguard /usr/local/bin/nsguard
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/nsguard"]
CMD ["serve"]
