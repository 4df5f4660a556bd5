package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/readiness-dev/readiness/internal/evidence"
)

const denyAll = "package readiness\n\ndeny contains \"custom rule: never release on this branch\" if { true }\n"

// TestRejudgeKeepsPolicySet: a verdict judged with the config's policy.dirs
// stays NO-GO when re-judged; when the policy cannot be found the re-judge
// refuses (exit 2) instead of judging with fewer rules. The old code gave
// GO, exit 0.
func TestRejudgeKeepsPolicySet(t *testing.T) {
	dir := writeConfig(t, "policy:\n  dirs: [pol]\n"+goConfig)
	os.MkdirAll(filepath.Join(dir, "pol"), 0o755)
	os.WriteFile(filepath.Join(dir, "pol", "branch.rego"), []byte(denyAll), 0o644)
	r := run(t, dir, nil, "check", "-o", "json=ev.json")
	if r.code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "ev.json"))
	var doc evidence.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	set := doc.Verdict.PolicySet
	if set == nil || len(set.Modules) != 1 || !strings.HasSuffix(set.Modules[0].Path, "pol/branch.rego") || !strings.HasPrefix(set.Modules[0].SHA256, "sha256:") || set.Embedded.SHA256 == "" {
		t.Fatalf("policy set not recorded: %+v", set)
	}

	tests := []struct {
		name   string
		setup  func()
		args   []string
		code   int
		stderr string
	}{
		{name: "recorded module found again: NO-GO", args: []string{"policy", "eval", "-i", "ev.json"}, code: 1},
		{name: "config given: NO-GO", args: []string{"policy", "eval", "-i", "ev.json", "-c", "readiness.yaml"}, code: 1},
		{name: "module edited: refused", setup: func() {
			os.WriteFile(filepath.Join(dir, "pol", "branch.rego"), []byte("package readiness\n"), 0o644)
		}, args: []string{"policy", "eval", "-i", "ev.json"}, code: 2, stderr: "pol/branch.rego (sha256:"},
		{name: "module moved, named with --policy: NO-GO", setup: func() {
			os.RemoveAll(filepath.Join(dir, "pol"))
			os.MkdirAll(filepath.Join(dir, "moved"), 0o755)
			os.WriteFile(filepath.Join(dir, "moved", "branch.rego"), []byte(denyAll), 0o644)
		}, args: []string{"policy", "eval", "-i", "ev.json", "--policy", "moved"}, code: 1},
		{name: "module gone: refused, named", args: []string{"policy", "eval", "-i", "ev.json"}, code: 2, stderr: "which this run does not load"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			r := run(t, dir, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q\n%s", r.code, tt.code, r.stderr, tt.stderr, r.stdout)
			}
		})
	}

	// A document without a recorded set (an older readiness) is refused.
	delete := map[string]any{}
	json.Unmarshal(data, &delete)
	delete["verdict"].(map[string]any)["policy_set"] = nil
	old, _ := json.Marshal(delete)
	os.WriteFile(filepath.Join(dir, "old.json"), old, 0o644)
	r = run(t, dir, nil, "policy", "eval", "-i", "old.json")
	if r.code != 2 || !strings.Contains(r.stderr, "does not record the policy set") {
		t.Errorf("no policy set: exit %d %q", r.code, r.stderr)
	}
}

// TestPolicyNamespaces: a deny in a package that is never evaluated was
// silently ignored (GO). Now it is refused with file:line, or evaluated
// when its namespace is asked for.
func TestPolicyNamespaces(t *testing.T) {
	mainDeny := "package main\n\ndeny contains \"conftest-style rule\" if { true }\n"
	tests := []struct {
		name   string
		config string
		args   []string
		code   int
		out    string
	}{
		{name: "ignored package is refused", args: []string{"--policy", "pol"}, code: 2, out: "pol/main.rego:1: package main is never evaluated"},
		{name: "--namespace evaluates it", args: []string{"--policy", "pol", "--namespace", "main"}, code: 1, out: "conftest-style rule"},
		{name: "--all-namespaces evaluates it", args: []string{"--policy", "pol", "--all-namespaces"}, code: 1, out: "conftest-style rule"},
		{name: "policy.namespaces in readiness.yaml", config: "policy:\n  dirs: [pol]\n  namespaces: [main]\n", code: 1, out: "conftest-style rule"},
		{name: "unknown namespace", args: []string{"--policy", "pol", "--namespace", "mian"}, code: 2, out: "no loaded policy declares deny or warn in package mian"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, tt.config+goConfig)
			os.MkdirAll(filepath.Join(dir, "pol"), 0o755)
			os.WriteFile(filepath.Join(dir, "pol", "main.rego"), []byte(mainDeny), 0o644)
			r := run(t, dir, nil, append([]string{"check"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.out) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", r.code, tt.code, tt.out, r.stdout, r.stderr)
			}
		})
	}
}

