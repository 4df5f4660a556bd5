package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/testutil/golden"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/checks"
)

// wantRules is, per fixture repository, the rule of every finding it must
// raise (sorted) and the decision of every signing step. The golden files
// hold the full text; this table states the intent, so that a golden file
// blessed with -update cannot silently accept a wrong verdict.
var wantRules = map[string]struct {
	rules     []string
	decisions []string
}{
	"pass-same-job":  {nil, []string{"gated", "gated"}},
	"pass-needs":     {nil, []string{"gated", "gated"}},
	"pass-reusable":  {nil, []string{"gated"}},
	"pass-composite": {nil, []string{"gated"}},
	"workflow-run":   {[]string{"WF-SCAN-NOT-NEEDED"}, []string{"not-gated", "gated"}},
	"self-gated":     {nil, []string{"gated", "self-gated"}},
	"no-scan": {[]string{"WF-SIGN-BEFORE-SCAN", "WF-SIGN-BEFORE-SCAN", "WF-SIGN-BEFORE-SCAN"},
		[]string{"not-gated", "not-gated", "not-gated"}},
	"docker-publish-starter": {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}},
	"goreleaser-no-scan":     {[]string{"WF-SIGN-BEFORE-SCAN", "WF-SIGN-BEFORE-SCAN"}, []string{"not-gated", "not-gated"}},
	"scan-after-sign":        {[]string{"WF-SCAN-AFTER-SIGN"}, []string{"not-gated"}},
	"scan-not-needed":        {[]string{"WF-SCAN-NOT-NEEDED"}, []string{"not-gated"}},
	"scan-other-workflow":    {[]string{"WF-SCAN-NOT-NEEDED"}, []string{"not-gated"}},
	"not-blocking":           {repeat("WF-SCAN-NOT-BLOCKING", 11), repeat("not-gated", 11)},
	"script-no-errexit":      {[]string{"WF-SCAN-NOT-BLOCKING"}, []string{"not-gated"}},
	"severity-gap":           {[]string{"WF-SCAN-SEVERITY-GAP", "WF-SCAN-SEVERITY-GAP"}, []string{"not-gated", "not-gated"}},
	"ref-mismatch":           {append([]string{"WF-MATRIX-NOT-SCANNED"}, repeat("WF-SCAN-REF-MISMATCH", 5)...), repeat("not-gated", 6)},
	"push-before-scan":       {[]string{"WF-PUSH-BEFORE-SCAN"}, []string{"gated"}},
	"results-not-uploaded": {[]string{"WF-SCAN-RESULTS-NOT-UPLOADED", "WF-SCAN-RESULTS-NOT-UPLOADED"},
		[]string{"gated", "gated"}},
	// Issue 26, 4: a remote reusable workflow handed secrets: inherit (or
	// id-token: write) cannot be read, so it may sign: fail closed.
	"unresolved": {[]string{"WF-SIGN-BEFORE-SCAN", "WF-UNRESOLVED-ACTION", "WF-UNRESOLVED-REUSABLE", "WF-UNRESOLVED-REUSABLE"},
		[]string{"not-gated", "unverified"}},
	"signing-not-visible": {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}},
	"invalid":             {repeat("WF-INVALID-WORKFLOW", 4), nil},
	"actionlint":          {[]string{"WF-ACTIONLINT", "WF-ACTIONLINT"}, nil},
	// Issue 14.1: signing through make, task, npm and just is followed,
	// and fails closed where it cannot be.
	"buildtool-sign-no-scan":   {repeat("WF-SIGN-BEFORE-SCAN", 4), repeat("not-gated", 4)},
	"buildtool-scan-then-sign": {nil, []string{"gated"}},
	"buildtool-fail-closed":    {repeat("WF-SIGN-BEFORE-SCAN", 4), repeat("not-gated", 4)},
	"buildtool-matrix-vars":    {[]string{"WF-SIGNING-NOT-VISIBLE"}, nil},
	"buildtool-not-signing":    {[]string{"WF-SIGNING-NOT-VISIBLE"}, nil},
	// Issue 26, 9: a recipe's variable prefix reaches the script it runs,
	// and make's functions and computed names are values, not commands
	// that may sign (external-secrets' and kyverno's Makefiles); a tool
	// named by nothing the files show still may sign.
	"make-prefix-env": {[]string{"WF-SIGNING-NOT-VISIBLE"}, nil},
	// A recipe runs where make runs it: `$(MAKE) -C ../ docker.build` from
	// e2e/Makefile, and ./run.sh beside e2e/Makefile (external-secrets).
	"make-subdir":       {[]string{"WF-SIGNING-NOT-VISIBLE"}, nil},
	"make-subdir-signs": {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}},
	// Issue 26, 7: an alias is expanded (signing behind one is seen), and
	// a job that can sign keyless where signing is plausible, with no
	// signer visible, is told once that hidden signing cannot be ruled out.
	"alias-signer":           {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}},
	"capability-not-visible": {[]string{"WF-SIGNING-NOT-VISIBLE"}, nil},
	// goreleaser --snapshot/--skip=publish pushes no image, so docker_signs
	// signs nothing; its -f=FILE configuration is the one read. Signed
	// files stay in dist/, where a later step may publish them.
	"goreleaser-snapshot":             {[]string{"WF-SIGNING-NOT-VISIBLE"}, nil},
	"goreleaser-snapshot-signs-files": {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}},
	// goreleaser (pro) publish finishes a prepared release: it signs.
	"goreleaser-publish":    {repeat("WF-SIGN-BEFORE-SCAN", 4), repeat("not-gated", 4)},
	"make-prefix-env-unset": {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}}, // one cause, one finding
	// Issue 14.3: commands hidden in substitutions, eval, here-documents,
	// xargs and functions; scanners named through variables.
	"shell-hidden":         {repeat("WF-SIGN-BEFORE-SCAN", 6), repeat("not-gated", 6)},
	"shell-scan-variables": {repeat("WF-SCAN-RESULTS-NOT-UPLOADED", 2), repeat("gated", 2)},
	"shell-fail-closed":    {repeat("WF-SIGN-BEFORE-SCAN", 2), repeat("not-gated", 2)},
	// Issue 14.5 and 14.6.
	"needs-cycle":                {[]string{"WF-ACTIONLINT", "WF-INVALID-WORKFLOW"}, nil},
	"push-before-scan-job-names": {[]string{"WF-PUSH-BEFORE-SCAN"}, []string{"gated"}},
	// Issue 14.2: each signed matrix value needs a blocking scan.
	"matrix-partial": {[]string{"WF-MATRIX-NOT-SCANNED", "WF-MATRIX-NOT-SCANNED", "WF-SCAN-REF-MISMATCH"}, repeat("not-gated", 2)},
	"matrix-covered": {nil, repeat("gated", 2)},
	"matrix-opaque":  {[]string{"WF-MATRIX-NOT-SCANNED"}, []string{"not-gated"}},
	// Issue 26, 1-3: signers inside wrapper actions, JavaScript and Python,
	// skopeo --sign-by*, cosign attach, containers, go run, fetched scripts.
	"hidden-signers":       {repeat("WF-SIGN-BEFORE-SCAN", 8), repeat("not-gated", 8)},
	"honest-gates":         {[]string{"WF-SCAN-NOT-BLOCKING"}, []string{"gated", "gated", "not-gated"}},
	"cloud-login-tests":    {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}},
	"sign-two-images":      {[]string{"WF-SCAN-REF-MISMATCH", "WF-SCAN-RESULTS-NOT-UPLOADED"}, []string{"gated", "not-gated"}},
	"hidden-signers-gated": {[]string{"WF-SCAN-RESULTS-NOT-UPLOADED"}, repeat("gated", 6)},
	// Issue 26, 1 (rest): PowerShell steps and notation-action/sign.
	"pwsh-notation-signers": {repeat("WF-SIGN-BEFORE-SCAN", 3), repeat("not-gated", 3)},
	"pwsh-notation-gated":   {nil, repeat("gated", 2)},
	// Issue 26, 5: a value written to $GITHUB_ENV / $GITHUB_OUTPUT more
	// than once is read as its last write, from the step after it.
	"env-last-write": {[]string{"WF-PUSH-BEFORE-SCAN", "WF-SCAN-REF-MISMATCH", "WF-SCAN-REF-MISMATCH", "WF-SCAN-REF-MISMATCH", "WF-SCAN-REF-MISMATCH", "WF-SCAN-RESULTS-NOT-UPLOADED"},
		repeat("not-gated", 4)},
	"env-last-write-gated": {nil, repeat("gated", 2)},
	// Issue 26, 5: a mutable tag scanned while a fresh digest is signed.
	"mutable-tag-scan": {[]string{"WF-PUSH-BEFORE-SCAN", "WF-PUSH-BEFORE-SCAN", "WF-SCAN-REF-MISMATCH", "WF-SCAN-REF-MISMATCH", "WF-SCAN-REF-MISMATCH"}, repeat("not-gated", 3)},
	// The scanned tag is the job's own push, or its build retagged with
	// docker tag (release tags pushed before the scan stay medium).
	"mutable-tag-scan-gated": {[]string{"WF-PUSH-BEFORE-SCAN", "WF-PUSH-BEFORE-SCAN"}, repeat("gated", 3)},
	// Issue 26, 6: ignore policies, ignore files, VEX and grype ignore
	// rules that drop everything, and one that cannot be read.
	"scan-ignores-all":    {repeat("WF-SCAN-NOT-BLOCKING", 5), repeat("not-gated", 5)},
	"scan-ignores-scoped": {nil, repeat("gated", 4)},
	// Issue 26, 4: remote reusable workflows read from a cache, pinned to
	// the ref; one not in the cache and handed secrets fails closed.
	"remote-reusable-cache":       {[]string{"WF-SIGN-BEFORE-SCAN", "WF-SIGN-BEFORE-SCAN", "WF-SIGNING-NOT-VISIBLE", "WF-UNRESOLVED-REUSABLE"}, repeat("not-gated", 2)},
	"remote-reusable-cache-gated": {nil, []string{"gated"}},
	// Issue 26 attack cases (/work/notes/wf-attacks) and their passing
	// counterparts.
	// 2: a signer downloaded in the job and run under another name.
	"renamed-cosign-binary": {[]string{"WF-SIGN-BEFORE-SCAN"}, []string{"not-gated"}},
	"renamed-binary-gated":  {nil, []string{"gated"}},
	// 5: a scan of a tag that does not resolve (a dispatch input, vars.*)
	// and that no build pushed is not a scan of the digest signed.
	"mutable-tag-dispatch-input": {[]string{"WF-SCAN-REF-MISMATCH"}, []string{"not-gated"}},
	"mutable-tag-env-var":        {[]string{"WF-SCAN-REF-MISMATCH"}, []string{"not-gated"}},
	"mutable-tag-input-gated":    {[]string{"WF-PUSH-BEFORE-SCAN"}, repeat("gated", 2)},
	// 6: a run: step writing the default .trivyignore before the scan
	// computes the ignores at run time.
	"trivyignore-printf-star":     {[]string{"WF-SCAN-NOT-BLOCKING"}, []string{"not-gated"}},
	"trivyignore-echo-append":     {[]string{"WF-SCAN-NOT-BLOCKING"}, []string{"not-gated"}},
	"trivyignore-committed-gated": {nil, []string{"gated"}},
	// 8-9: if: success() || failure() is !cancelled(): it runs after a
	// failed scan; status functions are evaluated, not matched.
	"sign-if-success-or-failure": {[]string{"WF-SCAN-NOT-BLOCKING"}, []string{"not-gated"}},
	"sign-if-status-gated":       {nil, repeat("gated", 3)},
	// 4: a remote reusable workflow handed a signing key under another
	// name is judged by the secret passed, not the name it is passed as.
	"remote-secret-renamed":  {[]string{"WF-SIGN-BEFORE-SCAN", "WF-UNRESOLVED-REUSABLE"}, []string{"not-gated"}},
	"remote-secret-harmless": {[]string{"WF-UNRESOLVED-REUSABLE"}, nil},
	// 10: grype run through anchore/scan-action/download-grype's cmd output.
	"pass-grype-fail-on":     {nil, []string{"gated"}},
	"grype-cmd-not-blocking": {[]string{"WF-SCAN-NOT-BLOCKING"}, []string{"not-gated"}},
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestCases(t *testing.T) {
	dirs, err := os.ReadDir("testdata/cases")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		name := d.Name()
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := wantRules[name]
			if !ok {
				t.Fatalf("testdata/cases/%s has no entry in wantRules", name)
			}
			cfg := Config{Root: filepath.Join("testdata/cases", name), Dir: DefaultDir, Actionlint: true}
			if cache := filepath.Join(cfg.Root, "reusable-cache"); dirExists(cache) {
				cfg.Reusable = DirSource{Dir: cache}
			}
			rep, err := AnalyzeWith(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkVerdicts(t, rep, want.rules, want.decisions)
			goldenText(t, filepath.Join("testdata/cases", name, "findings.golden"), render(rep))
			// The result is what the runner and the evidence document carry.
			res := Result(rep)
			if _, err := json.Marshal(res); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
			if wantStatus := checks.StatusPass; len(rep.Findings) > 0 && res.Status == wantStatus {
				t.Errorf("status %s with %d findings", res.Status, len(rep.Findings))
			}
		})
	}
	for name := range wantRules {
		if !seen[name] {
			t.Errorf("wantRules names %s, which is not in testdata/cases", name)
		}
	}
}

