package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
)

// cause is one blocker as every human format shows it: the deny messages
// that share a rule and a cause, once, with every place it occurs. Twelve
// signing steps without a scan in one job are one cause with twelve
// places and one fix, not twelve paragraphs (issue 28, 1 and 2).
type cause struct {
	// Rule, Severity (the most severe member's) and Checks are the
	// members'; Title is what the cause is, said once.
	Rule, Severity, Title string
	Checks                []string
	Members               []blocker
	Places                []occurrence
	// Fix is the members' remediation: each distinct one, in order.
	Fix string
}

// occurrence is one place a cause occurs: path:line, and what there
// differs from the other places (the step, its target, its callers).
type occurrence struct {
	place
	Note string
}

func (o occurrence) String() string {
	s := o.Path
	if o.Line > 0 {
		s = fmt.Sprintf("%s:%d", o.Path, o.Line)
	}
	if o.Note != "" {
		s += " (" + o.Note + ")"
	}
	return s
}

// Where is the first place, or "" when the cause is located nowhere.
func (c cause) Where() string {
	if len(c.Places) == 0 || c.Places[0].Path == "" {
		return ""
	}
	return c.Places[0].place.String()
}

func (p place) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.Path, p.Line)
	}
	return p.Path
}

// causes groups the verdict's deny messages. Two blockers are one cause
// when they have the same rule and
//   - the same message once its location is taken out (the same finding
//     reported twice, or the same fault in several files), or
//   - the same location (one step reached through two callers: a reusable
//     workflow called from two workflows), or
//   - the same workflow job (a finding with workflow and job properties:
//     every unscanned signing step of a job has one fix, a scan the job
//     runs or needs before it signs).
//
// Grouping is transitive. Causes are ordered by severity, then the path
// and line of their first place.
func causes(doc *evidence.Document, rules map[string]checks.Rule) []cause {
	return groupCauses(doc, rules, newLocator(doc))
}

// groupCauses is causes with the locator given: an earlier run's document
// (--compare) is grouped with one that reads no file it names.
func groupCauses(doc *evidence.Document, rules map[string]checks.Rule, loc *locator) []cause {
	bl := blockers(doc)
	parent := make([]int, len(bl))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	seen := map[string]int{}
	for i, b := range bl {
		for _, k := range causeKeys(b) {
			if j, ok := seen[k]; ok {
				parent[find(i)] = find(j)
			} else {
				seen[k] = i
			}
		}
	}
	var order []int
	groups := map[int][]blocker{}
	for i, b := range bl {
		r := find(i)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], b)
	}
	out := make([]cause, 0, len(order))
	for _, r := range order {
		out = append(out, newCause(groups[r], loc, rules))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := checks.Severity(a.Severity).Rank(), checks.Severity(b.Severity).Rank(); ra != rb {
			return ra < rb
		}
		pa, pb := firstPlace(a), firstPlace(b)
		if pa.Path != pb.Path {
			return pa.Path < pb.Path
		}
		return pa.Line < pb.Line
	})
	return out
}

func firstPlace(c cause) place {
	if len(c.Places) == 0 {
		return place{}
	}
	return c.Places[0].place
}

// causeKeys are the keys under which a blocker joins others of its cause.
func causeKeys(b blocker) []string {
	rule := b.Rule + "\x00"
	keys := []string{"msg\x00" + rule + bareMessage(b)}
	if f := b.Finding; f != nil {
		if l := f.Location; l != nil && l.Path != "" && l.Line > 0 {
			keys = append(keys, fmt.Sprintf("loc\x00%s%s:%d", rule, l.Path, l.Line))
		}
		wf, _ := f.Properties["workflow"].(string)
		job, _ := f.Properties["job"].(string)
		if wf != "" && job != "" {
			keys = append(keys, "job\x00"+rule+wf+"\x00"+job)
		}
	}
	return keys
}

