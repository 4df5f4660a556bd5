#!/usr/bin/env bash
# test-admission.sh — the admission policies (`readiness admission policy`)
# against the real evaluators, in their own Go modules so that their
# dependencies never reach the release binary:
#
#   test/admission          Sigstore policy-controller's policy package
#   test/admission/kyverno  Kyverno's cosign verifier and condition engine
#
#   scripts/test-admission.sh            both modules
#   scripts/test-admission.sh -run Foo   extra arguments go to `go test`
#
# Each builds a Kubernetes-sized dependency graph (about 2,000 packages):
# cold, that takes many minutes on 2 cores, which is why scripts/test.sh
# runs it only with READINESS_TEST_ADMISSION=1 (CI sets it in its own job).
set -euo pipefail
cd "$(dirname "$0")/.."
count=()
[ "${CI:-}" = "true" ] && count=(-count=1)
for m in test/admission test/admission/kyverno; do
	echo "==> $m"
	(cd "$m" && go vet ./... && go test -timeout 30m ${count[@]+"${count[@]}"} "$@" ./...)
done
