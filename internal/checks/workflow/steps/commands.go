package steps

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/imageref"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
	"github.com/readiness-dev/readiness/internal/checks/workflow/toolflags"
)

// shPos is one command in one tokenized script; scans remember the chain
// of scripts that led to them (a step's run: that calls ./scripts/x.sh).
type shPos struct {
	sh *shell.Script
	ci int
	// why, when set, says why a failure at this level does not stop what
	// called it (a Makefile line prefixed with -).
	why string
}

// ShellReasons says why a failure of e's command would not stop the
// signing event sign (nil: judge e alone): how the shell runs it, and each
// script that led to it, when the failure does not stop what follows
// (no errexit, || true, a Makefile line prefixed with -). A signing
// command joined to it by && in the same script runs only if it succeeded.
func (e *Event) ShellReasons(sign *Event) []string {
	if e.sh == nil || sign != nil && sameChain(e, sign) {
		return nil
	}
	var reasons []string
	for _, lvl := range append(slices.Clone(e.chain), shPos{sh: e.sh, ci: e.ci}) {
		if lvl.why != "" {
			reasons = append(reasons, lvl.why)
			continue
		}
		if ok, why := lvl.sh.Stops(lvl.ci); !ok {
			reasons = append(reasons, why)
		}
	}
	return reasons
}

// sameChain reports whether the signing command runs only if the scan
// succeeded because they are joined by && in one script.
func sameChain(p, s *Event) bool {
	return p.sh != nil && p.sh == s.sh && p.sh.AndChain(p.ci, s.ci)
}

// runStep tokenizes a run: script and classifies its commands.
func (a *Interpreter) runStep(w *jobWalk, s *graph.Step, sc graph.Scope) {
	name := s.Def.Shell
	if name == "" {
		name = w.Job.Def.Shell
	}
	if name == "" {
		name = w.Job.File.Shell
	}
	errexit, pipefail, posix := shell.Options(name)
	if !posix && name != "pwsh" && name != "powershell" {
		// python, node, cmd: not shell; the programs it starts are read
		// from its calls, and a signer it names fails closed.
		a.foreignScript(w, s, sc, s.Def.Run, strings.Fields(name + " script")[0])
		return
	}
	text, pwsh := s.Def.Run, name == "pwsh" || name == "powershell"
	if pwsh {
		text = pwshToShell(text)
	}
	from := len(w.events)
	sh := shell.Parse(text, errexit, pipefail)
	sc.Local = map[string]string{}
	for ci := range sh.Cmds {
		a.command(w, s, sc, &sh, ci, runLine(s.Def, sh.Cmds[ci].Line), "", nil, 0)
	}
	if pwsh {
		a.pwshUnread(w, s, s.Def.Run, from)
	}
}

// runLine maps a script line to a file line.
func runLine(d *model.Step, scriptLine int) int {
	switch {
	case d.RunLiteral:
		return d.RunLine + 1 + scriptLine
	case strings.Contains(d.Run, "\n"):
		return d.RunLine + 1 + scriptLine // folded: approximate
	}
	return d.RunLine
}