// bareMessage is what a blocker says without where: the finding's own
// message (the policy's adds the rule and the location), else the
// message as the policy wrote it.
func bareMessage(b blocker) string {
	if b.Finding != nil {
		return b.Rule + ": " + b.Finding.Message
	}
	return b.Msg
}

func newCause(ms []blocker, loc *locator, rules map[string]checks.Rule) cause {
	c := cause{Rule: ms[0].Rule, Severity: ms[0].Severity, Members: ms, Fix: remediation(ms[0], rules)}
	// Members of one cause usually share a fix; where a case of the rule
	// has its own (a signed checksum file beside signed images at one
	// step), each distinct fix is given, so that none is wrong for a place.
	for _, m := range ms[1:] {
		if r := remediation(m, rules); r != "" && !strings.Contains(c.Fix, r) {
			c.Fix = strings.TrimSpace(c.Fix + "\n" + r)
		}
	}
	same := true
	for _, m := range ms {
		if checks.Severity(m.Severity).Rank() < checks.Severity(c.Severity).Rank() {
			c.Severity = m.Severity
		}
		if m.Check != "" && !contains(c.Checks, m.Check) {
			c.Checks = append(c.Checks, m.Check)
		}
		same = same && bareMessage(m) == bareMessage(ms[0])
	}
	c.Title = bareMessage(ms[0])
	if len(ms) == 1 {
		c.Title = ms[0].Msg
	} else if r, ok := rules[c.Rule]; ok && !same && r.Title != "" {
		c.Title = c.Rule + ": " + r.Title
		if job := commonProperty(ms, "job"); job != "" {
			c.Title += " (job " + job + ")"
		}
	}
	// One occurrence per place; the callers that reach one place through
	// different workflows are named on it, and distinct findings at one
	// place (a step that signs two things) each keep what they say.
	byPlace := map[place]int{}
	callers := map[place][]string{}
	notes := map[place][]string{}
	for _, m := range ms {
		p := loc.of(m)
		note := ""
		if !same && m.Finding != nil {
			note = occurrenceNote(m)
		}
		wf := property(m, "workflow")
		if i, ok := byPlace[p]; ok {
			o := &c.Places[i]
			if wf != "" && !contains(callers[p], wf) {
				callers[p] = append(callers[p], wf)
				o.Note = joinNote(o.Note, "also from "+wf)
			} else if note != "" && !contains(notes[p], note) {
				notes[p] = append(notes[p], note)
				o.Note = joinNote(o.Note, note)
			}
			continue
		}
		if wf != "" {
			callers[p] = append(callers[p], wf)
		}
		if note != "" {
			notes[p] = append(notes[p], note)
		}
		if wf != "" && wf != p.Path && len(ms) > 1 {
			note = joinNote(note, "from "+wf)
		}
		byPlace[p] = len(c.Places)
		c.Places = append(c.Places, occurrence{place: p, Note: note})
	}
	sort.SliceStable(c.Places, func(i, j int) bool {
		if c.Places[i].Path != c.Places[j].Path {
			return c.Places[i].Path < c.Places[j].Path
		}
		return c.Places[i].Line < c.Places[j].Line
	})
	return c
}

// occurrenceNote says what differs at one place of a cause whose members'
// messages differ: the step and what it signs, else the message itself.
func occurrenceNote(m blocker) string {
	if step := property(m, "step"); step != "" {
		if t := property(m, "target"); t != "" {
			return "step " + step + ": " + t
		}
		return "step " + step
	}
	return truncate(oneLine(m.Finding.Message), 100)
}

func property(m blocker, key string) string {
	if m.Finding == nil {
		return ""
	}
	s, _ := m.Finding.Properties[key].(string)
	return s
}

func commonProperty(ms []blocker, key string) string {
	v := property(ms[0], key)
	for _, m := range ms[1:] {
		if property(m, key) != v {
			return ""
		}
	}
	return v
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
