// Package policy judges an evidence document with Rego: the embedded default
// policy plus the user's, conftest-style `deny` and `warn` in package
// readiness. The query is prepared once; anything that goes wrong while
// judging is a NO-GO, never a GO.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/policies"
)

// Engine is a compiled, prepared policy.
type Engine struct {
	prepared rego.PreparedEvalQuery
	sources  []string
	// namespaces are the packages besides readiness whose deny and warn
	// count; set records what judged.
	namespaces []string
	set        evidence.PolicySet
	// waivedAt are the file:line of every definition of waived(f) outside
	// the embedded policy: policy code that can cancel a built-in deny.
	waivedAt []string
}

// PolicyWaiverPrefix starts Finding.WaivedBy when policy code, not a
// readiness.yaml waiver, waived the finding: "policy:dir/x.rego:4".
const PolicyWaiverPrefix = "policy:"

// policyWaivedQuery finds the findings the policy's waived(f) holds for
// that no readiness.yaml waiver covers, and whether each would have
// blocked: [check index, finding index, blocking].
const policyWaivedQuery = `policy_waived := [[i, j, b] | some i, j; c := input.checks[i]; f := c.findings[j]; object.get(f, "waived_by", "") == ""; data.readiness.waived(f); b := f.severity in data.readiness.block_on(c)]`

// waivingRules lists where modules other than the embedded policy define
// waived in package readiness.
func waivingRules(mods []Module, parsed map[string]*ast.Module) []string {
	var out []string
	for _, m := range mods {
		pm := parsed[m.Name]
		if m.embedded || pm == nil || pm.Package.Path.String() != "data.readiness" {
			continue
		}
		for _, r := range pm.Rules {
			if r.Head.Name.String() == "waived" || (len(r.Head.Ref()) > 0 && r.Head.Ref()[0].Value.String() == "waived") {
				out = append(out, fmt.Sprintf("%s:%d", m.Name, r.Location.Row))
			}
		}
	}
	sort.Strings(out)
	return out
}

func index(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		return n.Int64()
	case float64:
		return int64(n), nil
	case int:
		return int64(n), nil
	}
	return 0, fmt.Errorf("%v is not an index", v)
}

// markPolicyWaived records, on each finding policy code waived, where that
// code is, and returns how many of them would otherwise have blocked.
func (e *Engine) markPolicyWaived(doc *evidence.Document, v any) (int, error) {
	rows, ok := v.([]any)
	if !ok {
		return 0, fmt.Errorf("policy_waived is %T, not a list", v)
	}
	blocking := 0
	for _, row := range rows {
		cell, ok := row.([]any)
		if !ok || len(cell) != 3 {
			return 0, fmt.Errorf("policy_waived row %v", row)
		}
		i, ierr := index(cell[0])
		j, jerr := index(cell[1])
		if ierr != nil || jerr != nil || i < 0 || int(i) >= len(doc.Checks) || j < 0 || int(j) >= len(doc.Checks[i].Findings) {
			return 0, fmt.Errorf("policy_waived row %v names no finding", row)
		}
		doc.Checks[i].Findings[j].WaivedBy = PolicyWaiverPrefix + strings.Join(e.waivedAt, ", ")
		if b, _ := cell[2].(bool); b {
			blocking++
		}
	}
	return blocking, nil
}

// Rules documents the findings the policy itself reports.
func Rules() []checks.Rule {
	data, err := fs.ReadFile(policies.FS, "rules.yaml")
	if err != nil {
		panic(err) // embedded at build time; a test proves it is there
	}
	return checks.MustRules(data)
}

// Module is one Rego source file.
type Module struct {
	Name string
	Src  string
	// embedded marks the default policy compiled into the binary.
	embedded bool
}

// Load compiles the embedded policy and every *.rego file (tests excluded)
// in dirs. Syntax and compile errors name file:line.
func Load(ctx context.Context, dirs []string) (*Engine, error) {
	return LoadSet(ctx, Options{Dirs: dirs})
}

func embedded(withTests bool) ([]Module, error) {
	entries, err := fs.ReadDir(policies.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded policy: %w", err)
	}
	var mods []Module
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".rego") || (!withTests && isTest(e.Name())) {
			continue
		}
		src, err := fs.ReadFile(policies.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded policy %s: %w", e.Name(), err)
		}
		mods = append(mods, Module{Name: "embedded:policies/" + e.Name(), Src: string(src), embedded: true})
	}
	return mods, nil
}