// command classifies one shell command.
func (a *Interpreter) command(w *jobWalk, s *graph.Step, sc graph.Scope, sh *shell.Script, ci, line int, script string, chain []shPos, depth int) {
	c := &sh.Cmds[ci]
	res := func(x string) string { return strings.TrimSpace(sc.ResolveShell(x)) }
	cmdEnv, handled := a.shellState(w, sc, c, res)
	w.noteFileWrites(s, c, res, line, script)
	w.noteAliases(c, res)
	if handled {
		return
	}
	ws := expandAliases(slices.Clone(c.Words), sc.Local)
	// The program may be named through a variable: "$GRYPE_CMD",
	// ${TRIVY:-trivy}. Resolve the words effective() looks at.
	rws := make([]string, len(ws))
	for i, x := range ws {
		rws[i] = x
		if strings.ContainsAny(x, "$`") {
			rws[i] = res(x)
		}
	}
	if f := strings.Fields(rws[0]); len(f) > 1 && !strings.Contains(rws[0], "${{") {
		// A variable holding a command line: GRYPE="docker run anchore/grype".
		rws = append(f, rws[1:]...)
		ws = slices.Clone(rws)
	}
	name, rargs, xr := effective(rws, cmdEnv)
	args := slices.Clone(ws[len(ws)-len(rargs):])
	if xr.used {
		args = xargsArgs(sh, ci, xr, args)
	}
	here := append(slices.Clone(chain), shPos{sh: sh, ci: ci})
	mk := func(kind Kind, tool string) *Event {
		e := w.newEvent(kind, tool, s, line)
		e.Script = script
		e.sh, e.ci, e.chain = sh, ci, chain
		return e
	}
	envOf := func(k string) (string, bool) {
		if v, ok := cmdEnv[k]; ok {
			return v, true
		}
		if v, ok := sc.Local[k]; ok {
			return v, true
		}
		if v, ok := sc.EnvLookup(k, false); ok {
			return sc.Resolve(v), true
		}
		return "", false
	}
	sub := func(text, what string) {
		a.subScript(w, s, sc, subCall{text: text, errexit: c.Errexit, pipefail: c.Pipefail, line: line,
			script: script, chain: here, depth: depth, what: what, mk: mk})
	}
	if strings.ContainsAny(name, "$`") || strings.Contains(name, "${{") {
		a.mayBeSigning(w, s, mk, "`"+ws[0]+"`", "a command whose name is not visible ("+ws[0]+")")
		return
	}
	switch name {
	case "eval":
		sub(strings.Join(args, " "), "eval")
		return
	case "bash", "sh", "zsh", "dash", "ksh":
		// bash -c 'script', bash -ec '…', bash <<EOF … EOF, bash <<< '…',
		// … | bash, or bash ./script.sh.
		for i, x := range args {
			if x == "--" || !strings.HasPrefix(x, "-") {
				break
			}
			if !strings.HasPrefix(x, "--") && strings.Contains(x, "c") && !strings.HasPrefix(x, "-o") {
				if i+1 < len(args) {
					sub(args[i+1], name+" -c")
				}
				return
			}
		}
		rest, stdin := args, false
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			switch {
			case rest[0] == "--":
				rest, stdin = rest[:0], true // the rest are the script's arguments
				continue
			case rest[0] == "-o" || rest[0] == "+o":
				rest = rest[1:]
			case rest[0] == "-s":
				stdin = true
			}
			rest = rest[1:]
		}
		if len(rest) > 0 && !stdin {
			a.followScript(w, s, sc, res(rest[0]), resAll(rest[1:], res), cmdEnv, line, here, depth, mk)
			return
		}
		a.stdinScript(w, s, sh, ci, sub, mk)
		return
	case "source", ".":
		if len(args) > 0 {
			a.followScript(w, s, sc, res(args[0]), resAll(args[1:], res), cmdEnv, line, here, depth, mk)
		}
		return
	case "make", "gmake", "task", "go-task", "just", "npm", "yarn", "pnpm", "bun":
		a.buildTool(w, s, sc, name, args, res, toolCall{line: line, script: script, chain: here, depth: depth, mk: mk, errexit: c.Errexit})
		return
	case "cosign", "notation":
		signCmd(w, name, args, mk, res)
		return
	}
	if tool := w.signerAlias(name); tool != "" {
		// cosign fetched or copied under another name (sigtool), or its
		// release binary run as is (./cosign-linux-amd64).
		as := func(kind Kind, t string) *Event { return mk(kind, t+" (run as "+name+")") }
		signCmd(w, tool, args, as, res)
		return
	}
	switch name {
	case "trivy":
		a.trivyCmd(w, s, sc, args, mk, envOf, res)
		return
	case "grype":
		a.grypeCmd(w, s, sc, args, mk, envOf, res)
		return
	case "readiness":
		a.readinessCmd(w, args, mk, res)
		return
	case "docker", "podman", "nerdctl", "buildah":
		a.dockerCmd(w, s, sc, name, args, mk, res)
		return
	case "crane", "gcrane", "skopeo", "ko":
		a.pushCmd(w, name, args, mk, res)
		return
	case "goreleaser":
		e := len(w.events)
		a.goreleaser(w, s, line, args, script)
		for _, ev := range w.events[e:] {
			ev.sh, ev.ci, ev.chain = sh, ci, chain
		}
		return
	}
	// A script in the repository: ./scripts/release.sh, scripts/sign.sh.
	if isScriptPath(name) {
		a.followScript(w, s, sc, res(rws[firstWordIndex(rws, name)]), resAll(args, res), cmdEnv, line, here, depth, mk)
	}
}

// xargsArgs fills in the arguments xargs gives its command: what the
// pipeline's previous command prints (echo, printf), at the replacement
// string or at the end.
func xargsArgs(sh *shell.Script, ci int, xr xargsInfo, args []string) []string {
	input := ""
	if sh.Cmds[ci].Pipe > 0 && ci > 0 {
		prev := sh.Cmds[ci-1].Words
		if len(prev) > 1 && (prev[0] == "echo" || prev[0] == "printf") {
			input = strings.Join(prev[1:], " ")
		}
	}
	if xr.repl != "" {
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], xr.repl, input)
		}
	} else if input != "" {
		args = append(args, input)
	}
	return args
}

// firstWordIndex finds the word that effective() took as the command.
func firstWordIndex(ws []string, name string) int {
	for i, w := range ws {
		if path.Base(w) == name {
			return i
		}
	}
	return 0
}

func isScriptPath(name string) bool {
	return strings.HasSuffix(name, ".sh") || strings.HasSuffix(name, ".bash")
}

func resAll(xs []string, res func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = res(x)
	}
	return out
}

