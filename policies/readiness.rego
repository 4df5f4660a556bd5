# The default readiness policy. Conventions follow conftest: `deny` blocks the
# release, `warn` advises. Each rule returns an object whose "msg" is shown to
# people and whose other keys (check, rule, finding, severity) let reports
# group and count. Add rules of your own in `package readiness` in a
# directory passed with --policy or listed under policy.dirs.
package readiness

import rego.v1

default_block_on := {"critical", "high"}

# The severities that block for check c: its own block_on, else the
# configuration's, else critical and high.
block_on(c) := {s | some s in c.block_on} if {
	count(object.get(c, "block_on", [])) > 0
} else := {s | some s in input.settings.block_on} if {
	count(object.get(input, ["settings", "block_on"], [])) > 0
} else := default_block_on

waived(f) if object.get(f, "waived_by", "") != ""

where(f) := sprintf(" (%s)", [loc]) if {
	loc := location(f.location)
} else := ""

location(l) := sprintf("%s:%d", [l.path, l.line]) if {
	l.line > 0
} else := l.path

deny contains msg if {
	some c in input.checks
	some f in c.findings
	f.severity in block_on(c)
	not waived(f)
	msg := {
		"msg": sprintf("%s: %s%s", [f.rule, f.message, where(f)]),
		"check": c.name, "rule": f.rule, "finding": f.id, "severity": f.severity,
	}
}

deny contains msg if {
	some c in input.checks
	c.status == "error"
	msg := {
		"msg": sprintf("%s could not complete: %s", [c.name, object.get(c, "error", "unknown error")]),
		"check": c.name, "rule": "CHECK-ERROR", "severity": "critical",
	}
}

deny contains msg if {
	some c in input.checks
	c.required
	c.status == "skipped"
	msg := {
		"msg": sprintf("required check %s did not run: %s", [c.name, object.get(c, "summary", "skipped")]),
		"check": c.name, "rule": "CHECK-NOT-RUN", "severity": "critical",
	}
}

# Nothing was proved when no check ran, or when every check that ran
# skipped (optional checks skipping must not add up to a GO).
deny contains msg if {
	count({c | some c in input.checks; c.status in {"pass", "fail", "error"}}) == 0
	msg := {"msg": "no checks ran; nothing was proved", "rule": "CHECK-NOT-RUN", "severity": "critical"}
}

# readiness.yaml's require: lists a gate type no check configures.
deny contains msg if {
	some n in input.coverage.uncovered
	n.required
	msg := {
		"msg": sprintf("required gate %s is not configured (%s)", [n.type, n.why]),
		"rule": "GATE-NOT-CONFIGURED", "severity": "critical",
	}
}

deny contains msg if {
	input.interrupted
	msg := {"msg": "the run was interrupted before every check finished", "rule": "RUN-INTERRUPTED", "severity": "critical"}
}

deny contains msg if {
	some w in input.waivers
	w.state == "expired"
	msg := {
		"msg": sprintf("waiver %s (owner %s) expired on %s; fix what it covered or renew it", [w.id, w.owner, w.expires]),
		"rule": "WAIVER-EXPIRED", "finding": w.id, "severity": "high",
	}
}

warn contains msg if {
	some c in input.checks
	some f in c.findings
	not f.severity in block_on(c)
	f.severity in {"critical", "high", "medium"}
	not waived(f)
	msg := {
		"msg": sprintf("%s: %s%s", [f.rule, f.message, where(f)]),
		"check": c.name, "rule": f.rule, "finding": f.id, "severity": f.severity,
	}
}

warn contains msg if {
	some w in input.waivers
	w.state == "expiring"
	msg := {
		"msg": sprintf("waiver %s (owner %s) expires on %s, %s", [w.id, w.owner, w.expires, in_days(w.days_left)]),
		"rule": "WAIVER-EXPIRING", "finding": w.id, "severity": "medium",
	}
}

in_days(0) := "today"

in_days(1) := "in 1 day"

in_days(n) := sprintf("in %d days", [n]) if n > 1

in_days(n) := sprintf("%d days ago", [0 - n]) if n < 0

# A waiver can only be called unused when what it covers was looked at:
# a waiver scoped to a check that ran, or an unscoped one in a full run.
in_scope(w) if {
	some c in input.checks
	c.name == object.get(w, "check", "")
}

in_scope(w) if {
	object.get(w, "check", "") == ""
	count(object.get(input, "only", [])) == 0
}

warn contains msg if {
	some w in input.waivers
	w.state != "expired"
	count(w.matched) == 0
	in_scope(w)
	msg := {
		"msg": sprintf("waiver %s matched no finding in this run; delete it or fix its id", [w.id]),
		"rule": "WAIVER-UNUSED", "finding": w.id, "severity": "low",
	}
}

# The repository's facts (commit, branch) could not be read: say so rather
# than publish evidence that silently names no commit.
warn contains msg if {
	reason := input.repository.unknown
	reason != ""
	msg := {
		"msg": sprintf("the repository could not be fully read, so the evidence may name no commit: %s", [reason]),
		"rule": "REPO-UNKNOWN", "severity": "medium",
	}
}
