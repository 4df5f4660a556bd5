#!/usr/bin/env bash
# install-release.sh — install a pinned readiness release binary, verified,
# the way sigstore/cosign-installer and aquasecurity/setup-trivy do. The
# GitHub Action (action.yml) runs it; it works anywhere bash, curl, tar (or
# unzip), sha256sum (or shasum) and cosign are on PATH.
#
#   VERSION=v1.2.0 DEST=/opt/readiness scripts/install-release.sh
#
# 1. download checksums.txt, its sigstore bundle and the archive for this
#    OS/architecture from the release;
# 2. verify the bundle: checksums.txt was signed by this repository's
#    release workflow at the tag VERSION (Fulcio certificate identity and
#    GitHub's OIDC issuer), and logged in Rekor;
# 3. check the archive's sha256 against its one line in checksums.txt;
# 4. unpack the binary into DEST and check it reports VERSION.
# Any failure exits non-zero before anything is put in DEST.
#
# Environment:
#   VERSION   release tag, vMAJOR.MINOR.PATCH (required; never "latest")
#   DEST      directory for the binary (required)
#   OS, ARCH  goreleaser names (linux|darwin|windows, amd64|arm64); default:
#             this machine
#   READINESS_RELEASE_URL  base URL of the releases (default GitHub's);
#             the release files are at $READINESS_RELEASE_URL/$VERSION/
#   READINESS_VERIFY_KEY   a cosign public key to verify the bundle with
#             instead of the release workflow's identity, offline (tests,
#             private mirrors signed with a key)
#   READINESS_PRIVATE_SIGSTORE_ISSUER  the OIDC issuer of a private Sigstore
#             without a transparency log whose Fulcio certified the release
#             workflow (tests, air-gapped mirrors): the certificate identity
#             is still the release workflow's at VERSION; the roots come from
#             SIGSTORE_ROOT_FILE and SIGSTORE_CT_LOG_PUBLIC_KEY_FILE
set -euo pipefail

die() { echo "install-release: $*" >&2; exit 1; }

: "${VERSION:?install-release: set VERSION to a release tag such as v1.2.0}"
: "${DEST:?install-release: set DEST to the directory for the binary}"
[[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
	die "VERSION \"$VERSION\" is not a release tag (vMAJOR.MINOR.PATCH): pin the Action to a release tag or set its version input"
repo_url="https://github.com/readiness-dev/readiness"
base="${READINESS_RELEASE_URL:-$repo_url/releases/download}/$VERSION"

os="${OS:-$(uname -s | tr '[:upper:]' '[:lower:]')}"
case "$os" in linux | darwin) ext=tar.gz ;; windows | mingw* | msys* | cygwin*) os=windows ext=zip ;; *) die "no release for OS $os" ;; esac
arch="${ARCH:-$(uname -m)}"
case "$arch" in x86_64 | amd64 | x64 | X64) arch=amd64 ;; aarch64 | arm64 | ARM64) arch=arm64 ;; *) die "no release for architecture $arch" ;; esac
archive="readiness_${VERSION#v}_${os}_${arch}.$ext"

command -v cosign >/dev/null || die "cosign is not on PATH: it verifies the release's signature (sigstore/cosign-installer installs it)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() { curl -fsSL --retry 3 --proto '=https,http' -o "$work/$1" "$base/$1" || die "download $base/$1 failed"; }
fetch checksums.txt
fetch checksums.txt.sigstore.json
fetch "$archive"

if [ -n "${READINESS_VERIFY_KEY:-}" ]; then
	verify=(--key "$READINESS_VERIFY_KEY" --insecure-ignore-tlog=true)
else
	verify=(--certificate-identity "$repo_url/.github/workflows/release.yml@refs/tags/$VERSION")
	if [ -n "${READINESS_PRIVATE_SIGSTORE_ISSUER:-}" ]; then
		verify+=(--certificate-oidc-issuer "$READINESS_PRIVATE_SIGSTORE_ISSUER" --insecure-ignore-tlog=true)
	else
		verify+=(--certificate-oidc-issuer https://token.actions.githubusercontent.com)
	fi
fi
cosign verify-blob "$work/checksums.txt" --bundle "$work/checksums.txt.sigstore.json" "${verify[@]}" >&2 ||
	die "the signature of checksums.txt of $VERSION does not verify: refusing to install"

# Exactly one line names the archive; its sha256 must match.
want="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/checksums.txt")"
if [ -z "$want" ] || [ "$(printf '%s\n' "$want" | wc -l)" -ne 1 ]; then
	die "checksums.txt of $VERSION has no single line for $archive"
fi
if command -v sha256sum >/dev/null; then got="$(sha256sum "$work/$archive" | awk '{print $1}')"; else got="$(shasum -a 256 "$work/$archive" | awk '{print $1}')"; fi
[ "$got" = "$want" ] || die "$archive has sha256 $got, but the signed checksums.txt says $want: refusing to install"

mkdir -p "$work/x"
bin=readiness
if [ "$ext" = zip ]; then
	bin=readiness.exe
	unzip -q -o "$work/$archive" "$bin" -d "$work/x" || die "$archive has no $bin"
else
	tar -xzf "$work/$archive" -C "$work/x" "$bin" || die "$archive has no $bin"
fi
host_os="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$host_os" in mingw* | msys* | cygwin*) host_os=windows ;; esac
host_arch="$(uname -m)"
case "$host_arch" in x86_64 | amd64) host_arch=amd64 ;; aarch64 | arm64) host_arch=arm64 ;; esac
# The binary must say it is VERSION, where this machine can run it.
if [ "$os" = "$host_os" ] && [ "$arch" = "$host_arch" ]; then
	reported="$("$work/x/$bin" version 2>/dev/null | head -n1 || true)"
	case "$reported" in *"${VERSION#v}"*) ;; *) die "the binary in $archive reports \"$reported\", not $VERSION" ;; esac
fi
mkdir -p "$DEST"
install -m 0755 "$work/x/$bin" "$DEST/$bin"
echo "install-release: readiness $VERSION ($os/$arch) verified and installed in $DEST" >&2
