package doctest_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/readiness-dev/readiness/internal/catalog"
	"github.com/readiness-dev/readiness/internal/checks"
	"github.com/readiness-dev/readiness/internal/cli"
	"github.com/readiness-dev/readiness/internal/cli/root"
	"github.com/readiness-dev/readiness/internal/config"
	"github.com/readiness-dev/readiness/internal/doctest"
	"github.com/readiness-dev/readiness/internal/evidence"
	"github.com/readiness-dev/readiness/internal/policy"
)

// TestMain lets this test binary be the readiness CLI when it is run under
// that name (the Action test puts a link called readiness on PATH).
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "readiness" {
		os.Exit(root.Main(os.Args[1:], cli.System()))
	}
	os.Exit(m.Run())
}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// docFiles are the markdown files whose examples are read: README.md and
// everything under docs/.
func docFiles(t testing.TB) []string {
	t.Helper()
	root := repoRoot(t)
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func marked(t *testing.T) []doctest.Block {
	t.Helper()
	var out []doctest.Block
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), f))
		if err != nil {
			t.Fatal(err)
		}
		bs, err := doctest.Parse(f, data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bs...)
	}
	return out
}

// TestDocExamples runs every marked example of README.md and docs/ in a
// fresh git repository, as a reader would after copying it. A failure
// names the markdown file:line of the block.
//
// Kinds:
//   - config: the block is readiness.yaml (after base=FILE from testdata/,
//     when given); `readiness check` runs on it and must exit with one of
//     exit= (default 0,1: judged, whatever the verdict); run=false only
//     loads it strictly and builds every gate from it (for suites whose
//     tools this machine lacks).
//   - rego: the block is a policy file; judged with the default policy
//     on the evidence input=NAME (see inputs), it must deny a message
//     containing deny=TEXT, and on quiet=NAME deny nothing more than the
//     default policy does.
//   - sh: every line is a readiness command, run in-process in order;
//     exit= gives the codes (one set for all, or one set per command,
//     space-separated); creates= lists files that must exist afterwards.
//
// Every kind takes copy= (repository paths copied in, comma-separated),
// files=DIR (testdata/DIR copied in) and config=FILE (testdata/FILE
// written as readiness.yaml).
func TestDocExamples(t *testing.T) {
	blocks := marked(t)
	if len(blocks) < 5 {
		t.Fatalf("only %d marked examples: the markers were lost", len(blocks))
	}
	for _, b := range blocks {
		t.Run(b.Where(), func(t *testing.T) {
			dir := scratchRepo(t, b)
			switch b.Kind {
			case "config":
				runConfig(t, b, dir)
			case "rego":
				runRego(t, b, dir)
			case "sh":
				runShell(t, b, dir)
			default:
				t.Fatalf("%s: unknown doctest kind %q", b.Where(), b.Kind)
			}
		})
	}
}

