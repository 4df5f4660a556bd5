package steps

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/imageref"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
)

// The readers of the known scanners', builders' and goreleaser's own
// settings: what each is told (inputs, flags, TRIVY_* and GRYPE_* env,
// config files) and what that makes of a failing scan.

// trivyAction reads aquasecurity/trivy-action's inputs. Inputs win over
// TRIVY_* env, which wins over trivy.yaml, as the action documents.
func (a *Interpreter) trivyAction(w *jobWalk, s *graph.Step, sc graph.Scope) {
	scanType, _ := a.with(s, sc, "scan-type")
	if scanType == "" {
		scanType = "image"
	}
	if scanners, ok := a.with(s, sc, "scanners"); ok && scanners != "" && !strings.Contains(scanners, "vuln") {
		return // secret / misconfig only: not a vulnerability scan
	}
	if scanType == "config" {
		return
	}
	e := w.newEvent(Scan, "aquasecurity/trivy-action", s, s.Def.Line)
	switch scanType {
	case "image":
		if in, _ := a.with(s, sc, "input"); in != "" {
			e.Written, e.Target, e.TKind = s.Def.With["input"].V, in, "tar"
		} else {
			e.Written, e.TKind = s.Def.With["image-ref"].V, "image"
			e.Target, _ = a.with(s, sc, "image-ref")
		}
	case "sbom":
		e.Target, _ = a.with(s, sc, "scan-ref")
		e.Written, e.TKind = e.Target, "sbom"
	default:
		e.Target, _ = a.with(s, sc, "scan-ref")
		if e.Target == "" {
			e.Target = "."
		}
		e.Written, e.TKind = e.Target, "fs"
	}
	cfgPath, _ := a.with(s, sc, "trivy-config")
	if cfgPath == "" {
		cfgPath, _ = sc.EnvLookup("TRIVY_CONFIG", false)
	}
	cfg := a.toolConfig(cfgPath, "trivy.yaml")
	exit, hasExit := a.with(s, sc, "exit-code")
	src := "exit-code"
	if !hasExit || exit == "" {
		if v, ok := sc.EnvLookup("TRIVY_EXIT_CODE", false); ok {
			exit, hasExit, src = sc.Resolve(v), true, "TRIVY_EXIT_CODE"
		} else if v, ok := cfg["exit-code"]; ok {
			exit, hasExit, src = fmt.Sprint(v), true, "exit-code in "+a.configName(cfgPath, "trivy.yaml")
		}
	}
	e.ToolBlocking, e.ToolReasons = exitCodeBlocking(exit, hasExit, src, "trivy-action")
	inputs := map[string]string{"--ignorefile": "trivyignores", "--ignore-policy": "ignore-policy"}
	input := func(f string) (string, bool) {
		if in, ok := inputs[f]; ok {
			return a.with(s, sc, in)
		}
		return "", false
	}
	env := func(k string) (string, bool) {
		v, ok := sc.EnvLookup(k, false)
		return sc.Resolve(v), ok
	}
	if r := w.configWritten(cfgPath, "trivy.yaml"); r != "" {
		e.ToolReasons = append(e.ToolReasons, r)
	}
	e.ToolReasons = append(e.ToolReasons, a.ignoreReasons(w, ".", trivyIgnoreInputs(input, env, cfg, inputs))...)
	sev, hasSev := a.with(s, sc, "severity")
	sevSrc := "severity"
	if !hasSev || sev == "" {
		if v, ok := sc.EnvLookup("TRIVY_SEVERITY", false); ok {
			sev, hasSev, sevSrc = sc.Resolve(v), true, "TRIVY_SEVERITY"
		} else if v, ok := cfg["severity"]; ok {
			sev, hasSev, sevSrc = yamlWords(v), true, "severity in "+a.configName(cfgPath, "trivy.yaml")
		}
	}
	e.Severities, e.SevGap = trivySeverities(sev, hasSev, sevSrc)
	if v, ok := sc.EnvLookup("TRIVY_PLATFORM", false); ok {
		e.ScanPlatforms = a.platformValues(w.Job, sc.Resolve(v))
	}
	format, _ := a.with(s, sc, "format")
	if out, _ := a.with(s, sc, "output"); out != "" {
		e.Output = out
	} else if format == "sarif" {
		e.Output = "(sarif on stdout)"
	}
	w.emit(e)
}