// xargsInfo records an xargs prefix.
type xargsInfo struct {
	used bool
	repl string
}

// effective strips command prefixes (sudo, env, time, timeout, xargs,
// docker run IMAGE for scanner images) and returns the program's base
// name and its arguments.
func effective(ws []string, env map[string]string) (string, []string, xargsInfo) {
	var xr xargsInfo
	for len(ws) > 0 {
		base := path.Base(ws[0])
		switch base {
		case "sudo":
			ws = ws[1:]
			for len(ws) > 0 && strings.HasPrefix(ws[0], "-") {
				if ws[0] == "-u" || ws[0] == "-g" {
					ws = ws[1:]
				}
				ws = ws[1:]
			}
		case "env":
			ws = ws[1:]
			for len(ws) > 0 {
				if n, v, ok := shell.SplitAssign(ws[0]); ok {
					env[n] = v
				} else if !strings.HasPrefix(ws[0], "-") {
					break
				}
				ws = ws[1:]
			}
		case "command", "type", "which", "hash":
			if base != "command" || len(ws) > 1 && (ws[1] == "-v" || ws[1] == "-V") {
				return "", nil, xr // looks a program up, does not run it
			}
			ws = ws[1:]
			for len(ws) > 0 && strings.HasPrefix(ws[0], "-") {
				ws = ws[1:]
			}
		case "time", "nice", "nohup", "exec", "stdbuf":
			ws = ws[1:]
			for len(ws) > 0 && strings.HasPrefix(ws[0], "-") {
				ws = ws[1:]
			}
		case "timeout":
			ws = ws[1:]
			for len(ws) > 0 && strings.HasPrefix(ws[0], "-") {
				ws = ws[1:]
			}
			if len(ws) > 0 {
				ws = ws[1:] // the duration
			}
		case "xargs":
			xr.used = true
			ws = ws[1:]
			for len(ws) > 0 && strings.HasPrefix(ws[0], "-") {
				f := ws[0]
				ws = ws[1:]
				switch {
				case f == "-I" || f == "-i" || f == "--replace":
					if len(ws) > 0 {
						xr.repl = ws[0]
						ws = ws[1:]
					} else if f == "-i" {
						xr.repl = "{}"
					}
				case strings.HasPrefix(f, "-I"):
					xr.repl = f[2:]
				case f == "-n" || f == "-L" || f == "-P" || f == "-d" || f == "-s" || f == "-E" || f == "-a":
					if len(ws) > 0 {
						ws = ws[1:]
					}
				}
			}
		case "docker", "podman", "nerdctl":
			if len(ws) > 2 && ws[1] == "run" {
				pos := dockerRunImage(ws[2:])
				if pos >= 0 {
					rest := ws[2+pos+1:]
					if ep := runEntrypoint(ws[2 : 2+pos]); ep != "" {
						// --entrypoint cosign IMAGE sign …: the entrypoint runs.
						ws = append([]string{ep}, rest...)
						continue
					}
					if tool := toolImage(ws[2+pos]); tool != "" {
						// The image's entrypoint is the tool; some invoke it by name.
						if len(rest) > 0 && path.Base(rest[0]) == tool {
							rest = rest[1:]
						}
						return tool, slices.Clone(rest), xr
					}
					if len(rest) > 0 {
						// docker run alpine sh -c '… cosign sign …': the
						// container's command is read as a command here.
						ws = slices.Clone(rest)
						continue
					}
				}
			}
			return base, slices.Clone(ws[1:]), xr
		case "go":
			// go run ./cmd/readiness …; go run github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 sign …
			if len(ws) > 2 && ws[1] == "run" {
				i := 2
				for i < len(ws) && strings.HasPrefix(ws[i], "-") {
					i++
				}
				if i < len(ws) {
					pkg, _, _ := strings.Cut(strings.TrimSuffix(ws[i], "/"), "@")
					switch tool := path.Base(pkg); {
					case strings.HasSuffix(pkg, "readiness"):
						return "readiness", slices.Clone(ws[i+1:]), xr
					case goRunTools[tool]:
						return tool, slices.Clone(ws[i+1:]), xr
					}
				}
			}
			return base, slices.Clone(ws[1:]), xr
		default:
			if strings.HasPrefix(base, "readiness") && !strings.Contains(base, ".") {
				base = "readiness" // readiness_linux_amd64, …
			}
			return base, slices.Clone(ws[1:]), xr
		}
	}
	return "", nil, xr
}

var dockerRunValueFlags = map[string]bool{
	"-v": true, "--volume": true, "-e": true, "--env": true, "--env-file": true, "-w": true, "--workdir": true,
	"--name": true, "--network": true, "--net": true, "-u": true, "--user": true, "--entrypoint": true,
	"--platform": true, "--mount": true, "-p": true, "--publish": true, "--add-host": true, "--cpus": true,
	"-m": true, "--memory": true, "--pull": true, "-l": true, "--label": true, "--cidfile": true, "--device": true,
	"--dns": true, "-h": true, "--hostname": true, "--ipc": true, "--log-driver": true, "--pid": true,
	"--restart": true, "--runtime": true, "--security-opt": true, "--shm-size": true, "--tmpfs": true,
	"--ulimit": true, "--userns": true, "--volumes-from": true, "--gpus": true, "--cap-add": true,
	"--cap-drop": true, "--group-add": true,
}

