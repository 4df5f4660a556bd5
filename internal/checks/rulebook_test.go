package checks

import (
	"strings"
	"testing"
)

func TestRuleBook(t *testing.T) {
	book := NewRuleBook([]byte(`
- id: R-ONE
  title: one
  severity: medium
  remediation: "  fix it  "
  cases:
    worse: high
`))
	if err := book.Err(); err != nil {
		t.Fatal(err)
	}
	loc := &Location{Path: "a", Line: 2}
	tests := []struct {
		name, rule, cas, subject string
		want                     Finding
	}{
		{"rule", "R-ONE", "", "x", Finding{Rule: "R-ONE", ID: "R-ONE/x", Severity: SeverityMedium, Message: "m", Remediation: "fix it", Location: loc}},
		{"no subject", "R-ONE", "", "", Finding{Rule: "R-ONE", ID: "R-ONE", Severity: SeverityMedium, Message: "m", Remediation: "fix it", Location: loc}},
		{"case", "R-ONE", "worse", "x", Finding{Rule: "R-ONE", ID: "R-ONE/x", Severity: SeverityHigh, Message: "m", Remediation: "fix it", Location: loc}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := book.Case(tt.rule, tt.cas, tt.subject, "m", loc)
			if got.Rule != tt.want.Rule || got.ID != tt.want.ID || got.Severity != tt.want.Severity ||
				got.Message != tt.want.Message || got.Remediation != tt.want.Remediation || got.Location != loc {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	// A rule or case the table lacks fails closed: critical, and says why.
	for _, f := range []Finding{book.Finding("R-NONE", "x", "m", nil), book.Case("R-ONE", "unknown", "x", "m", nil)} {
		if f.Severity != SeverityCritical || !strings.Contains(f.Message, "not in the gate's rules table") {
			t.Errorf("unknown rule or case: got %+v, want a critical defect finding", f)
		}
	}
}

func TestRuleBookRejectsBadTables(t *testing.T) {
	for name, data := range map[string]string{
		"duplicate": "- {id: A, title: t, severity: low, remediation: r}\n- {id: A, title: t, severity: low, remediation: r}\n",
		"bad case":  "- {id: A, title: t, severity: low, remediation: r, cases: {x: urgent}}\n",
		"no title":  "- {id: A, severity: low, remediation: r}\n",
	} {
		if err := NewRuleBook([]byte(data)).Err(); err == nil {
			t.Errorf("%s: table accepted", name)
		}
	}
}
