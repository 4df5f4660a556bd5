#!/usr/bin/env bash
# make-fixtures.sh regenerates the gpg-made fixtures of the security-key gate.
# Tests never run it; they read what it committed. Each directory under cases/
# is a miniature repository: SECURITY.md, docs/keys/security.asc and, for some,
# .well-known/security.txt. Keys are throwaway keys made in a temporary
# GNUPGHOME that is deleted on exit; every key is "made" on 2025-01-01 (or
# 2023-01-01 for the expired ones) with --faked-system-time, and the tests
# judge them as of 2025-03-01.
#
#   internal/checks/securitykey/testdata/make-fixtures.sh            # regenerate cases/
#   go test ./internal/checks/securitykey -run TestFixtures -update   # then refresh the goldens
#   internal/checks/securitykey/testdata/make-fixtures.sh --compare  # what gpg --show-keys says, per case
#
# The directory cases/deliberately-leaked-private-key holds an unprotected
# PRIVATE key block on purpose: the gate must flag a published private key.
# That key is a test fixture, made here, protecting nothing.
set -euo pipefail
cd "$(dirname "$0")"

JUDGED_AT='20250301T000000!'

compare() {
	printf '%-32s %-4s %-46s %-8s %s\n' CASE RC "GPG --SHOW-KEYS (validity,algo,bits,caps)" ENCRYPT "GPG MESSAGES"
	for d in cases/*/; do
		name=$(basename "$d")
		key="$d/docs/keys/security.asc"
		if [[ ! -s $key ]]; then
			printf '%-32s %s\n' "$name" "(no key file)"
			continue
		fi
		home=$(mktemp -d /tmp/securitykey-show.XXXXXX)
		chmod 700 "$home"
		local gshow=(gpg --homedir "$home" --batch --faked-system-time "$JUDGED_AT")
		local gq=("${gshow[@]}" --trust-model always)
		rc=0
		out=$("${gshow[@]}" --show-keys --with-colons "$key" 2>"$home/err") || rc=$?
		keys=$(printf '%s\n' "$out" | awk -F: '
			/^(pub|sec|sub|ssb)/ {a=$4=="1"?"rsa":$4=="22"?"eddsa":$4=="18"?"ecdh":$4=="17"?"dsa":$4=="16"?"elg":$4; printf "%s(%s,%s,%s,%s) ", $1, $2, a, $3, $12}')
		msgs=$({ grep -v -e 'faked system time' -e 'keybox .* created' -e 'trustdb created' "$home/err" || true; } | sed 's/^gpg: //' | tr '\n' ';' | cut -c1-90)
		enc=no
		if "${gq[@]}" --import "$key" 2>/dev/null; then
			fpr=$("${gq[@]}" --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')
			if [[ -n $fpr ]] && echo probe | "${gq[@]}" --encrypt -r "$fpr" >/dev/null 2>&1; then enc=yes; fi
		fi
		rm -rf "$home"
		printf '%-32s %-4s %-46s %-8s %s\n' "$name" "$rc" "$keys" "$enc" "$msgs"
	done
}

if [[ ${1:-} == --compare ]]; then
	compare
	exit 0
fi

GNUPGHOME=$(mktemp -d /tmp/securitykey-fixtures.XXXXXX)
export GNUPGHOME
trap 'rm -rf "$GNUPGHOME"' EXIT
chmod 700 "$GNUPGHOME"

T0='20250101T000000!'
TOLD='20230101T000000!'
EMAIL=security@example.org
UID0="Example Security <$EMAIL>"

g() { gpg --batch --quiet --trust-model always --passphrase '' --pinentry-mode loopback "$@" 2>/dev/null; }
fpr() { gpg --trust-model always --with-colons --list-keys "$1" 2>/dev/null | awk -F: '/^fpr/{print $10; exit}'; }

# newkey NAME UID ALGO USAGE EXPIRE [TIME] [extra gpg options…]: makes a key
# whose user ID is UID; prints its fingerprint.
newkey() {
	local uid=$1 algo=$2 usage=$3 expire=$4 t=${5:-$T0}
	shift 5 || shift $#
	g --faked-system-time "$t" "$@" --quick-gen-key "$uid" "$algo" "$usage" "$expire"
	fpr "=$uid"
}
subkey() { # FPR ALGO USAGE EXPIRE [TIME] [extra…]
	local f=$1 algo=$2 usage=$3 expire=$4 t=${5:-$T0}
	shift 5 || shift $#
	g --faked-system-time "$t" "$@" --quick-add-key "$f" "$algo" "$usage" "$expire"
}

case_dir() { rm -rf "cases/$1"; mkdir -p "cases/$1/docs/keys"; echo "cases/$1"; }

# secmd DIR BODY: writes DIR/SECURITY.md.
secmd() { printf '%s\n' "$2" >"$1/SECURITY.md"; }
standard_md() { # FPR [EMAIL…]
	local f=$1
	shift
	local mails=${*:-$EMAIL}
	cat <<MD
# Security policy

## Reporting a vulnerability

Please report vulnerabilities privately to ${mails// / or }. Encrypt your
report with our OpenPGP key, published at [docs/keys/security.asc](docs/keys/security.asc):

    Fingerprint: $(echo "$f" | sed 's/\(....\)/\1 /g; s/ $//')

We answer within five working days.
MD
}
export_pub() { g --armor --export "$@"; }

mk_standard() { # NAME FPR: standard case with SECURITY.md naming FPR
	local d
	d=$(case_dir "$1")
	export_pub "$2" >"$d/docs/keys/security.asc"
	secmd "$d" "$(standard_md "$2")"
}

rm -rf cases
mkdir -p cases

# --- keys --------------------------------------------------------------------
GOOD=$(newkey "$UID0" ed25519 sign,cert 2y)
subkey "$GOOD" cv25519 encr 2y
mk_standard good "$GOOD"

RSA3072=$(newkey "RSA 3072 <$EMAIL>" rsa3072 sign,cert 2y)
subkey "$RSA3072" rsa3072 encr 2y
mk_standard rsa3072 "$RSA3072"

RSA2048=$(newkey "RSA 2048 <$EMAIL>" rsa2048 sign,cert 2y)
subkey "$RSA2048" rsa2048 encr 2y
mk_standard rsa2048 "$RSA2048"

RSA1024=$(newkey "RSA 1024 <$EMAIL>" rsa1024 sign,cert 2y)
subkey "$RSA1024" rsa1024 encr 2y
mk_standard rsa1024 "$RSA1024"

DSA=$(newkey "DSA ElGamal <$EMAIL>" dsa2048 sign,cert 2y)
subkey "$DSA" elg2048 encr 2y
mk_standard dsa-elgamal "$DSA"

EXPIRED=$(newkey "Expired <$EMAIL>" ed25519 sign,cert 1y "$TOLD")
subkey "$EXPIRED" cv25519 encr 1y "$TOLD"
mk_standard expired "$EXPIRED"

# The primary expired in 2024; the subkey's own binding says "never".
PEXP=$(newkey "Primary expired <$EMAIL>" ed25519 sign,cert 1y "$TOLD")
subkey "$PEXP" cv25519 encr never "$TOLD"
mk_standard primary-expired-subkey-never "$PEXP"

REVOKED=$(newkey "Revoked <$EMAIL>" ed25519 sign,cert 2y)
subkey "$REVOKED" cv25519 encr 2y
sed 's/^:-----/-----/' "$GNUPGHOME/openpgp-revocs.d/$REVOKED.rev" | g --faked-system-time "$T0" --import
mk_standard revoked "$REVOKED"

SIGNONLY=$(newkey "Sign only <$EMAIL>" ed25519 sign,cert 2y)
mk_standard sign-only "$SIGNONLY"

# Primary valid until 2029; its only encryption subkey expired in 2024.
ENCEXP=$(newkey "Encryption subkey expired <$EMAIL>" ed25519 sign,cert 6y "$TOLD")
subkey "$ENCEXP" cv25519 encr 1y "$TOLD"
mk_standard expired-encryption-subkey "$ENCEXP"

SHA1=$(newkey "SHA-1 self-signatures <$EMAIL>" rsa3072 sign,cert 2y "$T0" --cert-digest-algo SHA1 --digest-algo SHA1)
subkey "$SHA1" rsa3072 encr 2y "$T0" --cert-digest-algo SHA1 --digest-algo SHA1
mk_standard sha1-self-signature "$SHA1"

RMD=$(newkey "RIPEMD-160 self-signatures <$EMAIL>" rsa3072 sign,cert 2y "$T0" --cert-digest-algo RIPEMD160 --digest-algo RIPEMD160)
subkey "$RMD" rsa3072 encr 2y "$T0" --cert-digest-algo RIPEMD160 --digest-algo RIPEMD160
mk_standard ripemd160-self-signature "$RMD"

SOON=$(newkey "Expiring soon <$EMAIL>" ed25519 sign,cert 2025-03-15)
subkey "$SOON" cv25519 encr 2025-03-15
mk_standard expiring-in-14-days "$SOON"

WARN=$(newkey "Expiring in two months <$EMAIL>" ed25519 sign,cert 2025-05-01)
subkey "$WARN" cv25519 encr 2025-05-01
mk_standard expiring-in-61-days "$WARN"

NOEXP=$(newkey "No expiry <$EMAIL>" ed25519 sign,cert never)
subkey "$NOEXP" cv25519 encr never
mk_standard no-expiry "$NOEXP"

OTHER=$(newkey "Someone Else <someone@example.net>" ed25519 sign,cert 2y)
subkey "$OTHER" cv25519 encr 2y
mk_standard wrong-email "$OTHER"

# --- files that are not one sound public certificate ---------------------------
d=$(case_dir deliberately-leaked-private-key)
g --armor --export-secret-keys "$GOOD" >"$d/docs/keys/security.asc"
cat >"$d/README" <<'TXT'
DELIBERATELY LEAKED TEST KEY. docs/keys/security.asc in this directory is an
unprotected PGP PRIVATE KEY BLOCK, published on purpose: the security-key
gate must report it as KEY-PRIVATE-PUBLISHED. It is a throwaway key made by
../../make-fixtures.sh for tests; it protects nothing and must never be used.
TXT
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir two-certificates)
export_pub "$GOOD" "$OTHER" >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir binary)
g --export "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir truncated)
export_pub "$GOOD" | head -n 6 >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir bad-crc)
export_pub "$GOOD" | sed 's/^=.\{4\}$/=AAAA/' >"$d/docs/keys/security.asc"
grep -q '^=AAAA$' "$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

# Correct armor (and CRC) around packets cut short.
d=$(case_dir bad-packets)
g --export "$GOOD" | head -c 150 | g --enarmor |
	sed 's/ARMORED FILE/PUBLIC KEY BLOCK/; /^Comment:/d' >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir signature-not-key)
echo "not a key" | g --faked-system-time "$T0" --armor --detach-sign -u "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir not-openpgp)
echo "TODO: publish the security team's key here." >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir empty)
: >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

d=$(case_dir missing)
rmdir "$d/docs/keys"
secmd "$d" "$(standard_md "$GOOD")"

# --- SECURITY.md and security.txt that do not match the key -------------------
d=$(case_dir fingerprint-mismatch)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$OTHER")"

d=$(case_dir short-key-id)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "# Security

Send reports to $EMAIL, encrypted to our PGP key 0x${GOOD:32:8}
(see docs/keys/security.asc)."

d=$(case_dir long-key-id)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "# Security

Send reports to $EMAIL, encrypted to our PGP key ${GOOD:24:16}
(see docs/keys/security.asc)."

d=$(case_dir key-not-named)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "# Security

Send reports to $EMAIL. Please encrypt them with PGP."

d=$(case_dir several-contacts)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD" "$EMAIL" psirt@example.org)"

d=$(case_dir security-txt)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "# Security

See [security.txt](.well-known/security.txt)."
mkdir -p "$d/.well-known"
cat >"$d/.well-known/security.txt" <<TXT
# RFC 9116
Contact: mailto:$EMAIL
Encryption: https://example.org/docs/keys/security.asc
Encryption: openpgp4fpr:${GOOD,,}
Expires: 2026-01-01T00:00:00.000Z
Preferred-Languages: en
TXT

d=$(case_dir security-txt-mismatch)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"
cat >"$d/security.txt" <<TXT
Contact: mailto:psirt@example.org
Encryption: openpgp4fpr:$OTHER
Expires: 2026-01-01T00:00:00.000Z
TXT

# --- how real projects lay it out (issue 14, items 8-11) ---------------------
# A .github/SECURITY.md linking the key root-relative (GitHub resolves /x at
# the repository root), and naming it in prose: one file, one key.
d=$(case_dir root-relative-link)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
mkdir -p "$d/.github"
cat >"$d/.github/SECURITY.md" <<MD
# Security Policy

## Reporting a Vulnerability

Email **$EMAIL**. Please encrypt sensitive reports with our PGP key:
[docs/keys/security.asc](/docs/keys/security.asc) (also at
\`docs/keys/security.asc\` in the repository), fingerprint
\`$(echo "$GOOD" | sed 's/\(....\)/\1 /g; s/ $//')\`.
MD

# The same, linking a key file that is not there: one finding for the one
# link, though its text and target both name the path.
d=$(case_dir root-relative-link-wrong)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
mkdir -p "$d/.github"
cat >"$d/.github/SECURITY.md" <<MD
# Security Policy

Email $EMAIL, encrypted to [/security.asc](/security.asc)
(fingerprint $GOOD).
MD

# A website's /.well-known/ path, served from the repository's public/.
d=$(case_dir well-known-web-root)
rmdir "$d/docs/keys" "$d/docs"
mkdir -p "$d/public/.well-known"
export_pub "$GOOD" >"$d/public/.well-known/security.asc"
secmd "$d" "# Security

Report vulnerabilities to $EMAIL, encrypted with the OpenPGP key at
https://example.org/.well-known/security.asc ([/.well-known/security.asc](/.well-known/security.asc)),
fingerprint $GOOD."

# The key pasted into SECURITY.md, no key file: the block is the key.
inline_md() { # FPR KEYFILE
	cat <<MD
# Security Policy

## Reporting a Vulnerability

Please report security issues to $EMAIL. You may encrypt your message to
this OpenPGP key (fingerprint $(echo "$1" | sed 's/\(....\)/\1 /g; s/ $//')):

\`\`\`
$(cat "$2")
\`\`\`
MD
}
d=$(case_dir inline-key)
rmdir "$d/docs/keys" "$d/docs"
export_pub "$GOOD" >/tmp/inline.asc
secmd "$d" "$(inline_md "$GOOD" /tmp/inline.asc)"

d=$(case_dir inline-key-expired)
rmdir "$d/docs/keys" "$d/docs"
export_pub "$EXPIRED" >/tmp/inline.asc
secmd "$d" "$(inline_md "$EXPIRED" /tmp/inline.asc)"

# Pasted and published as a file: the same certificate passes …
d=$(case_dir inline-key-and-file)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
secmd "$d" "$(inline_md "$GOOD" "$d/docs/keys/security.asc")"

# … a different one is a critical finding.
d=$(case_dir inline-key-mismatch)
export_pub "$GOOD" >"$d/docs/keys/security.asc"
export_pub "$OTHER" >/tmp/inline.asc
secmd "$d" "$(inline_md "$GOOD" /tmp/inline.asc)"

# security.txt's own Expires: past, soon, absent (judged on 2025-03-01).
for c in stale:2025-01-31T23:00:00.000Z expiring:2025-04-15T00:00:00Z no-expires:; do
	d=$(case_dir "security-txt-${c%%:*}")
	export_pub "$GOOD" >"$d/docs/keys/security.asc"
	secmd "$d" "$(standard_md "$GOOD")"
	mkdir -p "$d/.well-known"
	{
		echo "Contact: mailto:$EMAIL"
		echo "Encryption: openpgp4fpr:$GOOD"
		[ -n "${c#*:}" ] && echo "Expires: ${c#*:}"
		echo "Policy: https://example.org/security"
	} >"$d/.well-known/security.txt"
done

# One file with the key's public block and, by mistake, its private block.
d=$(case_dir public-and-private-block)
{ export_pub "$GOOD"; g --armor --export-secret-keys "$GOOD"; } >"$d/docs/keys/security.asc"
secmd "$d" "$(standard_md "$GOOD")"

echo "fixtures written to $(pwd)/cases; now run: go test ./internal/checks/securitykey -run TestFixtures -update" >&2
