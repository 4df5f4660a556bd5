//go:build windows

package procexec

import (
	"fmt"
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procTree is a job object holding the tool: every process it starts
// inherits the job, and closing or terminating the job kills them all
// (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE), so a readiness that dies too takes
// its tools with it.
//
// Weaker than the Unix process group in one way: the tool is assigned to
// the job just after it starts, so a child it spawned in that window (before
// the tool's own initialisation could normally run) would escape the job.
// Go's os/exec cannot start a process suspended and resume it.
type procTree struct {
	cmd *exec.Cmd
	job windows.Handle
	err error
}

func newProcTree(cmd *exec.Cmd) *procTree {
	t := &procTree{cmd: cmd}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		t.err = fmt.Errorf("create job object: %w", err)
		return t
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		t.err = fmt.Errorf("configure job object: %w", err)
		return t
	}
	t.job = job
	return t
}

// attach puts the started tool into the job. Failing to is an error: a
// tool whose children a timeout could not kill must not run.
func (t *procTree) attach() error {
	if t.err != nil {
		return t.err
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(t.cmd.Process.Pid))
	if err != nil {
		return fmt.Errorf("open process %d: %w", t.cmd.Process.Pid, err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(t.job, h); err != nil {
		return fmt.Errorf("assign process %d to job object: %w", t.cmd.Process.Pid, err)
	}
	return nil
}

func (t *procTree) kill() error {
	if t.job == 0 {
		return t.cmd.Process.Kill()
	}
	return windows.TerminateJobObject(t.job, 1)
}

func (t *procTree) close() {
	if t.job != 0 {
		windows.CloseHandle(t.job)
		t.job = 0
	}
}
