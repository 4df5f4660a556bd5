#!/usr/bin/env bash
# cross-build.sh — build and vet every release target goreleaser.yaml
# promises, so that a target that no longer compiles (Unix-only calls in a
# file without a build tag) fails the pull request, not the tag.
#
#   scripts/cross-build.sh                 every target
#   scripts/cross-build.sh windows/arm64   some of them
#
# For each target: the release binary as goreleaser builds it
# (CGO_ENABLED=0, -trimpath, -ldflags "-s -w"; discarded once its size is
# checked against max_mb), then `go vet ./...`, which
# type-checks every package and its tests for that platform (and, with
# -tags kms, the files only the readiness-kms flavour builds).
# internal/selftest checks that the default list matches goreleaser.yaml.
# CI runs it in its own job (.github/workflows/ci.yml): on 2 cores a cold
# cross-build of six targets takes longer than the README's test command may.
set -euo pipefail
cd "$(dirname "$0")/.."
# The default flavour's size limit per target, in MB (10^6 bytes); 58 MB on
# linux/amd64 in December. internal/selftest reads it from here.
max_mb=66
bin="$(mktemp "${TMPDIR:-/tmp}/readiness-cross-XXXXXX")"
trap 'rm -f "$bin"' EXIT
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
for t in "${targets[@]}"; do
	echo "==> $t"
	export GOOS="${t%/*}" GOARCH="${t#*/}" CGO_ENABLED=0
	go build -trimpath -ldflags "-s -w" -o "$bin" ./cmd/readiness
	size="$(wc -c <"$bin")"
	echo "    $((size / 1000000)) MB"
	if [ "$size" -gt $((max_mb * 1000000)) ]; then
		echo "$t: the release binary is $size bytes, over max_mb=$max_mb MB" >&2
		exit 1
	fi
	go vet ./...
	go vet -tags kms ./internal/sign # the readiness-kms flavour's own files
done
