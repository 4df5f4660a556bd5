#!/usr/bin/env bash
# test.sh — the whole test suite, installing what it needs first.
#
#   ./scripts/test.sh            vet, gofmt, go test -race ./...
#   ./scripts/test.sh -run Foo   extra arguments go to `go test`
#
# It installs the pinned trivy, goreleaser and cosign (built from the Go module
# proxy, once per machine) and chromium (apt-get, for the HTML report's
# browser test; its screenshot lands in .test-artifacts/), starts the local PostgreSQL cluster if one is installed but
# stopped, and points the ledger's PostgreSQL tests at it. Tests that need
# a component fail, rather than skip, when CI=true and it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

echo "==> trivy, goreleaser, cosign"
scripts/install-trivy.sh
scripts/install-goreleaser.sh
scripts/install-cosign.sh

echo "==> sources the workflow gate's flag tables are checked against"
# toolflags' TestGeneratedTablesAreCurrent re-derives its tables from these
# pinned sources (cosign and trivy are already there from their installs).
go mod download github.com/sigstore/cosign/v2@v2.6.5 github.com/aquasecurity/trivy@v0.74.0 github.com/anchore/grype@v0.121.3

echo "==> chromium (the HTML report's browser test), pytest (init's and the tests gate's pytest runs)"
# Debian's packages: pip's index is not reachable from every CI machine.
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
command -v pytest >/dev/null 2>&1 || missing+=(python3-pytest)
if [ "${#missing[@]}" -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
	if command -v apt-get >/dev/null; then
		# A fresh machine's package lists may be empty or stale.
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
			{ $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } ||
			echo "could not install ${missing[*]}: the tests that need them will skip (and fail under CI=true)"
	else
		echo "no apt-get: install ${missing[*]} yourself; the tests that need them will skip (and fail under CI=true)"
	fi
fi
# Screenshots and other artifacts tests keep.
export READINESS_TEST_ARTIFACTS="${READINESS_TEST_ARTIFACTS:-$PWD/.test-artifacts}"

echo "==> PostgreSQL"
if [ -z "${READINESS_TEST_POSTGRES_DSN:-}" ]; then
	dsn="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
		for v in /etc/postgresql/*; do
			[ -d "$v/main" ] && pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true
		done
		for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
	fi
	if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
		export READINESS_TEST_POSTGRES_DSN="$dsn"
		echo "using $dsn"
	else
		echo "no PostgreSQL at 127.0.0.1:5432: the ledger's PostgreSQL tests will skip (and fail under CI=true)"
	fi
fi

echo "==> gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))"
if [ -n "$unformatted" ]; then
	echo "these files need gofmt -w:"
	echo "$unformatted"
	exit 1
fi

echo "==> go vet"
go vet ./...

echo "==> go test -race"
# Every skip is listed at the end. Under CI=true a skipped test that
# scripts/test-skips.allow does not name fails the run, and -count=1 keeps
# Go's test cache from replaying a result that depended on a tool or a
# server this run did not check.
flags=(-allow scripts/test-skips.allow)
count=()
if [ "${CI:-}" = "true" ]; then
	flags+=(-strict)
	count=(-count=1)
fi
summary="$(mktemp -d)/testsummary"
go build -o "$summary" ./internal/tools/testsummary
go test -race -timeout 30m -json ${count[@]+"${count[@]}"} "$@" ./... 2>&1 | "$summary" "${flags[@]}"

if [ "${READINESS_TEST_ADMISSION:-}" = "1" ]; then
	echo "==> admission policies against policy-controller and Kyverno (scripts/test-admission.sh)"
	scripts/test-admission.sh
else
	# Not silent: the evaluators' own modules build Kubernetes-sized
	# dependency graphs (tens of minutes cold on 2 cores); ci.yml's
	# admission job runs them.
	echo "==> NOT RUN: the admission policies against policy-controller and Kyverno; run them with READINESS_TEST_ADMISSION=1 ./scripts/test.sh (or scripts/test-admission.sh)"
fi
