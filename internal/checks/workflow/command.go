package workflow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/readiness-dev/readiness/internal/checks"
)

// command is `readiness workflow lint [DIR|FILE]`.
func command() *checks.Command {
	return &checks.Command{
		Group: "workflow", GroupShort: "Check CI workflows: every signing step must follow a blocking scan of the same image",
		Use:   "lint [DIR|FILE]",
		Short: "Prove that CI workflows scan, and block, before they sign or attest; print GO or NO-GO",
		Long: `Runs the workflow gate alone and prints the same verdict, findings and formats
as 'readiness check --only workflow'.

DIR defaults to the workflow check's dir in readiness.yaml, else
.github/workflows. A FILE analyses that workflow only (reusable workflows it
calls are still followed). Paths in findings are relative to the repository
root: the directory above .github/workflows, else the enclosing git
repository. Waivers and policy come from readiness.yaml when it exists.`,
		Example: `  readiness workflow lint
  readiness workflow lint .github/workflows/release.yml
  readiness workflow lint --format sarif --output workflow.sarif
  readiness workflow lint ../other-repo/.github/workflows --actionlint=false`,
		ConfigFlagUsage: "configuration `FILE` for waivers, policy and the workflow check's options (used when it exists)",
		MaxArgs:         1,
		ArgName:         "DIR|FILE",
		Args:            lintTarget,
		Flags: []checks.Flag{
			{Name: "actionlint", Key: "actionlint", Kind: checks.FlagBool, Default: true, Usage: "also run actionlint's rules (WF-ACTIONLINT findings, low severity)"},
			{Name: "max-file-bytes", Key: "max_file_bytes", Kind: checks.FlagBytes, Usage: "largest workflow, action or script file read: `SIZE` in bytes, or with a unit (512KiB, 1MiB, 2MB; default 1MiB)"},
		},
	}
}

// lintTarget points the check at the DIR or FILE named on the command
// line: its repository becomes the root, and the directory (and file) are
// relative to it.
func lintTarget(args []string) (map[string]any, error) {
	arg := args[0]
	abs, err := filepath.Abs(arg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	dir := abs
	if !st.IsDir() {
		dir = filepath.Dir(abs)
	}
	root := workflowRepoRoot(dir)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	set := map[string]any{"root": root, "dir": filepath.ToSlash(rel), "files": []string{}}
	if !st.IsDir() {
		set["dir"], set["files"] = filepath.ToSlash(filepath.Dir(rel)), []string{filepath.ToSlash(rel)}
	}
	return set, nil
}

// workflowRepoRoot finds the repository a workflows directory belongs to:
// the directory above .github/workflows, else the nearest directory with
// .git, else the directory itself.
func workflowRepoRoot(dir string) string {
	if filepath.Base(dir) == "workflows" && filepath.Base(filepath.Dir(dir)) == ".github" {
		return filepath.Dir(filepath.Dir(dir))
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
