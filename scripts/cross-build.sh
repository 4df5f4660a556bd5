#!/usr/bin/env bash
# cross-build.sh — build and vet every release target goreleaser.yaml
# promises, so that a target that no longer compiles (Unix-only calls in a
# file without a build tag) fails the pull request, not the tag.
#
#   scripts/cross-build.sh                 every target
#   scripts/cross-build.sh windows/arm64   some of them
#
# For each target: the release binary as goreleaser builds it
# (CGO_ENABLED=0, -trimpath; discarded), then `go vet ./...`, which
# type-checks every package and its tests for that platform (and, with
# -tags kms, the files only the readiness-kms flavour builds).
# internal/selftest checks that the default list matches goreleaser.yaml.
# CI runs it in its own job (.github/workflows/ci.yml): on 2 cores a cold
# cross-build of six targets takes longer than the README's test command may.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
for t in "${targets[@]}"; do
	echo "==> $t"
	export GOOS="${t%/*}" GOARCH="${t#*/}" CGO_ENABLED=0
	go build -trimpath -o /dev/null ./cmd/readiness
	go vet ./...
	go vet -tags kms ./internal/sign # the readiness-kms flavour's own files
done