// scanAction reads anchore/scan-action's inputs (v3+: fail-build defaults
// to true and severity-cutoff to medium; v1's image-reference input
// defaulted fail-build to false).
func (a *Interpreter) scanAction(w *jobWalk, s *graph.Step, sc graph.Scope) {
	e := w.newEvent(Scan, "anchore/scan-action", s, s.Def.Line)
	failDefault := "true"
	switch {
	case s.Def.With["image"].V != "":
		e.Written, e.TKind = s.Def.With["image"].V, "image"
		e.Target, _ = a.with(s, sc, "image")
	case s.Def.With["image-reference"].V != "":
		e.Written, e.TKind = s.Def.With["image-reference"].V, "image"
		e.Target, _ = a.with(s, sc, "image-reference")
		failDefault = "false"
	case s.Def.With["path"].V != "":
		e.Target, _ = a.with(s, sc, "path")
		e.Written, e.TKind = e.Target, "fs"
	case s.Def.With["sbom"].V != "":
		e.Target, _ = a.with(s, sc, "sbom")
		e.Written, e.TKind = e.Target, "sbom"
	default:
		e.TKind = "unknown"
	}
	fail, ok := a.with(s, sc, "fail-build")
	if !ok || fail == "" {
		fail = failDefault
	}
	switch {
	case strings.EqualFold(fail, "true"):
		e.ToolBlocking = true
	case strings.EqualFold(fail, "false"):
		e.ToolReasons = []string{"anchore/scan-action has fail-build: false"}
		if !ok {
			e.ToolReasons = []string{"anchore/scan-action v1 (image-reference) does not fail the build unless fail-build is set"}
		}
	default:
		e.ToolReasons = []string{fmt.Sprintf("fail-build is %q, which cannot be evaluated before the run", fail)}
	}
	cut, ok := a.with(s, sc, "severity-cutoff")
	if !ok || cut == "" {
		cut = "medium"
	}
	e.Severities, e.SevGap = grypeThreshold(cut, "severity-cutoff")
	if r := w.configWritten("", ".grype.yaml"); r != "" {
		e.ToolReasons = append(e.ToolReasons, r)
	}
	e.ToolReasons = append(e.ToolReasons, a.grypeIgnores(w, s, "", a.toolConfig("", ".grype.yaml"), "", func(x string) string { return x })...)
	e.Output, _ = a.with(s, sc, "output-file")
	if e.Output == "" && (s.Def.With["output-format"].V == "" || strings.EqualFold(s.Def.With["output-format"].V, "sarif")) {
		e.Output = "(steps." + s.Def.ID + ".outputs.sarif)"
	}
	w.emit(e)
}

// buildPush reads docker/build-push-action.
func (a *Interpreter) buildPush(w *jobWalk, s *graph.Step, sc graph.Scope) {
	push, _ := a.with(s, sc, "push")
	outputs, _ := a.with(s, sc, "outputs")
	kind := Build
	lo := strings.ToLower(outputs)
	if strings.EqualFold(push, "true") || strings.Contains(push, "${{") || strings.Contains(lo, "type=registry") || strings.Contains(lo, "push=true") {
		kind = Push
	}
	e := w.newEvent(kind, "docker/build-push-action", s, s.Def.Line)
	tags, _ := a.with(s, sc, "tags")
	e.Tags = model.SplitList(tags)
	e.Release = a.releaseTags(w, e.Tags, outputs)
	e.Platforms, _ = a.with(s, sc, "platforms")
	var inputs []string
	for _, k := range []string{"context", "file", "target", "build-args"} {
		v, _ := a.with(s, sc, k)
		inputs = append(inputs, k+"="+v)
	}
	e.Inputs = strings.Join(inputs, ";")
	if s.Def.ID != "" {
		e.DigestOf = "jobs." + w.Job.Key + ".steps." + s.Prefix + s.Def.ID + ".outputs."
	}
	if strings.Contains(lo, "type=docker") || strings.Contains(lo, "type=oci") || strings.Contains(lo, "type=tar") {
		e.Target = outputDest(outputs)
		e.TKind = "tar"
	}
	e.Written = tags
	w.emit(e)
}

// outputDest extracts dest= from a buildx --output value.
func outputDest(o string) string {
	for _, part := range strings.Split(o, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "dest="); ok {
			return v
		}
	}
	return ""
}

// releaseTags decides whether pushed tags are release tags (what users
// pull) rather than staging tags (sha-…, pr-…, a run id) or a push by
// digest.
func (a *Interpreter) releaseTags(w *jobWalk, tags []string, outputs string) bool {
	if strings.Contains(strings.ToLower(outputs), "push-by-digest=true") {
		return false
	}
	for _, t := range tags {
		if strings.Contains(t, ".outputs.tags") {
			if m := w.metaFor(t); m != nil {
				if metaRelease(m) {
					return true
				}
				continue
			}
			return true // tags from metadata we cannot see: assume release tags
		}
		if !stagingTag(imageref.Parse(t).Tag) {
			return true
		}
	}
	return false
}

func (w *jobWalk) metaFor(t string) *graph.Step {
	for k, m := range w.metas {
		if strings.Contains(t, k+".outputs.") {
			return m
		}
	}
	return nil
}