// runEntrypoint is the --entrypoint among docker run's flags, if any.
func runEntrypoint(flags []string) string {
	for i, f := range flags {
		if v, ok := strings.CutPrefix(f, "--entrypoint="); ok {
			return v
		}
		if f == "--entrypoint" && i+1 < len(flags) {
			return flags[i+1]
		}
	}
	return ""
}

// dockerRunImage returns the index of the image among docker run's
// arguments, or -1.
func dockerRunImage(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return i
		}
		if !strings.Contains(a, "=") && dockerRunValueFlags[a] {
			i++
		}
	}
	return -1
}

// parseArgs splits arguments into positionals and flags; flags listed in
// valueFlags take the next argument as their value unless written --f=v.
func parseArgs(args []string, valueFlags map[string]bool) ([]string, map[string]string) {
	var pos []string
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			return pos, flags
		case strings.HasPrefix(a, "-") && len(a) > 1:
			name, val, eq := strings.Cut(a, "=")
			if !strings.HasPrefix(name, "--") && len(name) > 2 && valueFlags["-"+name] {
				name = "-" + name // -key: Go's flag package style, as cosign v1 documented
			}
			switch {
			case eq:
				flags[name] = val
			case valueFlags[name] && i+1 < len(args):
				if prev, ok := flags[name]; ok && prev != "" {
					flags[name] = prev + "\n" + args[i+1]
				} else {
					flags[name] = args[i+1]
				}
				i++
			default:
				flags[name] = "true"
			}
		default:
			pos = append(pos, a)
		}
	}
	return pos, flags
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	// cosign, trivy and grype flags come from the tools' own definitions
	// (toolflags, generated); readiness's and docker's are ours or stable.
	cosignValueFlags    = toolflags.Cosign()
	trivyValueFlags     = toolflags.Trivy()
	grypeValueFlags     = toolflags.Grype()
	readinessValueFlags = set("-f", "--format", "-o", "--output", "-c", "--config", "-p", "--policy", "--only",
		"--timeout", "--input", "--oci-layout", "--trivy", "--platform", "--key", "--evidence", "--max-age",
		"--cache-dir", "--severity", "--scanners", "--report-dir", "--check",
		// image release / sign / verify: keyless, trust root, registry.
		"--identity-token", "--fulcio-url", "--oidc-issuer", "--oidc-client-id", "--oidc-provider", "--rekor-url",
		"--trusted-root", "--scan-check", "--result", "--network-timeout", "--certificate-identity",
		"--certificate-identity-regexp", "--certificate-oidc-issuer", "--certificate-oidc-issuer-regexp")
	dockerBuildValueFlags = set("-t", "--tag", "-f", "--file", "--platform", "--build-arg", "--target", "-o",
		"--output", "--cache-from", "--cache-to", "--label", "--secret", "--ssh", "--progress", "--builder",
		"--iidfile", "--metadata-file", "--network", "--annotation", "--build-context", "--shm-size", "--ulimit",
		"--add-host", "--cgroup-parent", "--allow", "--attest")
)

func readinessOutput(flags map[string]string) string {
	if flags["--output"] != "" {
		return flags["--output"]
	}
	return flags["-o"]
}

func flagOf(flags map[string]string, names ...string) (string, bool) {
	for _, n := range names {
		if v, ok := flags[n]; ok {
			return v, true
		}
	}
	return "", false
}

