package shell

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Stops reports whether a failing command stops its script with a
// failure, and if not, why.
func (sc *Script) Stops(ci int) (bool, string) {
	c := sc.Cmds[ci]
	name := strings.Join(firstWords(c.Words, 2), " ")
	end := min(max(c.PipeLast, ci), len(sc.Cmds)-1)
	last := sc.Cmds[end]
	if trap := sc.successTrap(ci); trap != "" {
		return false, fmt.Sprintf("`%s` turns `%s`'s failure into success", trap, name)
	}
	switch {
	case c.Subst:
		return false, fmt.Sprintf("`%s` runs inside a command substitution $(…), whose failure does not stop the script", name)
	case c.Cond:
		if c.FailExits {
			return true, ""
		}
		return false, fmt.Sprintf("`%s` is the condition of an if/while that does not exit on failure", name)
	case c.Background || last.Op == "&" || last.Background:
		return false, fmt.Sprintf("`%s` runs in the background (&)", name)
	case c.Negated:
		return false, fmt.Sprintf("`%s` is negated with !", name)
	case c.InList:
		return false, fmt.Sprintf("`%s` is inside a command list followed by && or ||, where errexit is ignored", name)
	case end > ci && !c.Pipefail:
		return false, fmt.Sprintf("`%s` is piped into `%s` without pipefail, so the pipeline's status is the last command's",
			name, strings.Join(firstWords(last.Words, 2), " "))
	}
	final := sc.Cmds[len(sc.Cmds)-1].List == c.List
	switch last.Op {
	case "||":
		if end+1 < len(sc.Cmds) {
			rhs := sc.Cmds[end+1]
			// `scan || exit 1`, or `scan || rc=$?` with rc tested and
			// exited on afterwards.
			if sc.rhsExits(end+1) || sc.StatusChecked(end) {
				return true, ""
			}
			return false, fmt.Sprintf("`%s || %s` carries on when the scan fails", name, strings.Join(firstWords(rhs.Words, 3), " "))
		}
	case "&&":
		if !final {
			return false, fmt.Sprintf("`%s` is followed by && and more commands: a failure inside an && list does not stop the script (errexit ignores it)", name)
		}
	}
	if !c.Errexit && !final {
		if sc.StatusChecked(end) {
			return true, ""
		}
		return false, fmt.Sprintf("errexit is off (set +e, or a script without set -e), so the script carries on after `%s` fails", name)
	}
	return true, ""
}

// successTrap is an ERR or EXIT trap set before command ci whose action
// exits 0 (`trap 'echo scan failed; exit 0' ERR`), still in force; "".
func (sc *Script) successTrap(ci int) string {
	var trap string
	for j := 0; j < ci; j++ {
		w := sc.Cmds[j].Words
		if len(w) < 3 || w[0] != "trap" {
			continue
		}
		for _, sig := range w[2:] {
			switch strings.TrimPrefix(strings.ToUpper(sig), "SIG") {
			case "ERR", "EXIT", "0":
				switch {
				case w[1] == "-" || w[1] == "":
					trap = "" // reset
				case exitZeroRE().MatchString(w[1]):
					trap = strings.Join(firstWords(w, 3), " ")
				}
			}
		}
	}
	return trap
}

var exitZeroRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bexit\s+0\b`) })

// StatusChecked reports whether the command after i tests $? and exits
// on failure: `exit $?`, `if [ $? -ne 0 ]; then exit 1; fi`, or
// `rc=$?` followed by `exit $rc` or an if on $rc that exits.
func (sc *Script) StatusChecked(i int) bool {
	if i+1 >= len(sc.Cmds) {
		return false
	}
	next := sc.Cmds[i+1]
	text := strings.Join(next.Words, " ")
	refs := []string{"$?"}
	if len(next.Words) == 0 {
		for _, as := range next.Assigns {
			if strings.Contains(as.Value, "$?") {
				refs = []string{"$" + as.Name, "${" + as.Name + "}"}
			}
		}
		if refs[0] == "$?" {
			return false
		}
	} else if !strings.Contains(text, "$?") {
		return false
	}
	mentions := func(c Cmd) bool {
		t := strings.Join(c.Words, " ")
		for _, r := range refs {
			if strings.Contains(t, r) {
				return true
			}
		}
		return false
	}
	for k := i + 1; k < len(sc.Cmds); k++ {
		c := sc.Cmds[k]
		if !mentions(c) {
			continue
		}
		if len(c.Words) > 0 && (c.Words[0] == "exit" || c.Words[0] == "return") && ExitsWithFailure(c.Words) {
			return true
		}
		if c.Cond && sc.BlockExits[c.Block] {
			return true
		}
		if c.Op == "||" || c.Op == "&&" {
			if k+1 < len(sc.Cmds) && ExitsWithFailure(sc.Cmds[k+1].Words) {
				return true
			}
		}
	}
	return false
}

// rhsExits reports whether the right-hand side of || exits with failure:
// `|| exit 1`, `|| false`, or a { … } group that exits.
func (sc *Script) rhsExits(i int) bool {
	rhs := sc.Cmds[i]
	if ExitsWithFailure(rhs.Words) {
		return true
	}
	if rhs.Group >= 0 && (i == 0 || sc.Cmds[i-1].Group != rhs.Group) {
		for k := i; k < len(sc.Cmds) && sc.Cmds[k].Group == rhs.Group; k++ {
			if ExitsWithFailure(sc.Cmds[k].Words) {
				return true
			}
		}
	}
	return false
}

// AndChain reports whether command to runs only if command from
// succeeded because they are joined by && in one list.
func (sc *Script) AndChain(from, to int) bool {
	if from >= to || to >= len(sc.Cmds) {
		return false
	}
	for k := from; k < to; k++ {
		c := sc.Cmds[k]
		if c.Op != "&&" || c.List != sc.Cmds[to].List || c.Subst != sc.Cmds[to].Subst {
			return false
		}
	}
	return true
}

func firstWords(ws []string, n int) []string {
	return ws[:min(n, len(ws))]
}