// metaRelease reads docker/metadata-action's tags: input: sha and pr tags
// are staging, everything else (semver, ref, raw, edge, schedule, and the
// default set) is a release tag.
func metaRelease(m *graph.Step) bool {
	spec, ok := m.Def.With["tags"]
	if !ok || strings.TrimSpace(spec.V) == "" {
		return true // default: branch, tag and pr names
	}
	for _, l := range strings.Split(spec.V, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		typ := ""
		for _, kv := range strings.Split(l, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "type="); ok {
				typ = v
			}
		}
		switch {
		case typ == "sha":
		case typ == "ref" && strings.Contains(l, "event=pr"):
		case typ == "raw":
			val := ""
			for _, kv := range strings.Split(l, ",") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "value="); ok {
					val = v
				}
			}
			if !stagingTag(val) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// stagingTag recognises tags that mark an unreleased build.
func stagingTag(tag string) bool {
	if tag == "" {
		return false
	}
	// Whole words of the value: "latest" is not "test", "shared" not "sha".
	for _, w := range strings.FieldsFunc(strings.ToLower(tagValue(tag)), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		switch w {
		case "sha", "run", "pr", "staging", "scan", "candidate", "unscanned", "untrusted", "pending",
			"tmp", "temp", "test", "testing", "build", "ci":
			return true
		}
		if rest, ok := strings.CutPrefix(w, "sha"); ok && isHexDigits(rest) {
			return true // sha256, sha1234abc
		}
	}
	return false
}

// goreleaser records a goreleaser run: it signs when its configuration
// has signs: or docker_signs:, and the signature is made inside the same
// step that builds and publishes, so only a scan before goreleaser can
// gate it.
func (a *Interpreter) goreleaser(w *jobWalk, s *graph.Step, line int, args []string, script string) {
	cfgPath := ""
	skip := map[string]bool{}
	for i := 0; i < len(args); i++ {
		switch x := args[i]; {
		case x == "--config" || x == "-f":
			if i+1 < len(args) {
				cfgPath = args[i+1]
			}
		case strings.HasPrefix(x, "--config=") || strings.HasPrefix(x, "-f="):
			_, cfgPath, _ = strings.Cut(x, "=")
		case x == "--skip" && i+1 < len(args):
			i++
			for _, v := range strings.Split(args[i], ",") {
				skip[strings.TrimSpace(v)] = true
			}
		case strings.HasPrefix(x, "--skip="):
			for _, v := range strings.Split(strings.TrimPrefix(x, "--skip="), ",") {
				skip[strings.TrimSpace(v)] = true
			}
		case x == "--snapshot" || x == "--skip-publish":
			skip["publish"] = true // nothing is pushed
		case x == "--skip-sign":
			skip["sign"] = true
		}
	}
	// goreleaser check, build, …: nothing is signed. Pro's `publish` and
	// `continue` finish a prepared release, signatures included.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !slices.Contains([]string{"release", "publish", "continue"}, args[0]) {
		return
	}
	candidates := []string{cfgPath}
	if cfgPath == "" {
		candidates = []string{".goreleaser.yaml", ".goreleaser.yml", "goreleaser.yaml", "goreleaser.yml"}
	}
	for _, c := range candidates {
		src, err := a.readFile(path.Join(workDir(s), c))
		if err != nil {
			continue
		}
		var doc map[string]any
		if yaml.Unmarshal(src, &doc) != nil {
			break
		}
		for _, key := range []string{"signs", "docker_signs", "binary_signs"} {
			// docker_signs signs what goreleaser pushed: with --snapshot or
			// --skip=publish it pushes nothing. Signed files stay in dist/,
			// where a later step may still publish them, unless --skip=sign.
			if (key == "docker_signs" && (skip["publish"] || skip["docker"])) || (key != "docker_signs" && skip["sign"]) {
				continue
			}
			if v, ok := doc[key].([]any); ok && len(v) > 0 {
				e := w.newEvent(Sign, "goreleaser "+key, s, line)
				e.Script = script
				e.TKind, e.Blob = "blob", key != "docker_signs"
				what := "the artifacts"
				if key == "docker_signs" {
					e.TKind, what = "unknown", "the images"
				}
				e.Target = what + " of " + key + ": in " + path.Join(workDir(s), c)
				e.Written = e.Target
				w.emit(e)
			}
		}
		return
	}
	a.note(graph.Finding("WF-UNRESOLVED-ACTION", graph.StepSubject(w.g.File.Path, w.Job.Key, s.Key),
		fmt.Sprintf("Step %s runs goreleaser, but its configuration (%s) is not in the repository; whether it signs is not visible.",
			model.DisplayStep(s.Def), strings.Join(candidates, ", ")),
		&checks.Location{Path: s.Def.Path, Line: line}))

}

