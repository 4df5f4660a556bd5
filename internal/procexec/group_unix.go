//go:build unix

package procexec

import (
	"os/exec"
	"syscall"
)

// procTree is the process group the tool leads: its children inherit it,
// so one kill reaches them all.
type procTree struct{ cmd *exec.Cmd }

func newProcTree(cmd *exec.Cmd) *procTree {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &procTree{cmd: cmd}
}

// attach has nothing to do: Setpgid made the group at fork.
func (t *procTree) attach() error { return nil }

func (t *procTree) kill() error {
	// Negative pid: the whole process group, children included.
	return syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
}

func (t *procTree) close() {}