// render prints findings and signing decisions for a golden file.
func render(rep Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %d workflows\n", len(rep.Workflows))
	for _, w := range rep.Workflows {
		fmt.Fprintf(&b, "%s signing=%d scans=%d", w.Path, w.Signing, w.Scanning)
		if len(w.CalledBy) > 0 {
			fmt.Fprintf(&b, " called-by=%s", strings.Join(w.CalledBy, ","))
		}
		if w.Error != "" {
			fmt.Fprintf(&b, " error=%q", w.Error)
		}
		b.WriteString("\n")
		for _, k := range model.SortedKeys(w.Jobs) {
			fmt.Fprintf(&b, "  job %s needs [%s]\n", k, strings.Join(w.Jobs[k], " "))
		}
	}
	fmt.Fprintf(&b, "\n# %d signing steps\n", len(rep.Signings))
	for _, s := range rep.Signings {
		fmt.Fprintf(&b, "%s %s/%s %s -> %s", s.Location(), s.Job, s.Step, s.Tool, s.Decision)
		if len(s.Rules) > 0 {
			fmt.Fprintf(&b, " %v", s.Rules)
		}
		b.WriteString("\n")
		if s.Target != "" {
			fmt.Fprintf(&b, "  target: %s\n", s.Target)
		}
		if s.Gate != nil {
			fmt.Fprintf(&b, "  gate: %s %s blocking=%v severities=%v\n", s.Gate.Location(), s.Gate.Tool, s.Gate.Blocking, s.Gate.Severities)
			for _, r := range s.Gate.Reasons {
				fmt.Fprintf(&b, "    - %s\n", r)
			}
		}
	}
	fmt.Fprintf(&b, "\n# %d scan steps\n", len(rep.Scans))
	for _, s := range rep.Scans {
		fmt.Fprintf(&b, "%s %s/%s %s blocking=%v target=%s\n", s.Location(), s.Job, s.Step, s.Tool, s.Blocking, s.Target)
	}
	fmt.Fprintf(&b, "\n# %d findings\n", len(rep.Findings))
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "%s %s %s\n  id: %s\n  %s\n", f.Severity, f.Rule, f.Location, f.ID, f.Message)
	}
	return b.String()
}

