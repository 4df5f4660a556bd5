package readiness_test

import rego.v1

import data.readiness

check(name, status, findings) := {"name": name, "type": name, "required": true, "status": status, "findings": findings}

finding(rule, sev) := {"rule": rule, "id": rule, "severity": sev, "message": "m"}

base := {"settings": {"block_on": ["critical", "high"]}, "waivers": []}

test_all_pass_is_go if {
	inp := object.union(base, {"checks": [check("a", "pass", []), check("b", "pass", [])]})
	count(readiness.deny) == 0 with input as inp
}

test_high_finding_blocks if {
	inp := object.union(base, {"checks": [check("a", "fail", [finding("X-HIGH", "high")])]})
	some m in readiness.deny with input as inp
	m.rule == "X-HIGH"
	m.check == "a"
}

test_medium_finding_warns_not_blocks if {
	inp := object.union(base, {"checks": [check("a", "fail", [finding("X-MED", "medium")])]})
	count(readiness.deny) == 0 with input as inp
	count(readiness.warn) == 1 with input as inp
}

test_waived_finding_does_not_block if {
	f := object.union(finding("X-CRIT", "critical"), {"waived_by": "X-CRIT"})
	inp := object.union(base, {"checks": [check("a", "fail", [f])]})
	count(readiness.deny) == 0 with input as inp
}

test_error_blocks if {
	c := object.union(check("a", "error", []), {"error": "boom"})
	inp := object.union(base, {"checks": [c]})
	some m in readiness.deny with input as inp
	m.rule == "CHECK-ERROR"
}

test_required_skipped_blocks if {
	inp := object.union(base, {"checks": [check("a", "skipped", [])]})
	some m in readiness.deny with input as inp
	m.rule == "CHECK-NOT-RUN"
}

test_optional_skipped_passes if {
	c := object.union(check("a", "skipped", []), {"required": false})
	inp := object.union(base, {"checks": [c, check("b", "pass", [])]})
	count(readiness.deny) == 0 with input as inp
}

test_only_optional_skipped_blocks if {
	c := object.union(check("a", "skipped", []), {"required": false})
	inp := object.union(base, {"checks": [c]})
	some m in readiness.deny with input as inp
	m.rule == "CHECK-NOT-RUN"
}

test_no_checks_blocks if {
	inp := object.union(base, {"checks": []})
	some m in readiness.deny with input as inp
	m.rule == "CHECK-NOT-RUN"
}

test_interrupted_blocks if {
	inp := object.union(base, {"checks": [check("a", "pass", [])], "interrupted": true})
	some m in readiness.deny with input as inp
	m.rule == "RUN-INTERRUPTED"
}

test_expired_waiver_blocks if {
	w := {"id": "X", "owner": "o", "expires": "2020-01-01", "state": "expired", "matched": [], "days_left": -5}
	inp := object.union(base, {"checks": [check("a", "pass", [])], "waivers": [w]})
	some m in readiness.deny with input as inp
	m.rule == "WAIVER-EXPIRED"
}

test_expiring_and_unused_waiver_warns if {
	w := {"id": "X", "owner": "o", "expires": "2020-01-01", "state": "expiring", "matched": [], "days_left": 3}
	inp := object.union(base, {"checks": [check("a", "pass", [])], "waivers": [w]})
	count(readiness.deny) == 0 with input as inp
	rules := {m.rule | some m in readiness.warn} with input as inp
	rules == {"WAIVER-EXPIRING", "WAIVER-UNUSED"}
}

test_check_block_on_overrides_settings if {
	c := object.union(check("a", "fail", [finding("X-MED", "medium")]), {"block_on": ["medium"]})
	inp := object.union(base, {"checks": [c]})
	count(readiness.deny) == 1 with input as inp
}

test_settings_block_on_critical_only if {
	inp := {"settings": {"block_on": ["critical"]}, "waivers": [], "checks": [check("a", "fail", [finding("X-HIGH", "high")])]}
	count(readiness.deny) == 0 with input as inp
	count(readiness.warn) == 1 with input as inp
}

test_unused_waiver_not_reported_for_checks_not_run if {
	w := {"id": "X", "check": "other", "owner": "o", "expires": "2099-01-01", "state": "active", "matched": [], "days_left": 30}
	inp := object.union(base, {"checks": [check("a", "pass", [])], "waivers": [w]})
	count(readiness.warn) == 0 with input as inp
}

test_unscoped_unused_waiver_not_reported_under_only if {
	w := {"id": "X", "owner": "o", "expires": "2099-01-01", "state": "active", "matched": [], "days_left": 30}
	inp := object.union(base, {"checks": [check("a", "pass", [])], "waivers": [w], "only": ["a"]})
	count(readiness.warn) == 0 with input as inp
}

test_unreadable_repository_warns if {
	inp := object.union(base, {"checks": [check("a", "pass", [])], "repository": {"root": "/src", "unknown": "the HEAD of /src cannot be read"}})
	rules := {m.rule | some m in readiness.warn} with input as inp
	rules == {"REPO-UNKNOWN"}
	count(readiness.deny) == 0 with input as inp
}

test_readable_repository_does_not_warn if {
	inp := object.union(base, {"checks": [check("a", "pass", [])], "repository": {"root": "/src", "commit": "abc"}})
	count(readiness.warn) == 0 with input as inp
}

test_expiring_waiver_message_counts_days if {
	w := {"id": "X", "owner": "o", "expires": "2020-01-01", "state": "expiring", "matched": ["a:X"]}
	one := object.union(base, {"checks": [check("a", "pass", [])], "waivers": [object.union(w, {"days_left": 1})]})
	some m1 in readiness.warn with input as one
	endswith(m1.msg, "expires on 2020-01-01, in 1 day")
	zero := object.union(base, {"checks": [check("a", "pass", [])], "waivers": [object.union(w, {"days_left": 0})]})
	some m0 in readiness.warn with input as zero
	endswith(m0.msg, "expires on 2020-01-01, today")
}

test_required_gate_not_configured_blocks if {
	inp := object.union(base, {
		"checks": [check("a", "pass", [])],
		"coverage": {"configured": ["a"], "uncovered": [{"type": "tests", "why": "required by readiness.yaml", "required": true}]},
	})
	some m in readiness.deny with input as inp
	m.rule == "GATE-NOT-CONFIGURED"
}

test_uncovered_gate_not_required_does_not_block if {
	inp := object.union(base, {
		"checks": [check("a", "pass", [])],
		"coverage": {"configured": ["a"], "uncovered": [{"type": "tests", "why": "a unittest suite was found"}]},
	})
	count(readiness.deny) == 0 with input as inp
}
