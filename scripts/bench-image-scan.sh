#!/usr/bin/env bash
# bench-image-scan.sh — the overhead of readiness around trivy: wall time of
#   readiness image scan --input X
# against
#   trivy image --input X
# with the very flags readiness passes (read back from its evidence), on a
# warm cache (the offline test DB), for a small and a bigger image.
# Target (issue 17): at most 20 ms extra. It runs in this checkout, so the
# repository facts readiness gathers count in the overhead, as in CI.
#
#   scripts/bench-image-scan.sh [RUNS]      (default 30 runs each)
#
# Needs hyperfine (apt-get install hyperfine), trivy (scripts/install-trivy.sh)
# and python3 for the medians. Exit codes of NO-GO runs are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-30}"
work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/readiness-bench-XXXXXX")}"
mkdir -p "$work/reports"

go build -o "$work/readiness" ./cmd/readiness
eval "$(go run ./internal/testutil/trivytest/benchfixtures -dir "$work")"

for img in "$SMALL" "$BIG"; do
	rd=("$work/readiness" image scan --skip-db-update --cache-dir "$CACHE" --report-dir "$work/reports" --input "$img")
	# The exact trivy command line readiness runs, minus the binary.
	mapfile -t tv < <("${rd[@]}" --format json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin)["checks"][0]["facts"]["scans"][0]["command"]:
    print(a)')
	tv[0]="$(command -v trivy)"
	# readiness's empty --config lived in its work dir, gone after the run:
	# give trivy the same empty file, or it stops at once on a missing config.
	printf '{}\n' >"$work/trivy-config.yaml"
	for i in "${!tv[@]}"; do
		[[ "${tv[$i]}" == --config ]] && tv[$((i + 1))]="$work/trivy-config.yaml"
	done
	name="$(basename "$img" .tar)"
	hyperfine -N -i --warmup 3 --runs "$runs" --export-json "$work/$name.json" \
		-n "trivy ($name)" "$(printf '%q ' "${tv[@]}")" \
		-n "readiness ($name)" "$(printf '%q ' "${rd[@]}")" >&2
	python3 - "$work/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
t, d = r[0], r[1]
extra = d["median"] - t["median"]
print(f'{t["command"]:>28}: median {t["median"]*1000:7.1f} ms  min {t["min"]*1000:7.1f} ms  user+sys {(t["user"]+t["system"])*1000:6.1f} ms')
print(f'{d["command"]:>28}: median {d["median"]*1000:7.1f} ms  min {d["min"]*1000:7.1f} ms  user+sys {(d["user"]+d["system"])*1000:6.1f} ms')
print(f'{"overhead":>28}: {extra*1000:+7.1f} ms median ({extra/t["median"]*100:+.1f} %), {(d["min"]-t["min"])*1000:+.1f} ms min')
PY
done
echo "work dir: $work" >&2