// trivyCmd classifies `trivy SUBCOMMAND … TARGET`.
func (a *Interpreter) trivyCmd(w *jobWalk, s *graph.Step, sc graph.Scope, args []string, mk func(Kind, string) *Event,
	envOf func(string) (string, bool), res func(string) string) {
	pos, flags := parseArgs(args, trivyValueFlags)
	if len(pos) == 0 {
		return
	}
	kind := ""
	switch pos[0] {
	case "image", "i":
		kind = "image"
	case "fs", "filesystem", "rootfs", "repo", "repository", "vm":
		kind = "fs"
	case "sbom":
		kind = "sbom"
	default:
		return // config, k8s, plugin, version, db …
	}
	if sc, ok := flagOf(flags, "--scanners"); ok && !strings.Contains(sc, "vuln") {
		return
	}
	e := mk(Scan, "trivy "+pos[0])
	switch {
	case flags["--input"] != "":
		e.Written, e.Target, e.TKind = flags["--input"], res(flags["--input"]), "tar"
	case len(pos) >= 2:
		e.Written, e.Target, e.TKind = pos[len(pos)-1], res(pos[len(pos)-1]), kind
	default:
		e.TKind = "unknown"
	}
	cfgPath, _ := flagOf(flags, "-c", "--config")
	if cfgPath == "" {
		cfgPath, _ = envOf("TRIVY_CONFIG")
	}
	def := path.Join(workDir(s), "trivy.yaml")
	cfg := a.toolConfig(res(cfgPath), def)
	exit, hasExit := flags["--exit-code"]
	src := "--exit-code"
	if hasExit {
		exit = res(exit)
	} else if v, ok := envOf("TRIVY_EXIT_CODE"); ok {
		exit, hasExit, src = v, true, "TRIVY_EXIT_CODE"
	} else if v, ok := cfg["exit-code"]; ok {
		exit, hasExit, src = fmt.Sprint(v), true, "exit-code in "+a.configName(cfgPath, def)
	}
	e.ToolBlocking, e.ToolReasons = exitCodeBlocking(exit, hasExit, src, "the trivy command")
	flagVal := func(f string) (string, bool) {
		v, ok := flags[f]
		return res(v), ok
	}
	if r := w.configWritten(res(cfgPath), def); r != "" {
		e.ToolReasons = append(e.ToolReasons, r)
	}
	e.ToolReasons = append(e.ToolReasons, a.ignoreReasons(w, workDir(s), trivyIgnoreInputs(flagVal, envOf, cfg, nil))...)
	sev, hasSev := flagOf(flags, "-s", "--severity")
	sevSrc := "--severity"
	if hasSev {
		sev = res(sev)
	} else if v, ok := envOf("TRIVY_SEVERITY"); ok {
		sev, hasSev, sevSrc = v, true, "TRIVY_SEVERITY"
	} else if v, ok := cfg["severity"]; ok {
		sev, hasSev, sevSrc = yamlWords(v), true, "severity in "+a.configName(cfgPath, def)
	}
	e.Severities, e.SevGap = trivySeverities(sev, hasSev, sevSrc)
	if p, ok := flags["--platform"]; ok {
		e.ScanPlatforms = a.platformValues(w.Job, res(p))
	} else if p, ok := envOf("TRIVY_PLATFORM"); ok {
		e.ScanPlatforms = a.platformValues(w.Job, p)
	}
	out, _ := flagOf(flags, "-o", "--output")
	format, _ := flagOf(flags, "-f", "--format")
	if out != "" {
		e.Output = res(out)
	} else if format == "sarif" {
		e.Output = "(sarif on stdout)"
	}
	w.emit(e)
}

// grypeCmd classifies `grype TARGET`.
func (a *Interpreter) grypeCmd(w *jobWalk, s *graph.Step, sc graph.Scope, args []string, mk func(Kind, string) *Event,
	envOf func(string) (string, bool), res func(string) string) {
	pos, flags := parseArgs(args, grypeValueFlags)
	if len(pos) == 0 {
		return
	}
	switch pos[0] {
	case "db", "version", "explain", "completion", "config", "help":
		return
	}
	e := mk(Scan, "grype")
	t := pos[0]
	e.Written = t
	switch {
	case strings.HasPrefix(t, "dir:") || strings.HasPrefix(t, "file:") || t == "." || strings.HasPrefix(t, "./"):
		e.TKind, e.Target = "fs", res(strings.TrimPrefix(strings.TrimPrefix(t, "dir:"), "file:"))
	case strings.HasPrefix(t, "sbom:"):
		e.TKind, e.Target = "sbom", res(strings.TrimPrefix(t, "sbom:"))
	case strings.HasPrefix(t, "docker-archive:") || strings.HasPrefix(t, "oci-archive:") || strings.HasPrefix(t, "oci-dir:"):
		_, rest, _ := strings.Cut(t, ":")
		e.TKind, e.Target = "tar", res(rest)
	default:
		for _, scheme := range []string{"registry:", "docker:", "podman:"} {
			t = strings.TrimPrefix(t, scheme)
		}
		e.TKind, e.Target = "image", res(t)
	}
	cfgPath, _ := flagOf(flags, "-c", "--config")
	cfg := a.toolConfig(res(cfgPath), path.Join(workDir(s), ".grype.yaml"))
	failOn, ok := flagOf(flags, "-f", "--fail-on")
	src := "--fail-on"
	if !ok {
		if v, found := envOf("GRYPE_FAIL_ON_SEVERITY"); found {
			failOn, ok, src = v, true, "GRYPE_FAIL_ON_SEVERITY"
		} else if v, found := cfg["fail-on-severity"]; found {
			failOn, ok, src = fmt.Sprint(v), true, "fail-on-severity in .grype.yaml"
		}
	} else {
		failOn = res(failOn)
	}
	if !ok || failOn == "" {
		e.ToolReasons = []string{"grype has no --fail-on, so it exits 0 whatever it finds"}
	} else {
		e.ToolBlocking = true
		e.Severities, e.SevGap = grypeThreshold(failOn, src)
	}
	if r := w.configWritten(res(cfgPath), path.Join(workDir(s), ".grype.yaml")); r != "" {
		e.ToolReasons = append(e.ToolReasons, r)
	}
	e.ToolReasons = append(e.ToolReasons, a.grypeIgnores(w, s, cfgPath, cfg, flags["--vex"], res)...)
	if p, ok := flags["--platform"]; ok {
		e.ScanPlatforms = a.platformValues(w.Job, res(p))
	}
	if f, ok := flags["--file"]; ok {
		e.Output = res(f)
	} else if o, _ := flagOf(flags, "-o", "--output"); strings.HasPrefix(o, "sarif") {
		if _, file, ok := strings.Cut(o, "="); ok {
			e.Output = res(file)
		} else {
			e.Output = "(sarif on stdout)"
		}
	}
	w.emit(e)
}

