#!/bin/sh
# Builds the static sesame binary exactly as the container image does: the
# Dockerfile runs this script, and .ci/run runs it too, so a change that
# breaks the image's build breaks CI.
#   scripts/build.sh [OUTPUT]   (default ./sesame)
# VERSION, when set, is the version `sesame version` prints (else the
# module version from the build info, "(devel)" in a checkout).
set -eu
out="${1:-./sesame}"
ldflags="-s -w"
if [ -n "${VERSION:-}" ]; then
  ldflags="$ldflags -X main.version=$VERSION"
fi
CGO_ENABLED=0 go build -trimpath -buildvcs=auto -ldflags "$ldflags" -o "$out" ./cmd/sesame
