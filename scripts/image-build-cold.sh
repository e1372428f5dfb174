#!/usr/bin/env bash
# Measures a cold build of the real Dockerfile with buildah, as a job that
# uses `image: Dockerfile` pays it: empty module and build caches (a fresh
# TMPDIR gives buildah fresh --mount=type=cache directories), modules from
# the Go proxy, the local base images of scripts/container-e2e.sh (made by
# it; run it once first). Prints the wall time and the image size.
#
#   scripts/image-build-cold.sh [IMAGE_TAG]     default localhost/kms-deletion-gate:cold
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${1:-localhost/kms-deletion-gate:cold}"
bh() { buildah --storage-driver vfs "$@"; }

GO_IMAGE="localhost/kdg-go-builder:$(head -n1 "$(go env GOROOT)/VERSION")"
BASE_IMAGE="localhost/kdg-static-base:ca-$(sha256sum /etc/ssl/certs/ca-certificates.crt | cut -c1-12)"
for img in "${GO_IMAGE}" "${BASE_IMAGE}"; do
  bh inspect --type image "${img}" >/dev/null 2>&1 || { echo "no ${img}: run scripts/container-e2e.sh once" >&2; exit 1; }
done

cold="$(mktemp -d "${TMPDIR:-/tmp}/kdg-cold.XXXXXX")"
trap 'rm -rf "${cold}"' EXIT
t0=$(date +%s%3N)
TMPDIR="${cold}" buildah --storage-driver vfs bud --isolation chroot --network host --pull-never --layers=false -q \
  --build-arg "GO_IMAGE=${GO_IMAGE}" --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
  --build-arg "GOPROXY=${GOPROXY:-$(go env GOPROXY)}" --build-arg "GOSUMDB=${GOSUMDB:-$(go env GOSUMDB)}" \
  --build-arg "TARGETOS=$(go env GOOS)" --build-arg "TARGETARCH=$(go env GOARCH)" \
  --build-arg "VERSION=cold-$(git -C "${ROOT}" rev-parse --short HEAD)" \
  -f "${ROOT}/Dockerfile" -t "${IMAGE}" "${ROOT}" >/dev/null
ms=$(( $(date +%s%3N) - t0 ))
size="$(podman --storage-driver vfs image inspect --format '{{.Size}}' "${IMAGE}")"
printf 'cold build of %s: %d ms on %s cores (load %s); image %s bytes (%s)\n' "${IMAGE}" "${ms}" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "${size}" "$(awk -v b="${size}" 'BEGIN{printf "%.1f MiB", b/1048576}')"
