#!/usr/bin/env bash
# Sign an image by digest with the workflow's OIDC identity.
set -euo pipefail

ref="$1"
case "$ref" in
  *@sha256:*) ;;
  *) echo "refusing to sign $ref: not a digest" >&2; exit 2 ;;
esac
cosign sign --yes "$ref"
