package qemu

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// procWatch notices the exit of one process, child or not, at once: it
// polls a pidfd (readable when the process exits) together with a pipe
// that stop uses to end the watch early. Without pidfd_open (kernels
// before 5.3, some sandboxes) it falls back to checking /proc every 50 ms.
// Signals go through the pidfd too, so a recycled PID is never signalled.
type procWatch struct {
	pid          int
	pidfd        int // -1 in the fallback
	stopR, stopW int
	stopped      chan struct{} // closed when run returns
}

func newProcWatch(pid int) (*procWatch, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("watch pid %d: pipe: %w", pid, err)
	}
	w := &procWatch{pid: pid, pidfd: -1, stopR: p[0], stopW: p[1], stopped: make(chan struct{})}
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case err == nil:
		w.pidfd = fd
	case errors.Is(err, unix.ESRCH):
		// Already gone (and reaped): run reports the exit at once.
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		// No pidfd here: fall back to polling.
	default:
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, fmt.Errorf("watch pid %d: pidfd_open: %w", pid, err)
	}
	return w, nil
}

// run blocks until the process exits (it then reaps it when it is our
// child and returns its status, "" when unknown) or stop is called
// (exited false).
func (w *procWatch) run() (status string, exited bool) {
	defer close(w.stopped)
	if w.pidfd >= 0 {
		fds := []unix.PollFd{{Fd: int32(w.pidfd), Events: unix.POLLIN}, {Fd: int32(w.stopR), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err != nil && !errors.Is(err, unix.EINTR) {
				break // cannot poll: fall back below
			}
			if fds[1].Revents != 0 {
				return "", false
			}
			if fds[0].Revents != 0 {
				return reap(w.pid), true
			}
		}
	}
	fds := []unix.PollFd{{Fd: int32(w.stopR), Events: unix.POLLIN}}
	for processAlive(w.pid) {
		if n, _ := unix.Poll(fds, 50); n > 0 {
			return "", false
		}
	}
	return reap(w.pid), true
}

// stop ends run (if still running) and waits for it, then closes the fds.
// The caller must have started run, or close stopped itself.
func (w *procWatch) stop() {
	_, _ = unix.Write(w.stopW, []byte{0})
	<-w.stopped
	unix.Close(w.stopR)
	unix.Close(w.stopW)
	if w.pidfd >= 0 {
		unix.Close(w.pidfd)
	}
}

// signal sends sig to the process through the pidfd (never to a recycled
// PID); ESRCH when it has exited.
func (w *procWatch) signal(sig syscall.Signal) error {
	if w.pidfd >= 0 {
		return unix.PidfdSendSignal(w.pidfd, sig, nil, 0)
	}
	return unix.Kill(w.pid, sig)
}

// reap collects the exit status when the process is our child (QEMU we
// started in this process); for anyone else's it returns "".
func reap(pid int) string {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return ""
		}
		break
	}
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return "signal: " + ws.Signal().String()
	}
	return ""
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] != 'Z' && b[i+2] != 'X'
}

// isQEMUFor reports whether pid is a live QEMU serving qmpSocket: the
// binary's name holds "qemu" and its command line names that QMP socket.
// It guards Attach and Start against a recycled PID in a stale pidfile.
func isQEMUFor(pid int, qmpSocket string) bool {
	if !processAlive(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "qemu") {
		return false
	}
	want := "unix:" + esc(qmpSocket) + ","
	for _, a := range args {
		if strings.HasPrefix(a, want) {
			return true
		}
	}
	return false
}

// readPIDFile returns the PID QEMU wrote, 0 when the file is missing or
// not (yet) complete.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read pidfile: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" || !strings.HasSuffix(string(b), "\n") {
		return 0, nil
	}
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("read pidfile %s: bad content %q", path, s)
	}
	return pid, nil
}

// logTail returns the last lines (at most maxLines, from the last 8 KiB)
// of QEMU's log: what a status message shows when QEMU dies.
func logTail(path string, maxLines int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 8 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := st.Size() - window
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	n, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimSpace(string(buf[:n])), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first one is probably cut
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}
