package steps

import (
	"context"
	"testing"
)

func TestIgnoreReaders(t *testing.T) {
	a := &Interpreter{ctx: context.Background()}
	for _, tc := range []struct {
		name string
		kind ignoreKind
		yaml bool
		src  string
		all  bool
	}{
		{"policy default true", ignorePolicy, false, "package trivy\ndefault ignore := true\n", true},
		{"policy v0 default true", ignorePolicy, false, "package trivy\ndefault ignore = true\n", true},
		{"policy always", ignorePolicy, false, "package trivy\nignore { true }\n", true},
		{"policy every blocking severity", ignorePolicy, false, "package trivy\nimport rego.v1\nignore if input.Severity in {\"HIGH\", \"CRITICAL\"}\n", true},
		{"policy one CVE", ignorePolicy, false, "package trivy\nimport rego.v1\nignore if input.VulnerabilityID == \"CVE-2023-1\"\n", false},
		{"policy other package", ignorePolicy, false, "package other\ndefault ignore := true\n", false},
		{"policy not Rego", ignorePolicy, false, "ignore everything", true},
		{"policy http.send", ignorePolicy, false, "package trivy\nimport rego.v1\nignore if http.send({\"method\": \"get\", \"url\": \"http://x\"}).body.ignore\n", true},
		{"file wildcard", ignoreFile, false, "CVE-2023-1\n*\n", true},
		{"file CVE wildcard", ignoreFile, false, "CVE-* # all\n", true},
		{"file year", ignoreFile, false, "CVE-2023-*\n", false},
		{"file list", ignoreFile, false, "# ok\nCVE-2023-1 exp:2025-01-01\n", false},
		{"yaml wildcard", ignoreFile, true, "vulnerabilities:\n  - id: \"*\"\n", true},
		{"yaml wildcard in a path", ignoreFile, true, "vulnerabilities:\n  - id: \"*\"\n    paths: [\"usr/lib/x\"]\n", false},
		{"openvex unnamed", ignoreVEX, false, `{"statements":[{"vulnerability":{},"status":"not_affected"}]}`, true},
		{"openvex string wildcard", ignoreVEX, false, `{"statements":[{"vulnerability":"*","status":"fixed"}]}`, true},
		{"openvex affected wildcard", ignoreVEX, false, `{"statements":[{"vulnerability":"*","status":"affected"}]}`, false},
		{"openvex one", ignoreVEX, false, `{"statements":[{"vulnerability":{"name":"CVE-2024-1"},"status":"not_affected"}]}`, false},
		{"cyclonedx wildcard", ignoreVEX, false, `{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"*","analysis":{"state":"not_affected"}}]}`, true},
		{"cyclonedx one", ignoreVEX, false, `{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"not_affected"}}]}`, false},
		{"vex not JSON", ignoreVEX, false, `statements: []`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var all bool
			switch tc.kind {
			case ignorePolicy:
				all, _ = a.policyIgnoresAll([]byte(tc.src))
			case ignoreFile:
				all, _ = ignoreFileAll([]byte(tc.src), tc.yaml)
			case ignoreVEX:
				all, _ = vexAll([]byte(tc.src))
			}
			if all != tc.all {
				t.Errorf("covers everything = %v, want %v", all, tc.all)
			}
		})
	}
}

func TestGrypeIgnoresAll(t *testing.T) {
	rule := func(m map[string]any) map[string]any { return map[string]any{"ignore": []any{m}} }
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		all  bool
	}{
		{"no rules", nil, false},
		{"empty rule", rule(map[string]any{"reason": "noise"}), true},
		{"package glob", rule(map[string]any{"package": map[string]any{"location": "**"}}), true},
		{"one CVE", rule(map[string]any{"vulnerability": "CVE-1"}), false},
		{"one package", rule(map[string]any{"package": map[string]any{"name": "openssl"}}), false},
		{"one fix-state", rule(map[string]any{"fix-state": "wont-fix"}), false},
		{"every fix-state", map[string]any{"ignore": []any{
			map[string]any{"fix-state": "fixed"}, map[string]any{"fix-state": "not-fixed"},
			map[string]any{"fix-state": "wont-fix"}, map[string]any{"fix-state": "unknown"}}}, true},
	} {
		if all, _ := grypeIgnoresAll(tc.cfg); all != tc.all {
			t.Errorf("%s: covers everything = %v, want %v", tc.name, all, tc.all)
		}
	}
}

// FuzzIgnoreReaders: whatever an ignore file, VEX document or policy
// holds, reading it does not fault or hang.
func FuzzIgnoreReaders(f *testing.F) {
	for _, s := range []string{"CVE-*\n", "vulnerabilities:\n  - id: '*'\n", `{"statements":[{"vulnerability":"*","status":"fixed"}]}`,
		"package trivy\ndefault ignore := true\n", `{"vulnerabilities":[{"id":"*","analysis":{"state":"resolved"}}]}`} {
		f.Add(s)
	}
	a := &Interpreter{ctx: context.Background()}
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = ignoreFileAll([]byte(src), false)
		_, _ = ignoreFileAll([]byte(src), true)
		_, _ = vexAll([]byte(src))
		_, _ = a.policyIgnoresAll([]byte(src))
	})
}
