package steps

import (
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// foreignSigners are the programs a script in another language may start
// to sign: seeing one named is enough to fail closed.
var foreignSigners = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\b(cosign|notation|skopeo|podman|readiness)\b`)
})

var (
	// exec.exec('cosign', ['sign', …]), execSync('cosign sign …'),
	// execFile('cosign', […]), spawn('cosign', […]).
	jsCallRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\b(?:exec\.exec|exec\.getExecOutput|execSync|execFileSync|execFile|exec|spawnSync|spawn|\$)\(\s*(['"` + "`" + `])([^'"` + "`" + `]*)['"` + "`" + `]\s*(?:,\s*\[([^\]]*)\])?`)
	})
	// subprocess.run(["cosign", "sign", …]), os.system("cosign sign …").
	pyListRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[([^\[\]]*)\]`) })
	pyStringRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\b(?:os\.system|subprocess\.(?:run|call|check_call|check_output|Popen))\(\s*[fr]?(['"])([^'"]*)['"]`)
	})
	literalRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\s*([fr]?)(['"` + "`" + `])(.*)['"` + "`" + `]\s*$`)
	})
	// ${x} in a JavaScript template, not a ${{ }} expression GitHub fills in.
	jsInterpRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{[^{]`) })
)

// foreignScript reads a script in another language (actions/github-script's
// JavaScript, a shell: python or node step) for the programs it starts,
// and classifies each as the shell command it amounts to. A signer named
// where no call can be read counts as possibly signing (fail closed).
func (a *Interpreter) foreignScript(w *jobWalk, s *graph.Step, sc graph.Scope, text, lang string) {
	var cmds []string
	for _, m := range jsCallRE().FindAllStringSubmatch(text, -1) {
		cmds = append(cmds, joinCall(m[2], m[3]))
	}
	for _, m := range pyStringRE().FindAllStringSubmatch(text, -1) {
		cmds = append(cmds, m[2])
	}
	for _, m := range pyListRE().FindAllStringSubmatch(text, -1) {
		if c := joinCall("", m[1]); foreignSigners().MatchString(firstWord(c)) {
			cmds = append(cmds, c)
		}
	}
	seen := false
	mk := func(kind Kind, tool string) *Event { return w.newEvent(kind, tool, s, s.Def.Line) }
	for _, c := range cmds {
		if !foreignSigners().MatchString(firstWord(c)) && !strings.Contains(c, "trivy") && !strings.Contains(c, "grype") {
			continue
		}
		seen = true
		sh := shell.Parse(c, true, false)
		sc.Local = map[string]string{}
		for ci := range sh.Cmds {
			a.command(w, s, sc, &sh, ci, s.Def.Line, "", nil, 0)
		}
	}
	if !seen {
		if m := foreignSigners().FindString(text); m != "" {
			a.mayBeSigning(w, s, mk, m+" ("+lang+")", "a "+lang+" script that names "+m+" in a way that cannot be read as a command")
		}
	}
}

// joinCall makes a shell line of a program and an argument list of
// literals; an argument that is not a literal (a variable) becomes an
// unresolvable word, so that its target stays unknown rather than absent.
func joinCall(prog, list string) string {
	words := []string{}
	if prog != "" {
		words = append(words, prog)
	}
	if strings.TrimSpace(list) != "" {
		for _, el := range strings.Split(list, ",") {
			m := literalRE().FindStringSubmatch(el)
			interpolated := m != nil && (m[1] == "f" && strings.Contains(m[3], "{") || m[2] == "`" && jsInterpRE().MatchString(m[3]))
			if m != nil && !interpolated {
				words = append(words, shellQuote(m[3]))
			} else if strings.TrimSpace(el) != "" {
				words = append(words, "${VALUE_COMPUTED_BY_THE_SCRIPT}")
			}
		}
	}
	return strings.Join(words, " ")
}

