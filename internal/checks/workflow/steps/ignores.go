package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// What a scanner is told to ignore can drop every finding while its exit
// code still says "blocking": an ignore policy (Rego), an ignore file or
// a VEX document. The gate reads them from the repository; a scan whose
// ignores cover everything is not a blocking scan, and one whose ignores
// cannot be read (outside the repository, fetched at run time) is not
// counted as blocking either (fail closed).

// ignoreKind is the kind of an ignore input.
type ignoreKind int

const (
	ignorePolicy ignoreKind = iota // trivy --ignore-policy (Rego)
	ignoreFile                     // .trivyignore (text or YAML)
	ignoreVEX                      // OpenVEX or CycloneDX VEX
)

var ignoreKindName = map[ignoreKind]string{ignorePolicy: "ignore policy", ignoreFile: "ignore file", ignoreVEX: "VEX document"}

// ignoreInput is one file a scan is handed, as written and where from.
type ignoreInput struct {
	kind ignoreKind
	path string // resolved
	src  string // the flag, input or variable that names it
	// optional is set for a default file (.trivyignore), whose absence
	// means nothing is ignored.
	optional bool
}

// probeIDs are vulnerability IDs no ignore written for real findings
// names: an ignore that drops them drops everything.
var probeIDs = []string{"CVE-2099-0001", "CVE-1999-99999"}

