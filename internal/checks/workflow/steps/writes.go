package steps

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/readiness-dev/readiness/internal/checks/workflow/graph"
	"github.com/readiness-dev/readiness/internal/checks/workflow/model"
	"github.com/readiness-dev/readiness/internal/checks/workflow/shell"
)

// Files a job writes at run time. A scanner's ignore file, ignore policy,
// VEX document or config that an earlier command of the job writes
// (printf '*' > .trivyignore, echo CVE >> .trivyignore, curl -o, cp) is
// not the file in the repository: what the scan drops is computed at run
// time and cannot be seen. Jobs run on fresh runners, so a write reaches
// only the rest of its own job.

// fileWrites returns the files a command writes, resolved by res: output
// redirections, tee, the destination of cp/mv/install/ln/rsync, the files
// of sed -i/perl -i, curl -o/--output, wget -O, dd of=.
func fileWrites(c *shell.Cmd, res func(string) string) []string {
	var out []string
	for _, r := range c.Redirs {
		switch r.Op {
		case ">", ">>", ">|", "&>", "&>>":
			out = append(out, res(r.Target))
		}
	}
	ws := c.Words
	if len(ws) == 0 {
		return out
	}
	name, args, _ := effective(ws, map[string]string{})
	var pos []string
	for _, x := range args {
		if !strings.HasPrefix(x, "-") {
			pos = append(pos, x)
		}
	}
	switch name {
	case "tee":
		out = append(out, resAll(pos, res)...)
	case "cp", "mv", "install", "ln", "rsync", "scp":
		if t := targetDir(args); t != "" {
			out = append(out, res(t))
		} else if len(pos) >= 2 {
			out = append(out, res(pos[len(pos)-1]))
		}
	case "sed", "perl", "yq":
		if inPlace(args) && len(pos) >= 2 {
			out = append(out, resAll(pos[1:], res)...) // the first is the script
		}
	case "curl", "wget", "gh":
		for i, x := range args {
			v, ok := "", false
			switch {
			case (x == "-o" || x == "--output" || x == "-O" || x == "--output-document") && i+1 < len(args) && !(name == "curl" && x == "-O"):
				v, ok = args[i+1], true
			case strings.HasPrefix(x, "--output="), strings.HasPrefix(x, "--output-document="):
				_, v, ok = strings.Cut(x, "=")
			case name == "curl" && strings.HasPrefix(x, "-") && !strings.HasPrefix(x, "--") && strings.HasSuffix(x, "o") && i+1 < len(args):
				v, ok = args[i+1], true // -fsSLo FILE
			}
			if ok {
				out = append(out, res(v))
			}
		}
	case "dd":
		for _, x := range args {
			if v, ok := strings.CutPrefix(x, "of="); ok {
				out = append(out, res(v))
			}
		}
	}
	return out
}

// targetDir is cp/mv's -t DIR (--target-directory=DIR): a write into DIR,
// recorded as the directory itself.
func targetDir(args []string) string {
	for i, x := range args {
		if v, ok := strings.CutPrefix(x, "--target-directory="); ok {
			return v + "/"
		}
		if x == "-t" && i+1 < len(args) {
			return args[i+1] + "/"
		}
	}
	return ""
}

// inPlace reports sed -i / perl -i / yq -i (also -i.bak, --in-place).
func inPlace(args []string) bool {
	for _, x := range args {
		if x == "--in-place" || strings.HasPrefix(x, "--in-place=") || strings.HasPrefix(x, "-i") ||
			strings.HasPrefix(x, "-") && !strings.HasPrefix(x, "--") && strings.Contains(x, "i") && len(x) <= 4 {
			return true
		}
	}
	return false
}

// noteFileWrites records the files command c of step s writes, relative
// to the repository root, with where.
func (w *jobWalk) noteFileWrites(s *graph.Step, c *shell.Cmd, res func(string) string, line int, script string) {
	for _, p := range fileWrites(c, res) {
		if p == "" || strings.HasPrefix(p, "/dev/") {
			continue
		}
		if w.files == nil {
			w.files = map[string]string{}
		}
		at := fmt.Sprintf("%s:%d", s.Def.Path, line)
		if script != "" {
			at += " (" + script + ")"
		}
		w.files[repoPath(workDir(s), p)] = fmt.Sprintf("by step %s at %s", model.DisplayStep(s.Def), at)
	}
}

// repoPath makes p, as a step in dir names it, relative to the repository.
func repoPath(dir, p string) string {
	if path.IsAbs(p) || strings.ContainsAny(p, "$`") {
		return path.Clean(p)
	}
	return path.Join(dir, p)
}

// writtenBefore says which earlier command of the job wrote the file p
// (relative to the repository) or a file of the same name — a script may
// cd first —, or "" when none did.
func (w *jobWalk) writtenBefore(p string) string {
	if w == nil || len(w.files) == 0 || p == "" {
		return ""
	}
	p = path.Clean(p)
	if by, ok := w.files[p]; ok {
		return by
	}
	base := path.Base(p)
	for _, q := range slices.Sorted(maps.Keys(w.files)) {
		if path.Base(q) == base || strings.HasSuffix(q, "/") && path.Join(q, base) == p {
			return w.files[q]
		}
	}
	return ""
}

// configWritten is the reason a scan is not blocking when its config file
// (explicit, else the default) is written earlier in the job.
func (w *jobWalk) configWritten(p, def string) string {
	if p == "" {
		p = def
	}
	if by := w.writtenBefore(p); by != "" {
		return fmt.Sprintf("its config %s is written at run time (%s), so the settings and ignores in it cannot be seen", quote(p), by)
	}
	return ""
}
