# Container image of the kms-deletion-gate GitHub Action (and of the CLI).
#
# Both base images are build arguments so that a machine without registry
# access can build this very file against images it made itself
# (scripts/container-e2e.sh does exactly that) and so that Dependabot or a
# release engineer can bump a digest in one place.
#
# Digests: multi-arch index digests taken from public Dockerfiles that pin
# these tags; the machines this was written on reach no image registry.
# release.yml checks both against their registries before every release
# build (the digest must exist; a moved tag is reported), and Dependabot's
# "docker" ecosystem keeps them fresh.
ARG GO_IMAGE=golang:1.26-bookworm@sha256:b305420a68d0f229d91eb3b3ed9e519fcf2cf5461da4bef997bf927e8c0bfd2b
ARG BASE_IMAGE=gcr.io/distroless/static-debian12@sha256:d75cdd72874d4790092fcb1b058493ecf6bb5bf2b2b897045b00ff01d91843f2

# The builder runs on the build machine's own platform and cross-compiles
# (pure Go, CGO off), so a multi-arch release needs no emulation to compile.
FROM --platform=${BUILDPLATFORM} ${GO_IMAGE} AS build

# The module proxy is the only network the build needs; pass GOPROXY (and
# GOSUMDB/GOPRIVATE if you use a mirror) as build arguments.
ARG GOPROXY=https://proxy.golang.org,direct
ARG GOSUMDB=sum.golang.org
# The official image sets GOTOOLCHAIN=local; "auto" lets an older pinned
# image fetch the toolchain go.mod asks for through the same proxy.
ARG GOTOOLCHAIN=auto
ENV GOPROXY=${GOPROXY} \
    GOSUMDB=${GOSUMDB} \
    GOTOOLCHAIN=${GOTOOLCHAIN} \
    GOMODCACHE=/go/pkg/mod \
    GOCACHE=/root/.cache/go-build \
    CGO_ENABLED=0 \
    GOFLAGS=-buildvcs=false

WORKDIR /src

# Dependencies first: with layer caching this step is reused until go.mod
# or go.sum change. The cache mounts keep modules and compiled packages
# between builds on the same machine (BuildKit and buildah both honour
# them); a builder without them simply starts cold.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && go mod verify

COPY . .

ARG VERSION=dev
# Set by BuildKit/buildah per target platform; empty means the builder's own.
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS="${TARGETOS}" GOARCH="${TARGETARCH}" \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/kms-deletion-gate .

FROM ${BASE_IMAGE}

ARG VERSION=dev
LABEL org.opencontainers.image.title="kms-deletion-gate" \
      org.opencontainers.image.description="Finds AWS KMS customer managed keys scheduled for deletion and gates CI on them" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/kms-deletion-gate/kms-deletion-gate"

# The binary calls AWS and GitHub over TLS; carry the builder's CA bundle so
# the image works whatever the base (distroless ships one too).
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/kms-deletion-gate /kms-deletion-gate

# Root on purpose. GitHub runs a Docker container action with the runner's
# workspace bind-mounted at /github/workspace and the file-command files
# (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) under /github/file_commands, all owned
# by the runner user (uid 1001), and it documents that Docker actions must
# run as the default (root) user: a non-root USER cannot write the SARIF and
# JSON reports into the workspace nor the outputs and summary files.
# The binary runs no shell and the image has none, which bounds what root
# inside this container can do.
USER 0:0

ENTRYPOINT ["/kms-deletion-gate"]
