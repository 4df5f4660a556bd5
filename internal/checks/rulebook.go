package checks

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// RuleBook is a gate's rules table, the one place a finding's severity,
// title and remediation come from. A gate says which rule fired, about what
// and with which facts; it never picks a severity. Where a rule is graded
// (an expiry within the blocking window is more severe than one within the
// warning window), the grade is a named case in the table, not a severity in
// Go.
type RuleBook struct {
	data  []byte
	once  sync.Once
	rules []Rule
	byID  map[string]Rule
	err   error
}

// NewRuleBook returns the book of a gate's embedded rules.yaml. It is parsed
// on first use: most commands never judge most gates.
func NewRuleBook(data []byte) *RuleBook { return &RuleBook{data: data} }

func (b *RuleBook) load() {
	b.once.Do(func() {
		b.rules, b.err = ParseRules(b.data)
		b.byID = make(map[string]Rule, len(b.rules))
		for _, r := range b.rules {
			if _, dup := b.byID[r.ID]; dup && b.err == nil {
				b.err = fmt.Errorf("rule %s is listed twice", r.ID)
			}
			b.byID[r.ID] = r
		}
	})
}

// Err reports whether the table is well formed; each gate's tests call it.
func (b *RuleBook) Err() error {
	b.load()
	return b.err
}

// Rules lists the rules in the table's order. It panics on a malformed
// table, which the gate's tests rule out.
func (b *RuleBook) Rules() []Rule {
	if err := b.Err(); err != nil {
		panic(err)
	}
	return b.rules
}

// Rule returns a rule by ID.
func (b *RuleBook) Rule(id string) (Rule, bool) {
	b.load()
	r, ok := b.byID[id]
	return r, ok
}

// Finding builds a finding of rule about subject: its ID is RULE/subject
// (RULE alone when subject is empty) and its severity and remediation are
// the rule's.
func (b *RuleBook) Finding(rule, subject, message string, loc *Location) Finding {
	return b.Case(rule, "", subject, message, loc)
}

// Case is Finding for one of the rule's named cases, whose severity the
// table gives (KEY-EXPIRING-SOON's "within-fail" is high where the rule is
// medium). An empty case is the rule itself.
//
// A rule or case missing from the table is a defect of the gate; rather
// than let it pass unnoticed, the finding is critical and says so, which
// fails closed (and every gate's tests prove each rule it names is listed).
func (b *RuleBook) Case(rule, cas, subject, message string, loc *Location) Finding {
	id := rule
	if subject != "" {
		id = rule + "/" + subject
	}
	f := Finding{Rule: rule, ID: id, Message: message, Location: loc}
	r, ok := b.Rule(rule)
	sev, known := r.Severity, ok
	if ok && cas != "" {
		sev, known = r.Cases[cas]
	}
	if !known {
		f.Severity = SeverityCritical
		f.Message = fmt.Sprintf("%s (readiness defect: rule %s%s is not in the gate's rules table, so it is reported as critical)",
			message, rule, caseSuffix(cas))
		return f
	}
	f.Severity = sev
	f.Remediation = strings.TrimSpace(r.Remediation)
	if rem, ok := r.CaseRemediation[cas]; ok && cas != "" {
		f.Remediation = strings.TrimSpace(rem)
	}
	return f
}

func caseSuffix(cas string) string {
	if cas == "" {
		return ""
	}
	return " case " + cas
}

// With returns f with properties set.
func (f Finding) With(props map[string]any) Finding {
	f.Properties = props
	return f
}

// CaseNames lists a rule's cases, sorted, for documentation.
func (r Rule) CaseNames() []string {
	out := make([]string, 0, len(r.Cases))
	for c := range r.Cases {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