// TestPartialRun: `check --only` said GO exactly like a full run. Every
// renderer now says how much ran.
func TestPartialRun(t *testing.T) {
	dir := writeConfig(t, goConfig)
	r := run(t, dir, nil, "check", "--only", "alpha", "-o", "text", "-o", "json=ev.json", "-o", "markdown=s.md", "-o", "sarif=r.sarif", "-o", "junit=j.xml")
	const want = "GO (partial: 1 of 2 configured checks ran)"
	if r.code != 0 || !strings.Contains(r.stdout, want) || !regexp.MustCompile(`(?m)^beta +not-run +0 +- +not run: left out of this partial run$`).MatchString(r.stdout) {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"ev.json", "s.md", "r.sarif", "j.xml"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !strings.Contains(string(data), "partial: 1 of 2 configured checks ran") {
			t.Errorf("%s does not say the run was partial (%v)", f, err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "ev.json"))
	var doc evidence.Document
	json.Unmarshal(data, &doc)
	if diff := cmp.Diff([]evidence.CheckRef{{Name: "beta", Type: "test"}}, doc.NotRun); diff != "" {
		t.Errorf("not_run (-want +got):\n%s", diff)
	}
	if got := doc.NotRunOfType("test"); len(got) != 1 {
		t.Errorf("NotRunOfType: %v", got)
	}
	// A full run is not partial.
	r = run(t, dir, nil, "check")
	if strings.Contains(r.stdout, "partial") {
		t.Errorf("full run says partial:\n%s", r.stdout)
	}
}

func TestOutputs(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		files  []string
		stdout string
	}{
		{name: "several reports from one run", args: []string{"-o", "text", "-o", "json=ev.json", "-o", "sarif=r.sarif"}, code: 0, files: []string{"ev.json", "r.sarif"}, stdout: "GO"},
		{name: "- is stdout", args: []string{"-o", "json=-"}, code: 0, stdout: `"schema"`},
		{name: "bare - with --format", args: []string{"--format", "json", "-o", "-"}, code: 0, stdout: `"schema"`},
		{name: "old --format/--output", args: []string{"--format", "json", "--output", "old.json"}, code: 0, files: []string{"old.json"}},
		{name: "two reports on stdout", args: []string{"-o", "text", "-o", "json"}, code: 2, stderr: "standard output already receives the text report"},
		{name: "unknown format", args: []string{"-o", "pdf=r.pdf"}, code: 2, stderr: `unknown format "pdf"`},
		{name: "the config is refused", args: []string{"-o", "json=readiness.yaml"}, code: 2, stderr: "would overwrite readiness.yaml, which this run reads"},
		{name: "a policy file is refused", args: []string{"--policy", "pol", "-o", "json=pol/p.rego"}, code: 2, stderr: "which this run reads"},
		{name: "unwritable before any gate", args: []string{"-o", "json=ro/ev.json"}, code: 2, stderr: "--output ro/ev.json cannot be written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, goConfig)
			os.MkdirAll(filepath.Join(dir, "pol"), 0o755)
			os.WriteFile(filepath.Join(dir, "pol", "p.rego"), []byte("package readiness\n"), 0o644)
			if os.Geteuid() == 0 {
				// root writes into a read-only directory; nobody writes
				// below a regular file.
				os.WriteFile(filepath.Join(dir, "ro"), nil, 0o644)
			} else {
				os.MkdirAll(filepath.Join(dir, "ro"), 0o555)
			}
			r := run(t, dir, nil, append([]string{"check"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || !strings.Contains(r.stdout, tt.stdout) {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.code == 2 && strings.Contains(r.stderr, "alpha") {
				t.Errorf("a gate ran before the usage error:\n%s", r.stderr)
			}
			for _, f := range tt.files {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		})
	}
}

// TestUnknownSubcommands: `readiness image sacn` printed help and exited 0.
func TestUnknownSubcommands(t *testing.T) {
	for _, args := range [][]string{{"image", "sacn"}, {"tests", "rnu"}, {"key", "verfy"}, {"workflow", "lnit"}, {"ledger", "tset"}, {"policy", "evl"}, {"chekc"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := run(t, "", nil, args...)
			if r.code != 2 || !strings.Contains(r.stderr, "unknown command") || !strings.Contains(r.stderr, "did you mean") {
				t.Errorf("exit %d stderr %q", r.code, r.stderr)
			}
		})
	}
	// cobra's own `completion` and `help` commands exited 0 on a typo.
	for _, args := range [][]string{{"completion", "bsh"}, {"help", "chek"}, {"help", "image", "sacn"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := run(t, "", nil, args...)
			if r.code != 2 || !strings.Contains(r.stderr, "unknown") || !strings.Contains(r.stderr, "did you mean") {
				t.Errorf("exit %d stderr %q", r.code, r.stderr)
			}
		})
	}
	for _, args := range [][]string{{"image"}, {"help", "image"}, {"help"}, {"completion"}} {
		r := run(t, "", nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Available Commands") {
			t.Errorf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
	if r := run(t, "", nil, "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "bash completion") {
		t.Errorf("completion bash: exit %d %s", r.code, r.stderr)
	}
	r := run(t, "", nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "readiness ") || !strings.Contains(r.stdout, "go:") {
		t.Errorf("--version: exit %d %q", r.code, r.stdout)
	}
}

func TestRunTimeout(t *testing.T) {
	dir := writeConfig(t, "checks:\n  - {name: slow, type: test, with: {behaviour: hang}}\n")
	r := run(t, dir, nil, "check", "--timeout", "1ms")
	if r.code != 1 || !strings.Contains(r.stdout, "the run timed out (1ms)") || strings.Contains(r.stdout, "raise its timeout in readiness.yaml") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	dir = writeConfig(t, goConfig)
	if r := run(t, dir, nil, "check", "--timeout", "1d"); r.code != 0 {
		t.Errorf("--timeout 1d: exit %d %s", r.code, r.stderr)
	}
}

// slowPolicy takes minutes to evaluate unless it is cancelled.
const slowPolicy = `package readiness

deny contains "never" if {
	some x in numbers.range(1, 40000)
	some y in numbers.range(1, 40000)
	x * y == -1
}
`

// TestInterruptReachesPolicy runs the CLI as a process with a slow policy:
// SIGINT used to be ignored until the policy finished (~30 s). One SIGINT
// now cancels the evaluation after a short grace; two exit at once. Both
// are NO-GO, exit 1.
func TestInterruptReachesPolicy(t *testing.T) {
	for _, signals := range []int{1, 2} {
		t.Run(map[int]string{1: "one SIGINT", 2: "two SIGINTs"}[signals], func(t *testing.T) {
			dir := writeConfig(t, "checks:\n  - {name: fast, type: test}\n")
			os.MkdirAll(filepath.Join(dir, "pol"), 0o755)
			os.WriteFile(filepath.Join(dir, "pol", "slow.rego"), []byte(slowPolicy), 0o644)
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe, "check", "--policy", "pol")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "READINESS_CLI_TEST_MAIN=1", "CI=true")
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			watchdog := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
			defer watchdog.Stop()
			sc := bufio.NewScanner(stderr)
			var seen []string
			for sc.Scan() {
				seen = append(seen, sc.Text())
				if strings.Contains(sc.Text(), "fast pass") {
					break
				}
			}
			time.Sleep(200 * time.Millisecond) // into the policy
			// Each SIGINT is sent once the previous one was heard: the
			// kernel merges a signal sent while the same one is pending, so
			// two sent 50 ms apart were one on a loaded machine.
			for i := range signals {
				cmd.Process.Signal(syscall.SIGINT)
				if i == signals-1 {
					break
				}
				for sc.Scan() {
					seen = append(seen, sc.Text())
					if strings.Contains(sc.Text(), "readiness: interrupted:") {
						break
					}
				}
			}
			for sc.Scan() {
				seen = append(seen, sc.Text())
			}
			cmd.Wait()
			if !watchdog.Stop() {
				t.Fatal("readiness ignored SIGINT during a slow policy")
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), strings.Join(seen, "\n"))
			}
			if !strings.Contains(strings.Join(seen, "\n"), "readiness: interrupted: stopping the checks") {
				t.Errorf("the first SIGINT was not acknowledged:\n%s", strings.Join(seen, "\n"))
			}
			if signals == 2 && !strings.Contains(strings.Join(seen, "\n"), "interrupted again") {
				t.Errorf("second SIGINT not reported:\n%s", strings.Join(seen, "\n"))
			}
		})
	}
}

// TestGithubFormatVerdictOnce: -o github ends with the verdict on stdout;
// CI logs merge both streams, so stderr must not repeat it.
func TestGithubFormatVerdictOnce(t *testing.T) {
	dir := writeConfig(t, goConfig)
	r := run(t, dir, nil, "check", "-o", "github")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := 0
	for _, l := range strings.Split(r.stdout+"\n"+r.stderr, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "GO") {
			lines++
		}
	}
	if lines != 1 {
		t.Errorf("the verdict is printed %d times\nstdout:\n%s\nstderr:\n%s", lines, r.stdout, r.stderr)
	}
}
