#!/usr/bin/env bash
set -euo pipefail
cosign sign --yes ghcr.io/acme/api:e2e
go test ./suites/...
