#!/usr/bin/env bash
# install-trivy.sh — make sure the trivy that readiness's image-scan gate and
# its tests run is the pinned release, v0.74.0 by default.
#
# trivy is built from the Go module proxy, no release download needed. A
# plain `go install` leaves trivy reporting its version as "dev" (which the
# image-scan gate refuses: it cannot check a minimum against it), because
# the version is stamped at link time into
#   github.com/aquasecurity/trivy/pkg/version/app.ver
# so this script stamps it with -ldflags -X. It stamps "0.74.0", without the
# "v", exactly as trivy's own release builds do (goreleaser's {{.Version}}):
# trivy parses its own version (the misconfiguration checks compare it with
# their constraints) and warns "invalid semantic version" on "v0.74.0".
#
# Idempotent: prints nothing and exits 0 when the trivy on PATH (or in
# $(go env GOPATH)/bin) already reports the pinned version. The first build
# takes about 5 minutes on 2 cores; a rebuild of a cached build only relinks
# (about 15 s).
#
# Environment: TRIVY_VERSION (default v0.74.0; with or without the "v").
set -euo pipefail

version="${TRIVY_VERSION:-v0.74.0}"
want="${version#v}"   # what the binary must report
module_version="v$want"
gobin="$(go env GOPATH)/bin"

# reported BIN prints the version BIN reports ("0.74.0", "dev"), or nothing.
reported() {
	"$1" --version 2>/dev/null | sed -n 's/^Version:[[:space:]]*//p' | head -n1 || true
}

on_path="$(command -v trivy 2>/dev/null || true)"
if [ -n "$on_path" ] && [ "$(reported "$on_path")" = "$want" ]; then
	exit 0
fi
if [ -x "$gobin/trivy" ] && [ "$(reported "$gobin/trivy")" = "$want" ]; then
	echo "install-trivy: trivy $want is in $gobin, but ${on_path:-no trivy} comes first on PATH; put $gobin first" >&2
	exit 0
fi

was="missing"
if [ -n "$on_path" ]; then
	was="$on_path reports \"$(reported "$on_path")\""
fi
echo "install-trivy: installing trivy $module_version into $gobin ($was)" >&2
GOEXPERIMENT=jsonv2 GOBIN="$gobin" go install \
	-ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=$want" \
	"github.com/aquasecurity/trivy/cmd/trivy@$module_version"

got="$(reported "$gobin/trivy")"
if [ "$got" != "$want" ]; then
	echo "install-trivy: $gobin/trivy reports \"$got\", want \"$want\"" >&2
	exit 1
fi
echo "install-trivy: $gobin/trivy reports $want" >&2
