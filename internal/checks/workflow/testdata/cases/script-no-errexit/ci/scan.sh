#!/bin/bash
# Scan an image; called by the release workflow.
image="$1"

echo "::group::trivy ${image}"
trivy image --exit-code 1 --severity HIGH,CRITICAL --format sarif --output trivy.sarif "${image}"
echo "::endgroup::"
