package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Process is one process a test started; it is ended by its PID only.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// StartProcess starts cmd in its own process group with its output in log.
func StartProcess(cmd *exec.Cmd, log *LogBuffer) (*Process, error) {
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }() // ends when the process does
	return p, nil
}

// PID is the process ID (0 for a nil Process).
func (p *Process) PID() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Signal sends sig and waits for the exit; after 15 s it sends SIGKILL.
func (p *Process) Signal(sig syscall.Signal) {
	if p == nil {
		return
	}
	if exited, _ := p.Exited(); exited {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Exited reports whether the process has ended, and its exit code.
func (p *Process) Exited() (bool, int) {
	if p == nil {
		return false, 0
	}
	select {
	case <-p.done:
		return true, p.cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

// Wait waits up to d for the process to exit on its own.
func (p *Process) Wait(d time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return 0, false
	}
}

// String describes how the process ended.
func (p *Process) String() string { return fmt.Sprint(p.cmd.ProcessState) }

// RunCLI runs a davit CLI command with stdin and returns stdout, stderr and
// the exit code; err is set only when the command could not run at all.
func RunCLI(cmd *exec.Cmd, stdin string) (string, string, int, error) {
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode(), nil
	}
	return out.String(), errb.String(), 0, err
}