// dockerCmd classifies docker/podman/buildah pushes and builds.
func (a *Interpreter) dockerCmd(w *jobWalk, s *graph.Step, sc graph.Scope, name string, args []string, mk func(Kind, string) *Event, res func(string) string) {
	if len(args) == 0 {
		return
	}
	sub := args
	if sub[0] == "buildx" || sub[0] == "image" {
		sub = sub[1:]
	}
	if len(sub) == 0 {
		return
	}
	switch {
	case sub[0] == "push":
		vf := set("--platform", "--format", "-f", "--creds", "--authfile", "--digestfile")
		for f := range signByFlags {
			vf[f] = true
		}
		pos, flags := parseArgs(sub[1:], vf)
		if len(pos) == 0 {
			return
		}
		dst := pos[len(pos)-1]
		e := mk(Push, name+" push")
		e.Written, e.Target, e.TKind = dst, res(dst), "image"
		e.Tags = []string{e.Target}
		e.Release = !stagingTag(imageref.Parse(e.Target).Tag)
		w.emit(e)
		if f := signBy(flags); f != "" {
			// podman push --sign-by-sigstore-private-key …: signs as it pushes.
			s := mk(Sign, name+" push "+f)
			s.Written, s.Target, s.TKind = e.Written, e.Target, "image"
			w.emit(s)
		}
	case sub[0] == "build" || sub[0] == "bud":
		pos, flags := parseArgs(sub[1:], dockerBuildValueFlags)
		tags, _ := flagOf(flags, "-t", "--tag")
		out, _ := flagOf(flags, "-o", "--output")
		kind := Build
		lo := strings.ToLower(out)
		if flags["--push"] == "true" || strings.Contains(lo, "type=registry") || strings.Contains(lo, "push=true") {
			kind = Push
		}
		e := mk(kind, name+" "+strings.Join(args[:len(args)-len(sub)+1], " "))
		for _, t := range strings.Split(tags, "\n") {
			if t != "" {
				e.Tags = append(e.Tags, res(t))
			}
		}
		e.Written = tags
		e.Release = kind == Push && a.releaseTags(w, e.Tags, out)
		e.Platforms = res(flags["--platform"])
		ctx := ""
		if len(pos) > 0 {
			ctx = pos[len(pos)-1]
		}
		file, _ := flagOf(flags, "-f", "--file")
		e.Inputs = "context=" + res(ctx) + ";file=" + res(file) + ";target=" + res(flags["--target"]) + ";build-args=" + res(flags["--build-arg"])
		if strings.Contains(lo, "type=docker") || strings.Contains(lo, "type=oci") || strings.Contains(lo, "type=tar") {
			e.Target, e.TKind = res(outputDest(out)), "tar"
		}
		w.emit(e)
	case sub[0] == "imagetools" && len(sub) > 1 && sub[1] == "create":
		_, flags := parseArgs(sub[2:], set("-t", "--tag", "-f", "--file", "--annotation", "--builder", "--progress"))
		tags, _ := flagOf(flags, "-t", "--tag")
		e := mk(Push, name+" buildx imagetools create")
		for _, t := range strings.Split(tags, "\n") {
			if t != "" {
				e.Tags = append(e.Tags, res(t))
			}
		}
		e.Written = tags
		e.TKind = "image"
		e.Release = a.releaseTags(w, e.Tags, "")
		w.emit(e)
	case sub[0] == "save":
		pos, flags := parseArgs(sub[1:], set("-o", "--output", "--platform"))
		out, _ := flagOf(flags, "-o", "--output")
		if out == "" || len(pos) == 0 {
			return
		}
		e := mk(Build, name+" save")
		e.Target, e.TKind = res(out), "tar"
		for _, p := range pos {
			e.Tags = append(e.Tags, res(p))
		}
		w.emit(e)
	case sub[0] == "tag" && len(sub) == 3:
		// docker tag SRC DST names an image the job built by another tag:
		// DST then comes from SRC's build (a scan of DST is a scan of it).
		src := res(sub[1])
		for i := len(w.events) - 1; i >= 0; i-- {
			b := w.events[i]
			if (b.Kind == Build || b.Kind == Push) && slices.Contains(b.Tags, src) {
				e := mk(Build, name+" tag")
				e.Tags, e.Written = []string{res(sub[2])}, sub[2]
				e.Platforms, e.Inputs, e.Target, e.TKind = b.Platforms, b.Inputs, b.Target, b.TKind
				w.emit(e)
				break
			}
		}
	case sub[0] == "trust" && len(sub) > 2 && sub[1] == "sign":
		e := mk(Sign, name+" trust sign")
		e.Written, e.Target, e.TKind = sub[len(sub)-1], res(sub[len(sub)-1]), "image"
		w.emit(e)
	}
}

