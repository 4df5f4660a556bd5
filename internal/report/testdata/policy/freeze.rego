package readiness

import rego.v1

# A custom rule that belongs to no check: the release freeze.
deny contains msg if {
	input.generated_at >= "2026-11-20"
	msg := {"msg": "release freeze until 2026-12-02", "rule": "ORG-FREEZE", "severity": "high"}
}