// scratchRepo makes a git repository holding the files the block asks for.
func scratchRepo(t *testing.T, b doctest.Block) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("git", "init", "-q", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	root := repoRoot(t)
	for _, p := range list(b.Opts["copy"]) {
		copyTree(t, filepath.Join(root, filepath.FromSlash(p)), filepath.Join(dir, filepath.FromSlash(p)))
	}
	if f := b.Opts["files"]; f != "" {
		copyTree(t, filepath.Join("testdata", f), dir)
	}
	if c := b.Opts["config"]; c != "" {
		copyTree(t, filepath.Join("testdata", c), filepath.Join(dir, "readiness.yaml"))
	}
	return dir
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// readiness runs the CLI in-process in dir.
func readiness(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	io, out, errOut := cli.Test()
	app := root.NewApp(io)
	t.Chdir(dir)
	code := cli.Run(context.Background(), app, args)
	return code, out.String(), errOut.String()
}

// codes parses "0,1" into a set.
func codes(t *testing.T, b doctest.Block, s string) []int {
	t.Helper()
	var out []int
	for _, c := range list(s) {
		n, err := strconv.Atoi(c)
		if err != nil {
			t.Fatalf("%s: exit=%q: %v", b.Where(), s, err)
		}
		out = append(out, n)
	}
	return out
}

func runConfig(t *testing.T, b doctest.Block, dir string) {
	body := b.Body
	if base := b.Opts["base"]; base != "" {
		data, err := os.ReadFile(filepath.Join("testdata", base))
		if err != nil {
			t.Fatal(err)
		}
		body = string(data) + body
	}
	path := filepath.Join(dir, "readiness.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if b.Opts["run"] == "false" {
		gates := catalog.Gates()
		cfg, err := config.Load(path, config.LoadOptions{Now: time.Now(), KnownTypes: catalog.Types(gates)})
		if err != nil {
			t.Fatalf("%s: the example does not load: %v", b.Where(), err)
		}
		for _, spec := range cfg.Checks {
			g, _ := catalog.Find(gates, spec.Type)
			if _, err := g.New(checks.Env{Dir: dir, ConfigFile: path, Now: time.Now}, spec); err != nil {
				t.Errorf("%s: gate %s rejects the example's with: block: %v", b.Where(), spec.Name, err)
			}
		}
		return
	}
	want := codes(t, b, orDefault(b.Opts["exit"], "0,1"))
	code, out, errOut := readiness(t, dir, "check")
	if !slices.Contains(want, code) {
		t.Errorf("%s: readiness check on the example exits %d, want %v\nstdout:\n%s\nstderr:\n%s", b.Where(), code, want, out, errOut)
	}
}

// inputs are evidence documents for rego examples, by name.
var inputs = map[string]func() *evidence.Document{
	// An image-scan whose trivy DB is 30 hours old: the README's custom
	// rule (24 hours allowed) must fire.
	"stale-db": func() *evidence.Document { return scanDoc(30) },
	"fresh-db": func() *evidence.Document { return scanDoc(2) },
}

// scanDoc is a passing image-scan run with the DB fact as the gate
// records it (facts.db.age_hours; see imagescan.DBFact).
func scanDoc(ageHours float64) *evidence.Document {
	return &evidence.Document{
		Schema:      evidence.Schema,
		GeneratedAt: time.Now().UTC(),
		Checks: []checks.Result{{
			Check: "image-scan", Type: "image-scan", Required: true, Status: checks.StatusPass, Findings: []checks.Finding{},
			Facts: map[string]any{"db": map[string]any{"age_hours": ageHours, "max_age_hours": 72.0, "stale": false}},
		}},
		Waivers: []evidence.WaiverStatus{},
	}
}

func runRego(t *testing.T, b doctest.Block, dir string) {
	pdir := filepath.Join(dir, "policy")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pdir, "example.rego"), []byte(b.Body), 0o644); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Load(context.Background(), []string{pdir})
	if err != nil {
		t.Fatalf("%s: the example policy does not load: %v", b.Where(), err)
	}
	judge := func(name string) []evidence.Message {
		mk, ok := inputs[name]
		if !ok {
			t.Fatalf("%s: no input %q", b.Where(), name)
		}
		doc := mk()
		engine.Judge(context.Background(), doc)
		if doc.Verdict.PolicyError != "" {
			t.Fatalf("%s: policy error on %s: %s", b.Where(), name, doc.Verdict.PolicyError)
		}
		return doc.Verdict.Deny
	}
	if in := b.Opts["input"]; in != "" {
		deny := judge(in)
		found := false
		for _, m := range deny {
			found = found || strings.Contains(m.Msg, b.Opts["deny"])
		}
		if !found {
			t.Errorf("%s: on input %s the example denies %v, want a message containing %q", b.Where(), in, deny, b.Opts["deny"])
		}
	}
	if q := b.Opts["quiet"]; q != "" {
		if deny := judge(q); len(deny) > 0 {
			t.Errorf("%s: on input %s the example denies %v, want nothing", b.Where(), q, deny)
		}
	}
}

