package selftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	needpkg "github.com/readiness-dev/readiness/internal/testutil/need"
)

// ghWorkflow is the part of a GitHub Actions workflow a job's commands
// depend on when they run.
type ghWorkflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]ghJob  `yaml:"jobs"`
}

type ghJob struct {
	Env      map[string]string    `yaml:"env"`
	Services map[string]ghService `yaml:"services"`
	Steps    []ghStep             `yaml:"steps"`
}

type ghService struct {
	Image string   `yaml:"image"`
	Ports []string `yaml:"ports"`
}

type ghStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

// gateCommand matches a step that runs readiness.yaml's gates: `check`, or
// `image release`, which runs every gate again pinned to the digest.
var gateCommand = regexp.MustCompile(`readiness"? (check|image release)\b|\./cmd/readiness (check|image release)\b`)

func loadWorkflow(t *testing.T, name string) ghWorkflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", name))
	if err != nil {
		t.Fatal(err)
	}
	var w ghWorkflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// gateJobs lists "file/job" for every job of our workflows that runs the
// gates of readiness.yaml.
func gateJobs(t *testing.T) map[string]ghJob {
	t.Helper()
	out := map[string]ghJob{}
	for _, file := range []string{"ci.yml", "release.yml"} {
		for name, j := range loadWorkflow(t, file).Jobs {
			for _, s := range j.Steps {
				if gateCommand.MatchString(s.Run) {
					out[file+"/"+name] = j
				}
			}
		}
	}
	return out
}

// TestGateJobsProvidePostgreSQL: readiness.yaml's tests gate runs the
// ledger's tests, whose PostgreSQL half fails under CI=true (GitHub sets it)
// without READINESS_TEST_POSTGRES_DSN. Every job that runs the gates must
// give them a server, or our own release could never say GO.
func TestGateJobsProvidePostgreSQL(t *testing.T) {
	jobs := gateJobs(t)
	var names []string
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	if want := "ci.yml/readiness release.yml/gate release.yml/image"; strings.Join(names, " ") != want {
		t.Errorf("jobs running the gates: %v, want %s", names, want)
	}
	for _, n := range names {
		j := jobs[n]
		if !strings.HasPrefix(j.Env["READINESS_TEST_POSTGRES_DSN"], "postgres://") {
			t.Errorf("%s sets no READINESS_TEST_POSTGRES_DSN", n)
		}
		pg, ok := j.Services["postgres"]
		if !ok || !strings.HasPrefix(pg.Image, "postgres:") || len(pg.Ports) == 0 || !strings.HasPrefix(pg.Ports[0], "5432:") {
			t.Errorf("%s has no postgres service on port 5432: %+v", n, j.Services)
		}
	}
}

// TestGateJobsReachGO runs the gate jobs of ci.yml and release.yml as
// GitHub runs them: their `run:` steps in order, with bash -e, CI=true and
// only the environment the runner and the workflow give (a clean one, not
// this test's), in a fresh copy of this repository, against the
// PostgreSQL the job's service provides (here: the local one on the same
// port). They must end in GO, or the release README tells users to verify
// could never be produced.
func TestGateJobsReachGO(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED under -short: runs every gate, twice")
	}
	jobs := gateJobs(t)
	for _, name := range []string{"release.yml/gate", "ci.yml/readiness"} {
		t.Run(name, func(t *testing.T) {
			j, ok := jobs[name]
			if !ok {
				t.Fatalf("no job %s runs the gates", name)
			}
			file := strings.SplitN(name, "/", 2)[0]
			runGateJob(t, loadWorkflow(t, file), j)
		})
	}
}

func runGateJob(t *testing.T, w ghWorkflow, j ghJob) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	needPostgresAt5432(t)
	work := copyCheckout(t)
	tmp := t.TempDir()
	summary := filepath.Join(tmp, "step-summary.md")
	// What the runner gives every step; HOME and Go's own settings so the
	// build uses this machine's module proxy and caches, as setup-go's do.
	env := map[string]string{
		"PATH":                filepath.Dir(goBin) + ":/usr/local/bin:/usr/bin:/bin",
		"HOME":                os.Getenv("HOME"),
		"CI":                  "true",
		"GITHUB_ACTIONS":      "true",
		"GITHUB_WORKSPACE":    work,
		"RUNNER_TEMP":         tmp,
		"GITHUB_STEP_SUMMARY": summary,
	}
	for _, k := range []string{"GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOFLAGS", "GOTOOLCHAIN"} {
		out, err := exec.Command(goBin, "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		if v := strings.TrimSpace(string(out)); v != "" {
			env[k] = v
		}
	}
	for _, layer := range []map[string]string{w.Env, j.Env} {
		for k, v := range layer {
			env[k] = expand(t, v)
		}
	}
	ran := false
	for _, s := range j.Steps {
		if s.Run == "" {
			continue
		}
		stepEnv := map[string]string{}
		for k, v := range env {
			stepEnv[k] = v
		}
		for k, v := range s.Env {
			stepEnv[k] = expand(t, v)
		}
		var list []string
		for k, v := range stepEnv {
			list = append(list, k+"="+v)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
		cmd.Dir, cmd.Env = work, list
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("step %q: %v\n%s", s.Name, err, out)
		}
		if gateCommand.MatchString(s.Run) {
			ran = true
			t.Logf("step %q:\n%s", s.Name, out)
		}
	}
	if !ran {
		t.Fatal("the job ran no gate")
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "GO") || strings.Contains(string(md), "NO-GO") {
		t.Errorf("step summary (err %v) does not say GO:\n%s", err, md)
	}
	// Every gate of readiness.yaml ran, the tests gate included.
	for _, name := range []string{"security-key", "workflow", "ledger", "tests"} {
		if !strings.Contains(string(md), name) {
			t.Errorf("step summary does not list %s:\n%s", name, md)
		}
	}
}

// expand evaluates the few ${{ }} expressions our gate jobs' environments
// use; any other fails the test, so that a new one is looked at.
func expand(t *testing.T, v string) string {
	t.Helper()
	v = strings.ReplaceAll(v, "${{ github.repository }}", "readiness-dev/readiness")
	if strings.Contains(v, "${{") {
		t.Fatalf("the gate job's environment uses an expression this test does not evaluate: %s", v)
	}
	return v
}

// needPostgresAt5432: the job's postgres service listens on 127.0.0.1:5432;
// here the machine's own server does (scripts/test.sh starts it).
func needPostgresAt5432(t *testing.T) {
	t.Helper()
	needpkg.PostgresDSN(t)
	if out, err := exec.Command("pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432").CombinedOutput(); err != nil {
		needpkg.Skip(t, "no PostgreSQL at 127.0.0.1:5432, where the gate jobs' service listens: %v %s", err, out)
	}
}

// copyCheckout copies this repository's files (tracked and untracked, not
// ignored) into a fresh git repository with one commit, as a checkout.
func copyCheckout(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "checkout")
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		st, err := os.Lstat(src)
		if err != nil {
			continue // deleted in the working tree
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dst, rel)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-q", "-m", "checkout"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dst
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dst
}
