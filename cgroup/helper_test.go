package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary a helper process instead of running tests.
const helperEnv = "DAVIT_CGROUP_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "threads" {
		threadsHelper()
		return
	}
	os.Exit(m.Run())
}

// threadsHelper locks two goroutines to their own OS threads, prints their
// TIDs on one line ("tids A B") and then blocks until killed. The threads
// stay alive and keep their identity, which is what pinning needs.
func threadsHelper() {
	tids := make(chan int, 2)
	for range 2 {
		go func() {
			runtime.LockOSThread()
			tids <- unix.Gettid()
			var spin atomic.Int64
			for {
				// Mostly asleep: the thread exists without using CPU.
				time.Sleep(50 * time.Millisecond)
				spin.Add(1)
			}
		}()
	}
	fmt.Printf("tids %d %d\n", <-tids, <-tids)
	select {}
}

// startThreads starts the helper and returns its PID and its two TIDs. The
// process is killed (by PID) and reaped when the test ends.
func startThreads(t *testing.T) (int, [2]int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=threads")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { kill(cmd) })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	var tids [2]int
	_, err = fmt.Sscanf(line, "tids %d %d", &tids[0], &tids[1])
	require.NoError(t, err, "helper said %q", line)
	return cmd.Process.Pid, tids
}

// startProcess starts argv and kills it by PID at the end of the test.
func startProcess(t *testing.T, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { kill(cmd) })
	return cmd
}

// kill ends a process this test started, by its PID, and reaps it.
func kill(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

// newTestManager returns a Manager with a parent of its own, so the tests
// never touch an agent's groups, and removes every group it holds when the
// test ends (after the processes are killed: cleanups run last-in
// first-out, so call it before starting processes).
func newTestManager(t *testing.T, cfg Config) Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to write cgroupfs")
	}
	if cfg.Parent == "" {
		cfg.Parent = fmt.Sprintf("davit-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	}
	m, err := New(cfg)
	if errors.Is(err, ErrNotSupported) {
		t.Skipf("cgroups: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { removeAll(t, m) })
	return m
}

// removeAll deletes every VM group of m and the parent.
func removeAll(t *testing.T, m Manager) {
	uids, err := m.List()
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, uid := range uids {
		if err := m.Delete(uid); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// cgroupFile reads one control file of a VM group.
func cgroupFile(t *testing.T, m Manager, uid, controller, file string) string {
	t.Helper()
	s, err := readString(filepath.Join(m.Dir(uid, controller), file))
	require.NoError(t, err)
	return s
}

// tasksOf reads the task list of a directory (v1 "tasks", v2 "cgroup.threads").
func tasksOf(t *testing.T, dir string) []int {
	t.Helper()
	f := "tasks"
	if !exists(filepath.Join(dir, f)) {
		f = "cgroup.threads"
	}
	tasks, err := readTasks(filepath.Join(dir, f))
	require.NoError(t, err)
	return tasks
}

// pidInGroup reports whether pid is listed in the group's cgroup.procs.
func pidInGroup(t *testing.T, dir string, pid int) bool {
	t.Helper()
	procs, err := readTasks(filepath.Join(dir, "cgroup.procs"))
	require.NoError(t, err)
	for _, p := range procs {
		if p == pid {
			return true
		}
	}
	return false
}