// signCmd classifies cosign's and notation's signing subcommands: every
// image argument of cosign sign A B is signed; cosign attach
// signature|attestation IMAGE signs what cosign generate made elsewhere.
func signCmd(w *jobWalk, name string, args []string, mk func(Kind, string) *Event, res func(string) string) {
	emit := func(tool, written string, blob bool) {
		e := mk(Sign, tool)
		e.Written, e.Target, e.TKind = written, res(written), "image"
		if blob {
			e.TKind, e.Blob = "blob", true
		}
		w.emit(e)
	}
	if name == "notation" {
		pos, _ := parseArgs(args, map[string]bool{"--key": true, "-k": true, "--signature-format": true, "--plugin-config": true, "--id": true, "--plugin": true, "-u": true, "--username": true, "-p": true, "--password": true})
		if len(pos) >= 2 && pos[0] == "sign" {
			emit("notation sign", pos[1], false)
		}
		return
	}
	pos, _ := parseArgs(args, cosignValueFlags)
	if len(pos) < 2 {
		return
	}
	switch pos[0] {
	case "sign", "attest":
		for _, t := range pos[1:] {
			emit("cosign "+pos[0], t, false)
		}
	case "sign-blob", "attest-blob":
		emit("cosign "+pos[0], pos[1], true)
	case "attach":
		if len(pos) >= 3 && (pos[1] == "signature" || pos[1] == "attestation") {
			emit("cosign attach "+pos[1], pos[2], false)
		}
	}
}

// readinessCmd classifies readiness image scan / release / sign and check.
func (a *Interpreter) readinessCmd(w *jobWalk, args []string, mk func(Kind, string) *Event, res func(string) string) {
	pos, flags := parseArgs(args, readinessValueFlags)
	switch {
	case len(pos) >= 2 && pos[0] == "image" && pos[1] == "scan":
		if sc, ok := flags["--scanners"]; ok && !strings.Contains(sc, "vuln") {
			return
		}
		e := mk(Scan, "readiness image scan")
		e.ToolBlocking = true
		if sev, ok := flags["--severity"]; ok {
			e.Severities, e.SevGap = trivySeverities(res(sev), true, "--severity")
		}
		if p, ok := flags["--platform"]; ok {
			e.ScanPlatforms = a.platformValues(w.Job, res(p))
		} else {
			e.AllPlatforms = true
		}
		switch {
		case flags["--input"] != "":
			e.Written, e.Target, e.TKind = flags["--input"], res(flags["--input"]), "tar"
		case flags["--oci-layout"] != "":
			e.Written, e.Target, e.TKind = flags["--oci-layout"], res(flags["--oci-layout"]), "tar"
		case len(pos) >= 3:
			e.Written, e.Target, e.TKind = pos[2], res(pos[2]), "image"
		default:
			e.TKind = "unknown"
		}
		e.Output = readinessOutput(flags)
		w.emit(e)
	case len(pos) >= 2 && pos[0] == "image" && (pos[1] == "release" || pos[1] == "sign"):
		e := mk(Sign, "readiness image "+pos[1])
		e.SelfGated = true
		if len(pos) >= 3 {
			e.Written, e.Target = pos[2], res(pos[2])
		}
		e.TKind = "image"
		w.emit(e)
	case len(pos) >= 1 && pos[0] == "check":
		e := mk(Scan, "readiness check")
		e.ToolBlocking, e.AllPlatforms = true, true
		e.TKind = "gates"
		e.Output = readinessOutput(flags)
		w.emit(e)
	}
}