func runShell(t *testing.T, b doctest.Block, dir string) {
	cmds, err := doctest.Commands(b.Body)
	if err != nil {
		t.Fatalf("%s: %v", b.Where(), err)
	}
	exits := strings.Fields(orDefault(b.Opts["exit"], "0"))
	if len(exits) != 1 && len(exits) != len(cmds) {
		t.Fatalf("%s: exit=%q gives %d sets for %d commands", b.Where(), b.Opts["exit"], len(exits), len(cmds))
	}
	for i, c := range cmds {
		if c[0] != "readiness" {
			t.Fatalf("%s: %q is not a readiness command; mark only blocks doctest can run", b.Where(), strings.Join(c, " "))
		}
		want := codes(t, b, exits[min(i, len(exits)-1)])
		code, out, errOut := readiness(t, dir, c[1:]...)
		if !slices.Contains(want, code) {
			t.Errorf("%s: %q exits %d, want %v\nstdout:\n%s\nstderr:\n%s", b.Where(), strings.Join(c, " "), code, want, out, errOut)
		}
	}
	for _, f := range list(b.Opts["creates"]) {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %s was not written", b.Where(), f)
		}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

var expiresRE = regexp.MustCompile(`^\s*(?:-\s*)?expires:\s*["']?(\d{4}-\d{2}-\d{2})`)

// TestDocWaiverDates: the README's waiver example expired on a fixed date
// (2026-12-31), and from then on a reader who copied it got a
// WAIVER-EXPIRED NO-GO. Every waiver date in a fenced block of the docs
// must be today or later and within the default 90-day horizon; this test
// fails on the day one is not, so that the example is moved on before a
// reader copies a dead one.
func TestDocWaiverDates(t *testing.T) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	horizon := today.AddDate(0, 0, 90)
	seen := 0
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), f))
		if err != nil {
			t.Fatal(err)
		}
		inBlock := false
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inBlock = !inBlock
				continue
			}
			m := expiresRE.FindStringSubmatch(line)
			if !inBlock || m == nil {
				continue
			}
			seen++
			d, err := time.Parse("2006-01-02", m[1])
			if err != nil {
				t.Errorf("%s:%d: %q is not a date", f, i+1, m[1])
				continue
			}
			switch {
			case d.Before(today):
				t.Errorf("%s:%d: the example waiver expired on %s: a reader copying it gets WAIVER-EXPIRED; move it to a date within 90 days (before %s)", f, i+1, m[1], horizon.Format("2006-01-02"))
			case d.After(horizon):
				t.Errorf("%s:%d: the example waiver expires on %s, past the default 90-day horizon: a reader copying it gets exit 2", f, i+1, m[1])
			}
		}
	}
	if seen == 0 {
		t.Fatal("no waiver dates found in the docs: the scan is broken")
	}
}

var docTagRE = regexp.MustCompile("-tags[ =]`?([A-Za-z0-9_,]+)")

// TestDocBuildTags: image-release.md said KMS providers are linked by
// default and `-tags nokms` removes them; the code has only `kms`, and the
// reverse default. Every build tag the docs name must be one the code's
// //go:build lines use.
func TestDocBuildTags(t *testing.T) {
	root := repoRoot(t)
	code := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "//go:build ") {
				for _, w := range regexp.MustCompile(`[A-Za-z0-9_.]+`).FindAllString(l[len("//go:build "):], -1) {
					code[w] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !code["kms"] {
		t.Fatal("no //go:build line names kms: the scan is broken")
	}
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(data), "\n") {
			for _, m := range docTagRE.FindAllStringSubmatch(l, -1) {
				for _, tag := range strings.Split(m[1], ",") {
					if !code[tag] {
						t.Errorf("%s:%d: build tag %q is in no //go:build line of the code", f, i+1, tag)
					}
				}
			}
		}
	}
}