func firstWord(s string) string {
	f := strings.Fields(strings.Trim(s, `'"`))
	if len(f) == 0 {
		return ""
	}
	return strings.Trim(f[0], `'"`)
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"$`\\|&;<>(){}*?[]#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var (
	// $name = value: a PowerShell assignment, not a command.
	pwshAssignRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\s*)\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$`)
	})
	// $env:NAME and ${env:NAME}: the environment, as $NAME is in a shell.
	pwshEnvRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}|\$env:([A-Za-z_][A-Za-z0-9_]*)`)
	})
	// & cosign …, . ./sign.ps1: the call and dot-source operators.
	pwshCallRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\s*)[&.]\s+`) })
	// Invoke-Expression "…" / iex "…" runs a string, as eval does.
	pwshIEXRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^(\s*)(?:invoke-expression|iex)\s+`) })
	// Write-Output and Write-Host print, as echo does.
	pwshEchoRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^(\s*)(?:write-output|write-host)\s+`) })
	// A value that is a plain string or word (anything else is computed).
	pwshLiteralRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:"[^"]*"|'[^']*'|[^\s"'();|&]+)$`)
	})
)

// pwshToShell rewrites the PowerShell a run: step holds into the shell it
// amounts to for this gate: assignments ($ref = "…") become shell
// assignments, $env:NAME becomes $NAME, the call operator (& cosign …)
// and Invoke-Expression are dropped or become eval, and a backtick line
// continuation becomes a backslash. What is not understood stays a
// command of its own, and pwshSigners fails closed on it.
func pwshToShell(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if strings.HasSuffix(l, "`") {
			l = strings.TrimSuffix(l, "`") + `\`
		}
		l = pwshEnvRE().ReplaceAllStringFunc(l, func(m string) string {
			sub := pwshEnvRE().FindStringSubmatch(m)
			return "${" + sub[1] + sub[2] + "}"
		})
		if m := pwshAssignRE().FindStringSubmatch(l); m != nil && !strings.HasPrefix(strings.TrimSpace(m[3]), "=") {
			val := strings.TrimSuffix(strings.TrimSpace(m[3]), ";")
			if !pwshLiteralRE().MatchString(val) {
				// (Get-Content digest.txt), a pipeline, a method call: computed.
				val = "${VALUE_COMPUTED_BY_THE_SCRIPT}"
			}
			l = m[1] + m[2] + "=" + val
		}
		if t := strings.TrimSpace(l); strings.HasPrefix(t, `"`) || strings.HasPrefix(t, "'") {
			// A bare string is written to the output: "digest=$d" >> $env:GITHUB_OUTPUT.
			l = "echo " + t
		} else if m := pwshEchoRE().FindStringSubmatch(l); m != nil {
			l = m[1] + "echo " + l[len(m[0]):]
		}
		if m := pwshIEXRE().FindStringSubmatch(l); m != nil {
			l = m[1] + "eval " + l[len(m[0]):]
		}
		if m := pwshCallRE().FindStringSubmatch(l); m != nil {
			l = m[1] + l[len(m[0]):]
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// pwshUnread fails closed on a PowerShell step that names a signer which
// none of its commands, as read, runs (Start-Process cosign, a
// [Diagnostics.Process] call, a string built and run): it may sign.
func (a *Interpreter) pwshUnread(w *jobWalk, s *graph.Step, text string, from int) {
	m := foreignSigners().FindString(text)
	if m == "" {
		return
	}
	for _, e := range w.events[from:] {
		if e.Step == s && e.Kind == Sign {
			return // a signer seen as a command
		}
	}
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(pwshToShell(l)); len(f) > 0 && path.Base(f[0]) == m {
			return // run as a command, and not signing (cosign verify)
		}
	}
	mk := func(kind Kind, tool string) *Event { return w.newEvent(kind, tool, s, s.Def.Line) }
	a.mayBeSigning(w, s, mk, m+" (PowerShell)", "a PowerShell script that names "+m+" in a way that cannot be read as a command")
}
