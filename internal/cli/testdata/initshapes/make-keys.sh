#!/usr/bin/env bash
# make-keys.sh regenerates the one OpenPGP key the init-then-check shape
# fixtures publish (TestInitThenCheckShapes): a throwaway ed25519 key with a
# cv25519 encryption subkey for security@acme.io, "made" on 2026-01-01 and
# valid for three years, so that it is sound on the CLI tests' fixed date
# (2026-11-24). It is written to the go-goreleaser-cosign shape's
# docs/keys/security.asc and to the security-txt-only-key shape's web-root
# docs/.well-known/pgp-key.txt; SECURITY.md names its fingerprint. Tests
# never run this script; they read what it committed. Afterwards refresh the
# goldens: go test ./internal/cli -run TestInitThenCheckShapes -update
set -euo pipefail
cd "$(dirname "$0")"

GNUPGHOME=$(mktemp -d /tmp/initshapes-keys.XXXXXX)
export GNUPGHOME
trap 'rm -rf "$GNUPGHOME"' EXIT
chmod 700 "$GNUPGHOME"

T0='20260101T000000!'
UID0='Acme Security <security@acme.io>'
g() { gpg --batch --quiet --trust-model always --passphrase '' --pinentry-mode loopback --faked-system-time "$T0" "$@" 2>/dev/null; }

g --quick-gen-key "$UID0" ed25519 sign,cert 3y
FPR=$(gpg --with-colons --list-keys "=$UID0" 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')
g --quick-add-key "$FPR" cv25519 encr 3y

mkdir -p go-goreleaser-cosign/docs/keys security-txt-only-key/docs/.well-known
g --armor --export "$FPR" >go-goreleaser-cosign/docs/keys/security.asc
cp go-goreleaser-cosign/docs/keys/security.asc security-txt-only-key/docs/.well-known/pgp-key.txt

cat >go-goreleaser-cosign/SECURITY.md <<MD
# Security policy

Please report vulnerabilities privately to security@acme.io. Encrypt your
report with our OpenPGP key, published at [docs/keys/security.asc](docs/keys/security.asc):

    Fingerprint: $(echo "$FPR" | sed 's/\(....\)/\1 /g; s/ $//')

We answer within five working days.
MD
