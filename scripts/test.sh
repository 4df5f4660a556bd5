#!/usr/bin/env bash
# test.sh — the whole test suite, installing what it needs first.
#
#   ./scripts/test.sh            vet, gofmt, go test -race ./...
#   ./scripts/test.sh -run Foo   extra arguments go to `go test`
#
# It installs the pinned trivy, goreleaser and cosign (built from the Go module
# proxy, once per machine), starts the local PostgreSQL cluster if one is installed but
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
go test -race -timeout 30m "$@" ./...
