#!/usr/bin/env bash
set -euo pipefail
: "${CONTROLLER_GEN:?CONTROLLER_GEN must point to controller-gen}"
"${CONTROLLER_GEN}" object:headerFile="hack/boilerplate.go.txt" paths="./apis/..."
"${CONTROLLER_GEN}" crd paths="./apis/..." output:crd:artifacts:config="config/crds"