func goldenText(t *testing.T, path, got string) {
	t.Helper()
	golden.Assert(t, path, []byte(got))
}

// TestRulesDocumented checks that rules.yaml is well formed and that every
// rule in it is raised by some fixture.
func TestRulesDocumented(t *testing.T) {
	raised := map[string]bool{}
	for _, w := range wantRules {
		for _, r := range w.rules {
			raised[r] = true
		}
	}
	var ids []string
	for _, r := range Rules() {
		ids = append(ids, r.ID)
		if !raised[r.ID] {
			t.Errorf("rule %s is documented but no fixture raises it", r.ID)
		}
	}
	for r := range raised {
		if !slices.Contains(ids, r) {
			t.Errorf("rule %s is raised but not in rules.yaml", r)
		}
	}
	if g := Gate(); g.Type != "workflow" || len(g.Rules.Rules()) != len(ids) {
		t.Errorf("Gate() = %s with %d rules", g.Type, len(g.Rules.Rules()))
	}
}

// memRepo analyses an in-memory repository.
func memRepo(t *testing.T, files map[string]string, cfg Config) Report {
	t.Helper()
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	cfg.fsys = fsys
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	rep, err := AnalyzeWith(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestTooLarge(t *testing.T) {
	big := "name: big\non: push\njobs:\n  a:\n    runs-on: x\n    steps:\n" + strings.Repeat("      - run: echo padding padding padding\n", 200)
	rep := memRepo(t, map[string]string{".github/workflows/big.yml": big}, Config{MaxFileBytes: 1000})
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != "WF-INVALID-WORKFLOW" ||
		!strings.Contains(rep.Findings[0].Message, "over the 1000-byte limit") {
		t.Fatalf("findings = %+v", rep.Findings)
	}
}

func TestMissingDir(t *testing.T) {
	_, err := Analyze(context.Background(), t.TempDir(), DefaultDir)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v", err)
	}
	_, err = Analyze(context.Background(), t.TempDir(), "../elsewhere")
	if err == nil || !strings.Contains(err.Error(), "not inside the repository") {
		t.Fatalf("err = %v", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, "testdata/cases/no-scan", DefaultDir)
	if err == nil {
		t.Fatal("a cancelled analysis returned no error")
	}
}

func TestIgnoreAndFiles(t *testing.T) {
	root := "testdata/cases/invalid"
	rep, err := AnalyzeWith(context.Background(), Config{Root: root, Ignore: []string{"dependabot.yml", "*.yaml", "broken.yml", "empty.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 || len(rep.Workflows) != 1 {
		t.Fatalf("with ignore: %d findings, %d workflows", len(rep.Findings), len(rep.Workflows))
	}
	rep, err = AnalyzeWith(context.Background(), Config{Root: "testdata/cases/no-scan",
		Files: []string{".github/workflows/release-containers.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signings) != 3 {
		t.Fatalf("files: %d signing steps", len(rep.Signings))
	}
}

// checkVerdicts compares a report's finding rules (sorted) and signing
// decisions with what a fixture must give.
func checkVerdicts(t *testing.T, rep Report, rules, decisions []string) {
	t.Helper()
	var gotRules, gotDecisions []string
	for _, f := range rep.Findings {
		gotRules = append(gotRules, f.Rule)
	}
	for _, s := range rep.Signings {
		gotDecisions = append(gotDecisions, s.Decision)
	}
	sort.Strings(gotRules)
	if diff := cmp.Diff(rules, gotRules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(decisions, gotDecisions); diff != "" {
		t.Errorf("signing decisions (-want +got):\n%s", diff)
	}
}
