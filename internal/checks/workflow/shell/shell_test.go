package shell

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cmdWords renders each command of a script as its words joined by
// spaces, followed by the operator after it (and $ for a command inside a
// command substitution).
func cmdWords(sh Script) []string {
	var out []string
	for _, c := range sh.Cmds {
		s := strings.Join(c.Words, " ")
		for _, a := range c.Assigns {
			op := "="
			if a.Append {
				op = "+="
			}
			s = a.Name + op + a.Value + " " + s
		}
		if c.LoopVar != "" {
			s = "for " + c.LoopVar + " in " + s
		}
		if c.Subst {
			s = "$ " + s
		}
		out = append(out, strings.TrimSpace(s)+" ["+strings.ReplaceAll(c.Op, "\n", "nl")+"]")
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"continuations", "trivy image \\\n  --exit-code 1 \\\n  img:1\necho done", []string{"trivy image --exit-code 1 img:1 [nl]", "echo done [nl]"}},
		{"operators", "a && b || c; d | e & f", []string{"a [&&]", "b [||]", "c [;]", "d [|]", "e [&]", "f [nl]"}},
		{"quotes", `cosign sign "${REF}@${DIGEST}" 'lit $X' "a \"b\""`, []string{`cosign sign ${REF}@${DIGEST} lit $X a "b" [nl]`}},
		{"expressions kept whole", "cosign sign ${{ env.IMAGE }}@${{ steps.build.outputs.digest }}", []string{"cosign sign ${{ env.IMAGE }}@${{ steps.build.outputs.digest }} [nl]"}},
		{"expression in quotes", `cosign sign "${{ env.IMAGE }}" '${{ x }}'`, []string{"cosign sign ${{ env.IMAGE }} ${{ x }} [nl]"}},
		{"command substitution", `d="$(crane digest "$IMG" | tr -d ' ')"; cosign sign "$d"`,
			[]string{`$ crane digest $IMG [|]`, `$ tr -d [nl]`, `d=$(crane digest "$IMG" | tr -d ' ') [;]`, "cosign sign $d [nl]"}},
		{"signing in a substitution", `out=$(cosign sign --yes "$IMG")`, []string{"$ cosign sign --yes $IMG [nl]", `out=$(cosign sign --yes "$IMG") [nl]`}},
		{"backticks", "echo `cosign sign x`", []string{"$ cosign sign x [nl]", "echo `cosign sign x` [nl]"}},
		{"nested substitution", `echo "$(a "$(cosign sign b)")"`, []string{"$ cosign sign b [nl]", `$ a $(cosign sign b) [nl]`, `echo $(a "$(cosign sign b)") [nl]`}},
		{"comments", "# cosign sign x\necho a # cosign sign y\n", []string{"echo a [nl]"}},
		{"heredoc body is not commands", "cat <<EOF > notes.md\ncosign sign not-a-command\nEOF\necho after", []string{"cat [nl]", "echo after [nl]"}},
		{"newline after &&", "trivy image x &&\n  cosign sign x", []string{"trivy image x [&&]", "cosign sign x [nl]"}},
		{"if block", "if ! trivy image x; then\n  exit 1\nfi", []string{"trivy image x [;]", "exit 1 [nl]"}},
		{"redirects", "echo \"IMAGE=ghcr.io/a\" >> \"$GITHUB_ENV\" 2>&1", []string{"echo IMAGE=ghcr.io/a [nl]"}},
		{"for loop", "for t in $TAGS; do cosign sign \"$t\"; done", []string{"for t in $TAGS []", "cosign sign $t [nl]"}},
		{"append assignment", "images+=\"a \"", []string{"images+=a [nl]"}},
		{"export", "export IMAGE=\"ghcr.io/a\" TAG", []string{"export IMAGE=ghcr.io/a TAG [nl]"}},
		{"function", "sign() {\n  cosign sign \"$1\"\n}\nsign img", []string{"cosign sign $1 [nl]", "sign img [nl]"}},
		{"subshell and group", "( cosign sign a ) && { cosign sign b; }", []string{"cosign sign a [&&]", "cosign sign b [nl]"}},
		{"case", "case $X in\n  a) cosign sign a ;;\nesac", []string{"cosign sign a [nl]"}},
		{"test clause", "[[ $? -ne 0 ]] && exit 1", []string{"[[ $? -ne 0 ]] [&&]", "exit 1 [nl]"}},
		{"unterminated quote runs nothing after the error line", "echo ok\necho \"never closed", []string{"echo ok [nl]"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cmdWords(Parse(tt.src, true, false))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHeredoc(t *testing.T) {
	sh := Parse("bash <<'EOF'\ncosign sign \"$IMG\"\nEOF\nbash <<< \"cosign sign b\"", true, false)
	if len(sh.Cmds) != 2 {
		t.Fatalf("got %v", cmdWords(sh))
	}
	if got := sh.Cmds[0].Redirs[0]; got.Op != "<<" || got.Heredoc != "cosign sign \"$IMG\"\n" {
		t.Errorf("heredoc = %+v", got)
	}
	if got := sh.Cmds[1].Redirs[0]; got.Op != "<<<" || got.Target != "cosign sign b" {
		t.Errorf("here-string = %+v", got)
	}
}

func TestParseError(t *testing.T) {
	sh := Parse("echo a\ncosign sign x\nif then fi (\n", true, false)
	if sh.Err == nil {
		t.Fatal("no error for a script that does not parse")
	}
	if diff := cmp.Diff([]string{"echo a [nl]", "cosign sign x [nl]"}, cmdWords(sh)); diff != "" {
		t.Errorf("commands before the error (-want +got):\n%s", diff)
	}
}

func TestParseLines(t *testing.T) {
	sh := Parse("set -e\n\ntrivy image \\\n  --exit-code 1 x\n\"quoted\nacross\" lines\ncosign sign x\n", true, false)
	var got []int
	for _, c := range sh.Cmds {
		got = append(got, c.Line)
	}
	if diff := cmp.Diff([]int{0, 2, 4, 6}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// TestStops checks whether a failing first trivy command stops the script.
func TestStops(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		errexit  bool
		pipefail bool
		want     bool
		why      string
	}{
		{"plain", "trivy image x\ncosign sign x", true, false, true, ""},
		// Issue 26, 6 and 8: traps that turn failure into success; a status
		// captured with || and exited on.
		{"trap exit 0 on ERR", "trap 'echo scan failed; exit 0' ERR\ntrivy image x\ncosign sign x", true, false, false, "turns `trivy image`'s failure into success"},
		{"trap exit 0 on EXIT", "trap 'exit 0' EXIT\ntrivy image x\ncosign sign x", true, false, false, "trap"},
		{"trap reset", "trap 'exit 0' ERR\ntrap - ERR\ntrivy image x\ncosign sign x", true, false, true, ""},
		{"trap that reports", "trap 'echo failed at $LINENO' ERR\ntrivy image x\ncosign sign x", true, false, true, ""},
		{"trap after the scan", "trivy image x\ntrap 'exit 0' EXIT\ncosign sign x", true, false, true, ""},
		{"or rc then checked", "rc=0\ntrivy image x || rc=$?\n[ \"$rc\" -eq 0 ] || exit \"$rc\"\ncosign sign x", true, false, true, ""},
		{"or rc never checked", "rc=0\ntrivy image x || rc=$?\necho \"scan: $rc\"\ncosign sign x", true, false, false, "carries on"},
		{"or true", "trivy image x || true\ncosign sign x", true, false, false, "|| true"},
		{"or exit", "trivy image x || exit 1\ncosign sign x", true, false, true, ""},
		{"or bare exit", "trivy image x || exit\ncosign sign x", true, false, true, ""},
		{"or exit then and", "trivy image x || exit 1 && echo ok\ncosign sign x", true, false, true, ""},
		{"or group exit", "trivy image x || { echo failed >&2; exit 2; }\ncosign sign x", true, false, true, ""},
		{"or group no exit", "trivy image x || { echo failed >&2; }\ncosign sign x", true, false, false, "|| echo failed"},
		{"and list not last", "trivy image x && echo ok\necho more", true, false, false, "&&"},
		{"and list last", "echo start\ntrivy image x && echo ok", true, false, true, ""},
		{"group left of and", "{ trivy image x; echo scanned; } && echo ok\necho more", true, false, false, "errexit is ignored"},
		{"set +e", "set +e\ntrivy image x\necho done", true, false, false, "errexit is off"},
		{"set +e last command", "set +e\ntrivy image x", true, false, true, ""},
		{"set +e rc checked", "set +e\ntrivy image x\nrc=$?\nset -e\nif [ \"$rc\" -ne 0 ]; then exit \"$rc\"; fi", true, false, true, ""},
		{"set +e exit status", "set +e\ntrivy image x\nexit $?", true, false, true, ""},
		{"set +e echo status", "set +e\ntrivy image x\necho \"status $?\"", true, false, false, "errexit is off"},
		{"set +o errexit", "set +o errexit\ntrivy image x\necho done", true, false, false, "errexit is off"},
		{"no errexit shell", "trivy image x\necho done", false, false, false, "errexit is off"},
		{"set -e restores", "set +e\nset -euo pipefail\ntrivy image x | tee out\necho done", true, false, true, ""},
		{"pipe no pipefail", "trivy image x | tee out\necho done", true, false, false, "piped into `tee out`"},
		{"pipe pipefail", "trivy image x | tee out\necho done", true, true, true, ""},
		{"set +o pipefail", "set +o pipefail\ntrivy image x | tee out\necho done", true, true, false, "piped"},
		{"set -o pipefail", "set -o pipefail\ntrivy image x | tee out", true, false, true, ""},
		{"background", "trivy image x &\nwait", true, false, false, "background"},
		{"background group", "{ trivy image x; echo done; } &\nwait", true, false, false, "background"},
		{"negated", "! trivy image x\necho done", true, false, false, "negated"},
		{"if exits", "if ! trivy image x; then\n  echo vulnerable\n  exit 1\nfi\necho ok", true, false, true, ""},
		{"if without exit", "if trivy image x; then\n  echo clean\nfi\necho ok", true, false, false, "condition of an if"},
		{"if exits on success only", "if trivy image x; then\n  exit 1\nfi\necho ok", true, false, false, "condition of an if"},
		{"if else exit", "if trivy image x; then echo clean; else exit 1; fi", true, false, true, ""},
		{"until retries", "until trivy image x; do exit 1; done", true, false, true, ""},
		{"while no exit", "while ! trivy image x; do sleep 1; done", true, false, false, "condition"},
		{"substitution", "out=$(trivy image x)\necho \"$out\"", true, false, false, "command substitution"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := Parse(tt.src, tt.errexit, tt.pipefail)
			ci := -1
			for i, c := range sh.Cmds {
				if len(c.Words) > 0 && c.Words[0] == "trivy" {
					ci = i
					break
				}
			}
			if ci < 0 {
				t.Fatalf("no trivy command in %q: %v", tt.src, cmdWords(sh))
			}
			got, why := sh.Stops(ci)
			if got != tt.want {
				t.Fatalf("Stops = %v (%s), want %v", got, why, tt.want)
			}
			if !strings.Contains(why, tt.why) {
				t.Errorf("reason %q does not mention %q", why, tt.why)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		shell             string
		errexit, pipefail bool
	}{
		{"", true, false},
		{"bash", true, true},
		{"sh", true, false},
		{"pwsh", false, false},
		{"bash -x {0}", false, false},
		{"bash -eo pipefail {0}", true, true},
		{"bash -e -o pipefail {0}", true, true},
		{"bash --noprofile --norc -eo pipefail {0}", true, true},
		{"/bin/sh -e {0}", true, false},
	}
	for _, tt := range tests {
		e, p, _ := Options(tt.shell)
		if e != tt.errexit || p != tt.pipefail {
			t.Errorf("Options(%q) = %v, %v; want %v, %v", tt.shell, e, p, tt.errexit, tt.pipefail)
		}
	}
}

// FuzzParse parses arbitrary scripts and judges every command: never a
// panic, lines inside the script, pipelines well formed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"trivy image --exit-code 1 x || { echo no; exit 1; }\ncosign sign x",
		"set +e\ntrivy image x\nrc=$?\nif [ $rc -ne 0 ]; then exit $rc; fi",
		"cat <<-EOF\n\tbody\n\tEOF\necho \"$(a \"$(b)\")\" ${x:-y} `c` $((1+2))",
		"for t in ${{ steps.m.outputs.tags }}; do cosign sign \"$t@${D}\"; done",
		"f() { g; }; function h { i; } ; ( j ) ; k |& l ; m 2>&1 >>o",
		"if a; then b; elif c; then d; else e; fi; while f; do g; done; case x in y) z;; esac",
		"bash <<'EOF'\ncosign sign x\nEOF\neval \"cosign sign $I\"; echo x | xargs cosign sign",
		"'unterminated \"also\\",
		"${{ a }}${{ b }} __GHEXPR0__ __GHEXPR9__",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, e := range []bool{true, false} {
			sh := Parse(src, e, !e)
			for i, c := range sh.Cmds {
				sh.Stops(i)
				sh.StatusChecked(i)
				if c.Line < 0 || c.Line > strings.Count(src, "\n")+1 {
					t.Fatalf("command %d line %d outside the script", i, c.Line)
				}
				if c.PipeLast < i || c.PipeLast >= len(sh.Cmds) {
					t.Fatalf("command %d: pipeline ends at %d", i, c.PipeLast)
				}
			}
		}
	})
}

// TestGroupRedirs: a compound command's output redirection is each inner
// command's, unless that command redirects its own output.
func TestGroupRedirs(t *testing.T) {
	sh := Parse("{ echo A=1; echo B=2 > /tmp/x; } >> \"$GITHUB_ENV\"\nfor v in a; do echo \"$v\"; done > out\necho $(echo inner) >> log", true, false)
	want := map[string]string{"A=1": "$GITHUB_ENV", "B=2": "/tmp/x", "$v": "out", "inner": "", "$(echo inner)": "log"}
	for _, c := range sh.Cmds {
		if len(c.Words) < 2 || c.Words[0] != "echo" {
			continue
		}
		got := ""
		if len(c.Redirs) > 0 {
			got = c.Redirs[len(c.Redirs)-1].Target
		}
		if w, ok := want[c.Words[1]]; ok && got != w {
			t.Errorf("echo %s writes to %q, want %q", c.Words[1], got, w)
		}
	}
}
