package qemu

import "errors"

// Sentinel errors, tested with errors.Is; the wrapping messages carry the
// details (the field, the path, the PID, QEMU's stderr).
var (
	// ErrInvalidSpec: a Spec or Paths value that cannot become a command
	// line. The message names the field and the value.
	ErrInvalidSpec = errors.New("invalid VM spec")
	// ErrAlreadyRunning: Start found a live QEMU for this VM in its dir.
	ErrAlreadyRunning = errors.New("VM is already running")
	// ErrNotRunning: Attach found no live QEMU for this VM (no pidfile, a
	// dead PID, or a PID that is not this VM's QEMU).
	ErrNotRunning = errors.New("VM is not running")
	// ErrExited: QEMU exited (during start, or while a command waited).
	ErrExited = errors.New("QEMU exited")
	// ErrQMPTimeout: QMP did not answer in time. The connection stays
	// usable: a late answer is read and dropped, never taken for the next
	// command's.
	ErrQMPTimeout = errors.New("QMP timeout")
	// ErrQMPClosed: the QMP connection is closed (QEMU exited or Close).
	ErrQMPClosed = errors.New("QMP connection closed")
	// ErrClosed: the Instance handle was closed (detached).
	ErrClosed = errors.New("instance handle closed")
	// ErrKVMUnavailable: the accelerator kvm was asked for explicitly but
	// /dev/kvm cannot be opened.
	ErrKVMUnavailable = errors.New("KVM unavailable")
	// ErrEscape: the console user typed the escape key (Ctrl-]).
	ErrEscape = errors.New("console escape")
)