func isTest(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// ReadDir reads the .rego files below dir. A directory with none is an
// error: a policy that silently loads nothing would judge nothing.
func ReadDir(dir string, withTests bool) ([]Module, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory %s: %w", dir, unwrap(err))
	}
	if !st.IsDir() {
		if strings.HasSuffix(dir, ".rego") {
			src, err := os.ReadFile(dir)
			if err != nil {
				return nil, fmt.Errorf("read policy %s: %w", dir, unwrap(err))
			}
			return []Module{{Name: dir, Src: string(src)}}, nil
		}
		return nil, fmt.Errorf("policy %s is neither a directory nor a .rego file", dir)
	}
	var mods []Module
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") || (!withTests && isTest(p)) {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read policy %s: %w", p, unwrap(err))
		}
		mods = append(mods, Module{Name: p, Src: string(src)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("no policies found in %s (expected *.rego files)", dir)
	}
	return mods, nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parse parses modules as Rego v1, reporting the first error as file:line.
func parse(mods []Module) (map[string]*ast.Module, error) {
	parsed := make(map[string]*ast.Module, len(mods))
	for _, m := range mods {
		pm, err := ast.ParseModuleWithOpts(m.Name, m.Src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("policy %s", astError(err))
		}
		parsed[m.Name] = pm
	}
	return parsed, nil
}

func compile(ctx context.Context, mods []Module, opts Options) (*Engine, error) {
	parsed, err := parse(mods)
	if err != nil {
		return nil, err
	}
	namespaces, err := evaluated(mods, parsed, opts)
	if err != nil {
		return nil, err
	}
	compiler := ast.NewCompiler()
	compiler.Compile(parsed)
	if compiler.Failed() {
		return nil, fmt.Errorf("policy %s", astError(compiler.Errors))
	}
	waivedAt := waivingRules(mods, parsed)
	q := query(namespaces)
	if len(waivedAt) > 0 {
		q += "; " + policyWaivedQuery
	}
	pq, err := rego.New(
		rego.Query(q),
		rego.Compiler(compiler),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare policy: %s", astError(err))
	}
	e := &Engine{prepared: pq, namespaces: namespaces, set: record(mods, namespaces), waivedAt: waivedAt}
	for _, m := range mods {
		e.sources = append(e.sources, m.Name)
	}
	sort.Strings(e.sources)
	return e, nil
}

// astError renders OPA's errors as "file:line: message", first error only.
func astError(err error) string {
	var errs ast.Errors
	if errors.As(err, &errs) && len(errs) > 0 {
		e := errs[0]
		more := ""
		if len(errs) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(errs)-1)
		}
		if e.Location != nil {
			return fmt.Sprintf("%s:%d: %s%s", e.Location.File, e.Location.Row, e.Message, more)
		}
		return e.Message + more
	}
	var ae *ast.Error
	if errors.As(err, &ae) && ae.Location != nil {
		return fmt.Sprintf("%s:%d: %s", ae.Location.File, ae.Location.Row, ae.Message)
	}
	return err.Error()
}

// Sources lists the policy files in effect.
func (e *Engine) Sources() []string { return e.sources }

// Judge evaluates doc and fills in doc.Verdict. It cannot fail open: an
// evaluation error, an undefined result or a malformed rule output all
// yield NO-GO with PolicyError set.
func (e *Engine) Judge(ctx context.Context, doc *evidence.Document) {
	set := e.set
	v := evidence.Verdict{Policies: e.sources, PolicySet: &set, Deny: []evidence.Message{}, Warn: []evidence.Message{}}
	// Marks from an earlier judgement are this engine's to make again.
	for i := range doc.Checks {
		for j := range doc.Checks[i].Findings {
			if f := &doc.Checks[i].Findings[j]; strings.HasPrefix(f.WaivedBy, PolicyWaiverPrefix) {
				f.WaivedBy = ""
			}
		}
	}
	deny, warn, waived, err := e.eval(ctx, doc)
	if err != nil {
		v.Decision = evidence.NOGO
		v.PolicyError = err.Error()
		v.Deny = append(v.Deny, evidence.Message{Msg: "the policy could not be evaluated: " + err.Error(), Rule: "POLICY-ERROR", Severity: "critical"})
		v.Summary = "NO-GO: the policy could not be evaluated" + doc.PartialNote()
		doc.Verdict = v
		doc.Verdict.Checks = doc.Gates()
		return
	}
	v.Deny, v.Warn = deny, warn
	if len(deny) == 0 {
		v.Decision = evidence.GO
		v.Summary = "GO"
		if waived > 0 {
			v.Summary += fmt.Sprintf(", %d blocking %s waived by %s", waived, plural(waived, "finding", "findings"), strings.Join(e.waivedAt, ", "))
		}
		v.Summary += doc.PartialNote() + doc.CoverageNote()
	} else {
		v.Decision = evidence.NOGO
		v.Summary = summarize(deny) + doc.PartialNote() + doc.CoverageNote()
	}
	doc.Verdict = v
	doc.Verdict.Checks = doc.Gates()
}