// pushCmd classifies crane, skopeo and ko pushes.
func (a *Interpreter) pushCmd(w *jobWalk, name string, args []string, mk func(Kind, string) *Event, res func(string) string) {
	switch name {
	case "crane", "gcrane":
		pos, _ := parseArgs(args, map[string]bool{"--platform": true, "-t": true, "--tag": true})
		var dst string
		switch {
		case len(pos) >= 3 && pos[0] == "push":
			dst = pos[2]
		case len(pos) >= 3 && (pos[0] == "copy" || pos[0] == "cp"):
			dst = pos[2]
		case len(pos) >= 3 && pos[0] == "tag":
			dst = imageref.Parse(pos[1]).Repo + ":" + pos[2]
		default:
			return
		}
		e := mk(Push, name+" "+pos[0])
		e.Written, e.Target, e.TKind = dst, res(dst), "image"
		e.Tags = []string{e.Target}
		e.Release = !stagingTag(imageref.Parse(e.Target).Tag)
		w.emit(e)
		return
	case "skopeo":
		vf := map[string]bool{"--src-creds": true, "--dest-creds": true, "--authfile": true, "--format": true, "-f": true}
		for f := range signByFlags {
			vf[f] = true
		}
		pos, flags := parseArgs(args, vf)
		if len(pos) >= 3 && pos[0] == "copy" && strings.HasPrefix(pos[2], "docker://") {
			e := mk(Push, "skopeo copy")
			e.Written, e.Target, e.TKind = pos[2], res(strings.TrimPrefix(pos[2], "docker://")), "image"
			e.Tags = []string{e.Target}
			e.Release = !stagingTag(imageref.Parse(e.Target).Tag)
			w.emit(e)
			if f := signBy(flags); f != "" {
				s := mk(Sign, "skopeo copy "+f)
				s.Written, s.Target, s.TKind = e.Written, e.Target, "image"
				w.emit(s)
			}
		}
		return
	case "ko":
		pos, flags := parseArgs(args, map[string]bool{"--tags": true, "-t": true, "--platform": true, "--image-refs": true, "--sbom": true})
		if len(pos) >= 1 && (pos[0] == "build" || pos[0] == "publish") && flags["--push"] != "false" {
			e := mk(Push, "ko "+pos[0])
			tags := flags["--tags"] + flags["-t"]
			e.TKind = "unknown"
			e.Release = tags == "" || !stagingTag(tags)
			w.emit(e)
		}
		return
	}
}

// signBy names the signing option among parsed flags, or "".
func signBy(flags map[string]string) string {
	for _, f := range []string{"--sign-by-sigstore-private-key", "--sign-by-sigstore", "--sign-by", "--sign-by-sq-fingerprint"} {
		if _, ok := flags[f]; ok {
			return f
		}
	}
	return ""
}

// shellState applies what a command does to the shell's variables —
// assignments, for-loop headers, export/declare, echo >> $GITHUB_ENV —
// and returns the command's own environment prefix; handled is set when
// the command does nothing else.
func (a *Interpreter) shellState(w *jobWalk, sc graph.Scope, c *shell.Cmd, res func(string) string) (map[string]string, bool) {
	cmdEnv := map[string]string{}
	for _, as := range c.Assigns {
		name, v := as.Name, res(as.Value)
		if as.Append {
			v = sc.Local[name] + v
		}
		if len(c.Words) == 0 {
			sc.Local[name] = v
		} else {
			cmdEnv[name] = v
		}
	}
	ws := slices.Clone(c.Words)
	if c.LoopVar != "" {
		var vals []string
		for _, x := range ws {
			vals = append(vals, res(x))
		}
		sc.Local[c.LoopVar] = strings.Join(vals, " ")
		return cmdEnv, true
	}
	if len(ws) == 0 {
		return cmdEnv, true
	}
	switch ws[0] {
	case "alias":
		// alias s=cosign: a later `s sign IMAGE` runs cosign. Kept beside
		// the shell's variables under a key no variable can have.
		for _, x := range ws[1:] {
			if n, v, ok := strings.Cut(x, "="); ok && n != "" {
				sc.Local[aliasKey(n)] = res(v)
			}
		}
		return cmdEnv, true
	case "export", "declare", "local", "readonly", "typeset":
		for _, x := range ws[1:] {
			if n, v, ok := shell.SplitAssign(x); ok {
				sc.Local[strings.TrimSuffix(n, "+")] = res(v)
			}
		}
		return cmdEnv, true
	}
	if x, ok := githubFileWrite(c, res); ok {
		w.recordWrite(sc.Step, x)
		return cmdEnv, true
	}
	if ws[0] == "echo" || ws[0] == "printf" {
		return cmdEnv, true
	}
	return cmdEnv, false
}

// aliasKey is where an alias is kept among the shell's variables.
func aliasKey(name string) string { return "\x00alias " + name }

// expandAliases replaces a command word that names an alias with the
// alias's text, as bash does (a few levels, an alias naming itself
// once). bash expands aliases in scripts only after `shopt -s
// expand_aliases`; they are always expanded here, so that signing
// behind an alias is seen (fail closed).
func expandAliases(ws []string, local map[string]string) []string {
	seen := map[string]bool{}
	for range 4 {
		if len(ws) == 0 || seen[ws[0]] {
			return ws
		}
		v, ok := local[aliasKey(ws[0])]
		if !ok {
			return ws
		}
		seen[ws[0]] = true
		f := strings.Fields(v)
		if len(f) == 0 {
			return ws[1:]
		}
		ws = append(f, ws[1:]...)
	}
	return ws
}