// workDir is the step's working directory relative to the repository.
// cwd is where a command of the step runs: the scope's directory when a
// build tool or script moved it, else the step's working-directory.
func cwd(s *graph.Step, sc graph.Scope) string {
	if sc.Dir != "" {
		return sc.Dir
	}
	return workDir(s)
}

func workDir(s *graph.Step) string {
	d := s.Def.WorkDir
	if d == "" && s.Job != nil {
		d = s.Job.Def.WorkDir
	}
	if d == "" || strings.Contains(d, "$") {
		return "."
	}
	return path.Clean(d)
}

// toolConfig reads a scanner's YAML config file (trivy.yaml, .grype.yaml)
// relative to the repository root; missing or unreadable gives nil.
func (a *Interpreter) toolConfig(p, def string) map[string]any {
	if p == "" {
		p = def
	}
	if strings.Contains(p, "$") {
		return nil
	}
	p = path.Clean(p)
	if c, ok := a.configs[p]; ok {
		return c
	}
	var m map[string]any
	if src, err := a.readFile(p); err == nil {
		if yaml.Unmarshal(src, &m) != nil {
			m = nil
		}
	}
	a.configs[p] = m
	return m
}

func (a *Interpreter) configName(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

func yamlWords(v any) string {
	switch t := v.(type) {
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return strings.Join(out, ",")
	default:
		return fmt.Sprint(v)
	}
}

// exitCodeBlocking judges a trivy exit code.
func exitCodeBlocking(v string, set bool, src, tool string) (bool, []string) {
	v = strings.Trim(strings.TrimSpace(v), `'"`)
	switch {
	case !set || v == "":
		return false, []string{tool + " has no exit-code, and trivy exits 0 when it finds vulnerabilities"}
	case strings.Contains(v, "$"):
		return false, []string{fmt.Sprintf("%s is %q, which cannot be evaluated before the run", src, v)}
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return false, []string{fmt.Sprintf("%s is %q, not a number", src, v)}
	case n == 0:
		return false, []string{src + " is 0, so trivy succeeds whatever it finds"}
	}
	return true, nil
}

// trivySeverities judges the severities a trivy scan fails on.
func trivySeverities(v string, set bool, src string) ([]string, string) {
	if !set || strings.TrimSpace(v) == "" {
		return nil, ""
	}
	if strings.Contains(v, "$") {
		return nil, fmt.Sprintf("%s is %q, which cannot be evaluated before the run", src, v)
	}
	sev := model.SeverityList(v)
	var missing []string
	for _, want := range []string{"CRITICAL", "HIGH"} {
		if !slices.Contains(sev, want) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return sev, fmt.Sprintf("%s is %s, which leaves out %s", src, strings.Join(sev, ","), strings.Join(missing, " and "))
	}
	return sev, ""
}

var grypeLevels = []string{"negligible", "low", "medium", "high", "critical"}

// grypeThreshold judges grype's --fail-on / scan-action's severity-cutoff.
func grypeThreshold(v, src string) ([]string, string) {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `'"`))
	if strings.Contains(v, "$") {
		return nil, fmt.Sprintf("%s is %q, which cannot be evaluated before the run", src, v)
	}
	i := slices.Index(grypeLevels, v)
	if i < 0 {
		return nil, fmt.Sprintf("%s is %q, not a grype severity", src, v)
	}
	var sev []string
	for _, l := range grypeLevels[i:] {
		sev = append(sev, strings.ToUpper(l))
	}
	if v == "critical" {
		return sev, src + " is critical, which leaves out HIGH"
	}
	return sev, ""
}

// platformValues expands a --platform value: a list, or a matrix
// expression standing for the job's matrix values.
func (a *Interpreter) platformValues(j *graph.Job, v string) []string {
	var out []string
	for _, p := range model.SplitList(v) {
		if m := matrixRefRE().FindStringSubmatch(p); m != nil && model.WholeExpr(p) {
			out = append(out, j.Def.Matrix[m[1]]...)
			continue
		}
		out = append(out, p)
	}
	return out
}

var qualifiedRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b(?:needs|jobs|steps)\.[a-z0-9_-]+\.`) })

// tagValue is what a tag says about its value: an expression stands for
// the property it reads (github.sha → sha, needs.build-test.outputs.version
// → outputs.version), never for the names of the jobs and steps it passes
// through, which say nothing about the tag.
func tagValue(tag string) string {
	return model.MapExprs(tag, func(e string) string { return qualifiedRE().ReplaceAllString(e, "") })
}

func isHexDigits(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return s != ""
}

var matrixRefRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`matrix\.([a-z0-9_-]+)`) })

func quote(s string) string { return "`" + s + "`" }
