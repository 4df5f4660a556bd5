#!/usr/bin/env bash
# install-cosign.sh — make sure the pinned cosign CLI (v2.6.5, the version
# of the cosign library in go.mod) is installed, built from the Go module
# proxy. The tests of the README's "Verify a release" commands and of the
# Action's install script run it. Idempotent and quiet when it is already
# there; the first build takes a few minutes on 2 cores.
set -euo pipefail
version="${COSIGN_VERSION:-v2.6.5}"
gobin="$(go env GOPATH)/bin"
reported() { "$1" version 2>/dev/null | sed -n 's/^GitVersion:[[:space:]]*//p' | head -n1 || true; }
for bin in "$(command -v cosign 2>/dev/null || true)" "$gobin/cosign"; do
	if [ -n "$bin" ] && [ -x "$bin" ] && [ "$(reported "$bin")" = "$version" ]; then
		exit 0
	fi
done
echo "install-cosign: installing cosign $version into $gobin" >&2
# cosign's version is stamped at link time, as its own release builds do.
GOBIN="$gobin" go install -trimpath \
	-ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$version" \
	"github.com/sigstore/cosign/v2/cmd/cosign@$version"
got="$(reported "$gobin/cosign")"
if [ "$got" != "$version" ]; then
	echo "install-cosign: $gobin/cosign reports \"$got\", want \"$version\"" >&2
	exit 1
fi