func summarize(deny []evidence.Message) string {
	checksSeen := map[string]bool{}
	for _, m := range deny {
		if m.Check != "" {
			checksSeen[m.Check] = true
		}
	}
	return fmt.Sprintf("NO-GO: %d blocking %s in %d %s", len(deny), plural(len(deny), "finding", "findings"), len(checksSeen), plural(len(checksSeen), "check", "checks"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// eval evaluates the policy; waived counts the blocking findings policy
// code waived (each marked with where that code is).
func (e *Engine) eval(ctx context.Context, doc *evidence.Document) (deny, warn []evidence.Message, waived int, err error) {
	input, err := toInput(doc)
	if err != nil {
		return nil, nil, 0, err
	}
	rs, err := e.prepared.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("evaluate: %s", astError(err))
	}
	if len(rs) != 1 {
		// Undefined means deny, as cosign's rego does.
		return nil, nil, 0, errors.New("data.readiness.deny or data.readiness.warn is undefined")
	}
	if len(e.waivedAt) > 0 {
		if waived, err = e.markPolicyWaived(doc, rs[0].Bindings["policy_waived"]); err != nil {
			return nil, nil, 0, err
		}
	}
	deny, warn = []evidence.Message{}, []evidence.Message{}
	for i, ns := range append([]string{"readiness"}, e.namespaces...) {
		for _, rule := range []string{"deny", "warn"} {
			b, ok := rs[0].Bindings[binding(rule, i)]
			if !ok {
				continue // this namespace has no such rule
			}
			ms, err := messages(b, rule)
			if err != nil {
				return nil, nil, 0, fmt.Errorf("%s (package %s)", err, ns)
			}
			for j := range ms {
				if ns != "readiness" {
					if ms[j].Meta == nil {
						ms[j].Meta = map[string]any{}
					}
					ms[j].Meta["namespace"] = ns
				}
			}
			if rule == "deny" {
				deny = append(deny, ms...)
			} else {
				warn = append(warn, ms...)
			}
		}
	}
	sortMessages(deny)
	sortMessages(warn)
	return deny, warn, waived, nil
}

// toInput turns the document into the plain JSON value Rego sees: the
// evidence without any earlier verdict. The verdict (and the gate statuses
// derived from it) is what the policy decides; a re-judged document's old
// one must not be an input to the new.
func toInput(doc *evidence.Document) (any, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode evidence for policy: %w", err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("encode evidence for policy: %w", err)
	}
	delete(v, "verdict")
	return v, nil
}

// messages accepts a set of strings or of objects with "msg", as conftest.
func messages(v any, rule string) ([]evidence.Message, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a set of messages, got %T", rule, v)
	}
	out := make([]evidence.Message, 0, len(items))
	for _, it := range items {
		switch m := it.(type) {
		case string:
			out = append(out, evidence.Message{Msg: m})
		case map[string]any:
			msg, ok := m["msg"].(string)
			if !ok {
				return nil, fmt.Errorf("%s rule returned an object without a string \"msg\": %v", rule, m)
			}
			em := evidence.Message{Msg: msg}
			for k, val := range m {
				s, _ := val.(string)
				switch k {
				case "msg":
				case "check":
					em.Check = s
				case "rule":
					em.Rule = s
				case "finding":
					em.Finding = s
				case "severity":
					em.Severity = s
				default:
					if em.Meta == nil {
						em.Meta = map[string]any{}
					}
					em.Meta[k] = val
				}
			}
			out = append(out, em)
		default:
			return nil, fmt.Errorf("%s rule returned %T; return a string or an object with \"msg\"", rule, it)
		}
	}
	return out, nil
}

func sortMessages(out []evidence.Message) {
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Check != out[j].Check {
			return out[i].Check < out[j].Check
		}
		return out[i].Msg < out[j].Msg
	})
}
