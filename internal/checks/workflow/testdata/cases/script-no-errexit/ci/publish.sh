#!/bin/bash
set -euo pipefail
image="$1"
digest="$(crane digest "${image}")"
cosign sign --yes "${image%:*}@${digest}"