// ignoreReasons judges every ignore input of a scan, relative to dir;
// each returned reason makes the scan non-blocking.
func (a *Interpreter) ignoreReasons(w *jobWalk, dir string, ins []ignoreInput) []string {
	var out []string
	for _, in := range ins {
		for _, p := range model.SplitList(in.path) {
			if r := a.ignoreReason(w, dir, in, p); r != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

func (a *Interpreter) ignoreReason(w *jobWalk, dir string, in ignoreInput, p string) string {
	what := fmt.Sprintf("its %s %s (%s)", ignoreKindName[in.kind], quote(p), in.src)
	if strings.ContainsAny(p, "$`") || strings.Contains(p, "${{") {
		return what + " is computed at run time and cannot be read here, so what it drops cannot be seen"
	}
	rel := p
	if !path.IsAbs(p) {
		rel = path.Join(dir, p)
	}
	if by := w.writtenBefore(rel); by != "" {
		// Not the file in the repository: the job writes it first.
		return what + " is written at run time (" + by + "), so what it drops cannot be seen"
	}
	key := fmt.Sprint(in.kind) + ":" + rel
	if r, ok := a.ignores[key]; ok {
		if r == "" {
			return ""
		}
		return what + r
	}
	src, err := a.readFile(rel)
	r := ""
	switch {
	case err != nil && in.optional && isNotExist(err):
	case err != nil && path.IsAbs(p):
		r = " is outside the repository and cannot be read here, so what it drops cannot be seen"
	case err != nil:
		r = " cannot be read here (" + UnwrapPathError(err).Error() + "; it may be written at run time), so what it drops cannot be seen"
	default:
		var all bool
		var why string
		switch in.kind {
		case ignorePolicy:
			all, why = a.policyIgnoresAll(src)
		case ignoreFile:
			all, why = ignoreFileAll(src, strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml"))
		case ignoreVEX:
			all, why = vexAll(src)
		}
		if all {
			r = " " + why + ", so the scan passes whatever it finds"
		}
	}
	a.ignores[key] = r
	if r == "" {
		return ""
	}
	return what + r
}

// policyIgnoresAll evaluates a trivy ignore policy (package trivy, rule
// ignore) against probe vulnerabilities of every severity trivy blocks
// on: when it ignores them all, it ignores everything. The policy runs
// with no network or runtime builtins and a short deadline; one that
// cannot be evaluated is not counted as blocking.
func (a *Interpreter) policyIgnoresAll(src []byte) (bool, string) {
	mod, err := ast.ParseModuleWithOpts("ignore.rego", string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		mod, err = ast.ParseModuleWithOpts("ignore.rego", string(src), ast.ParserOptions{RegoVersion: ast.RegoV0})
	}
	if err != nil {
		return true, "does not parse as Rego (" + firstLine(err.Error()) + ")"
	}
	caps := ast.CapabilitiesForThisVersion()
	var builtins []*ast.Builtin
	for _, b := range caps.Builtins {
		if b.Name == "http.send" || strings.HasPrefix(b.Name, "net.") || b.Name == "opa.runtime" || b.Name == "trace" {
			continue
		}
		builtins = append(builtins, b)
	}
	caps.Builtins = builtins
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Second)
	defer cancel()
	pq, err := rego.New(rego.Query("data.trivy.ignore"), rego.ParsedModule(mod), rego.Capabilities(caps),
		rego.StrictBuiltinErrors(true)).PrepareForEval(ctx)
	if err != nil {
		return true, "cannot be evaluated (" + firstLine(err.Error()) + ")"
	}
	for _, sev := range []string{"CRITICAL", "HIGH"} {
		for _, id := range probeIDs {
			in := map[string]any{"VulnerabilityID": id, "PkgName": "readiness-probe", "PkgID": "readiness-probe@1.0.0",
				"InstalledVersion": "1.0.0", "FixedVersion": "1.0.1", "Status": "fixed", "Severity": sev,
				"PkgIdentifier": map[string]any{"PURL": "pkg:generic/readiness-probe@1.0.0"}, "Title": "probe"}
			rs, err := pq.Eval(ctx, rego.EvalInput(in))
			if err != nil {
				return true, "cannot be evaluated (" + firstLine(err.Error()) + ")"
			}
			if len(rs) == 0 || len(rs[0].Expressions) == 0 || rs[0].Expressions[0].Value != true {
				return false, ""
			}
		}
	}
	return true, "ignores every vulnerability (a made-up HIGH and CRITICAL one included)"
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// idCoversAll reports whether an ignored ID, as a pattern, names every
// vulnerability.
func idCoversAll(id string) bool {
	id = strings.TrimSpace(id)
	if id == "" {
		return false
	}
	for _, p := range probeIDs {
		if ok, err := path.Match(id, p); err != nil || !ok {
			return false
		}
	}
	return true
}

// ignoreFileAll reads a .trivyignore (one ID per line, # comments, an
// exp: suffix) or its YAML form (vulnerabilities: - id: …).
func ignoreFileAll(src []byte, isYAML bool) (bool, string) {
	if isYAML {
		var doc struct {
			Vulnerabilities []struct {
				ID    string   `yaml:"id"`
				Paths []string `yaml:"paths"`
				PURLs []string `yaml:"purls"`
			} `yaml:"vulnerabilities"`
		}
		if yaml.Unmarshal(src, &doc) != nil {
			return true, "does not parse as YAML"
		}
		for _, v := range doc.Vulnerabilities {
			if idCoversAll(v.ID) && len(v.Paths) == 0 && len(v.PURLs) == 0 {
				return true, fmt.Sprintf("ignores %s, which matches every vulnerability ID", quote(v.ID))
			}
		}
		return false, ""
	}
	for _, l := range strings.Split(string(src), "\n") {
		l, _, _ = strings.Cut(l, "#")
		f := strings.Fields(l)
		if len(f) > 0 && idCoversAll(f[0]) {
			return true, fmt.Sprintf("lists %s, which matches every vulnerability ID", quote(f[0]))
		}
	}
	return false, ""
}

// vexAll reads an OpenVEX or CycloneDX VEX document for a statement that
// marks every vulnerability not affected (or fixed): no vulnerability
// named, or a pattern naming all.
func vexAll(src []byte) (bool, string) {
	var doc struct {
		Statements []struct {
			Vulnerability json.RawMessage `json:"vulnerability"`
			Status        string          `json:"status"`
		} `json:"statements"`
		Vulnerabilities []struct {
			ID       string `json:"id"`
			Analysis struct {
				State string `json:"state"`
			} `json:"analysis"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(src, &doc); err != nil {
		return true, "does not parse as an OpenVEX or CycloneDX JSON document"
	}
	for _, st := range doc.Statements {
		if st.Status != "not_affected" && st.Status != "fixed" {
			continue
		}
		var name string
		var obj struct {
			Name string `json:"name"`
			ID   string `json:"@id"`
		}
		if json.Unmarshal(st.Vulnerability, &name) != nil && json.Unmarshal(st.Vulnerability, &obj) == nil {
			name = obj.Name
			if name == "" {
				name = obj.ID
			}
		}
		if name == "" || idCoversAll(name) {
			return true, fmt.Sprintf("has a statement marking %s %s", orEvery(name), st.Status)
		}
	}
	for _, v := range doc.Vulnerabilities {
		switch v.Analysis.State {
		case "not_affected", "false_positive", "resolved", "resolved_with_pedigree":
			if v.ID == "" || idCoversAll(v.ID) {
				return true, fmt.Sprintf("has an entry marking %s %s", orEvery(v.ID), v.Analysis.State)
			}
		}
	}
	return false, ""
}

func orEvery(id string) string {
	if id == "" {
		return "every vulnerability (none named)"
	}
	return quote(id) + " (every vulnerability)"
}

// grypeIgnoresAll reads grype's ignore: rules: a rule with no criteria
// drops every match, and rules whose fix-states together are every state
// do too.
func grypeIgnoresAll(cfg map[string]any) (bool, string) {
	rules, _ := cfg["ignore"].([]any)
	states := map[string]bool{}
	for _, r := range rules {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		narrow := false
		for k, v := range m {
			if k == "fix-state" || k == "reason" || k == "include-aliases" {
				continue
			}
			if s := strings.TrimSpace(fmt.Sprint(v)); s != "" && s != "map[]" && s != "<nil>" && !(k == "vulnerability" && idCoversAll(s)) {
				if pk, ok := v.(map[string]any); ok && packageCoversAll(pk) {
					continue
				}
				narrow = true
			}
		}
		if narrow {
			continue
		}
		fs := strings.TrimSpace(fmt.Sprint(m["fix-state"]))
		if fs == "" || fs == "<nil>" {
			return true, "has an ignore rule with no criteria, which drops every match"
		}
		states[fs] = true
	}
	if states["fixed"] && states["not-fixed"] && states["wont-fix"] && states["unknown"] {
		return true, "has ignore rules for every fix-state (fixed, not-fixed, wont-fix, unknown), which drop every match"
	}
	return false, ""
}

// packageCoversAll reports whether a grype rule's package: block names
// every package (no criteria, or a location glob of everything).
func packageCoversAll(pk map[string]any) bool {
	for k, v := range pk {
		s := strings.TrimSpace(fmt.Sprint(v))
		if s == "" || s == "<nil>" {
			continue
		}
		if k == "location" && (s == "*" || s == "**" || s == "/**" || s == "**/*") {
			continue
		}
		return false
	}
	return true
}

// trivyIgnoreInputs collects what a trivy scan is told to ignore: from
// its flags (or the action's inputs), TRIVY_* variables, or trivy.yaml;
// with no ignore file named, the default .trivyignore if there is one.
// inputs names, for the action, the input that stands for each flag.
func trivyIgnoreInputs(flag, env func(string) (string, bool), cfg map[string]any, inputs map[string]string) []ignoreInput {
	var out []ignoreInput
	for _, x := range []struct {
		kind      ignoreKind
		flag, env string
		cfg       []string
	}{
		{ignorePolicy, "--ignore-policy", "TRIVY_IGNORE_POLICY", []string{"ignore-policy"}},
		{ignoreFile, "--ignorefile", "TRIVY_IGNOREFILE", []string{"ignorefile"}},
		{ignoreVEX, "--vex", "TRIVY_VEX", []string{"vex"}},
	} {
		if v, ok := flag(x.flag); ok && v != "" {
			src := x.flag
			if in, isInput := inputs[x.flag]; isInput {
				src = in
			}
			out = append(out, ignoreInput{kind: x.kind, path: v, src: src})
			continue
		}
		if v, ok := env(x.env); ok && v != "" {
			out = append(out, ignoreInput{kind: x.kind, path: v, src: x.env})
			continue
		}
		if v := configValue(cfg, x.cfg[0]); v != "" {
			out = append(out, ignoreInput{kind: x.kind, path: v, src: x.cfg[0] + " in trivy.yaml"})
			continue
		}
		if x.kind == ignoreFile {
			out = append(out, ignoreInput{kind: ignoreFile, path: ".trivyignore", src: "trivy's default", optional: true})
		}
	}
	return out
}

// configValue reads a key of a trivy.yaml at the top level or under
// vulnerability: (vex), as a comma-separated list.
func configValue(cfg map[string]any, key string) string {
	v, ok := cfg[key]
	if !ok {
		if vuln, isMap := cfg["vulnerability"].(map[string]any); isMap {
			v, ok = vuln[key]
		}
	}
	if !ok || v == nil {
		return ""
	}
	return yamlWords(v)
}

// grypeIgnores judges grype's ignore rules (its --config, or the default
// .grype.yaml) and a --vex document. A --config named that cannot be
// read fails closed.
func (a *Interpreter) grypeIgnores(w *jobWalk, s *graph.Step, cfgPath string, cfg map[string]any, vex string, res func(string) string) []string {
	var out []string
	if p := res(cfgPath); p != "" {
		if strings.ContainsAny(p, "$`") || path.IsAbs(p) || cfg == nil {
			out = append(out, fmt.Sprintf("its config %s (--config) cannot be read here, so the ignore rules it may hold cannot be seen", quote(p)))
		}
	}
	if all, why := grypeIgnoresAll(cfg); all {
		name := cfgPath
		if name == "" {
			name = ".grype.yaml"
		}
		out = append(out, fmt.Sprintf("its config %s %s, so the scan passes whatever it finds", quote(name), why))
	}
	if vex != "" {
		out = append(out, a.ignoreReasons(w, workDir(s), []ignoreInput{{kind: ignoreVEX, path: res(vex), src: "--vex"}})...)
	}
	return out
}
