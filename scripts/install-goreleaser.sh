#!/usr/bin/env bash
# install-goreleaser.sh — make sure the pinned goreleaser (v2.15.1) is
# installed, built from the Go module proxy. The tests run `goreleaser check`
# on goreleaser.yaml with it. Idempotent and quiet when it is already there.
# The first build takes a few minutes on 2 cores.
set -euo pipefail
version="${GORELEASER_VERSION:-v2.15.1}"
gobin="$(go env GOPATH)/bin"
reported() { "$1" --version 2>/dev/null | sed -n 's/^GitVersion:[[:space:]]*//p' | head -n1 || true; }
for bin in "$(command -v goreleaser 2>/dev/null || true)" "$gobin/goreleaser"; do
	if [ -n "$bin" ] && [ -x "$bin" ] && [ "$(reported "$bin")" = "$version" ]; then
		exit 0
	fi
done
echo "install-goreleaser: installing goreleaser $version into $gobin" >&2
GOBIN="$gobin" go install -ldflags "-s -w" "github.com/goreleaser/goreleaser/v2@$version"
got="$(reported "$gobin/goreleaser")"
if [ "$got" != "$version" ]; then
	echo "install-goreleaser: $gobin/goreleaser reports \"$got\", want \"$version\"" >&2
	exit 1
fi
