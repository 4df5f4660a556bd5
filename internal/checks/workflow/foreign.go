package workflow

import (
	"regexp"
	"strings"
	"sync"

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
func (a *analysis) foreignScript(w *jobWalk, s *stepInst, sc scope, text, lang string) {
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
	mk := func(kind evKind, tool string) *event { return w.newEvent(kind, tool, s, s.Def.Line) }
	for _, c := range cmds {
		if !foreignSigners().MatchString(firstWord(c)) && !strings.Contains(c, "trivy") && !strings.Contains(c, "grype") {
			continue
		}
		seen = true
		sh := shell.Parse(c, true, false)
		sc.local = map[string]string{}
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
