package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"davit/cgroup"
)

// CgroupParent is a cgroup parent name of the test's own for an agent, so
// agents of concurrent tests (and a real agent's "davit") never share one.
func CgroupParent(name string) string {
	return fmt.Sprintf("davit-e2e-%d-%s", os.Getpid(), name)
}

// CleanupVMs ends what an agent's VMs left behind once the agent is
// killed: every QEMU whose pidfile is under dataDir/vms (killed by PID,
// after checking that its command line names that VM's directory), then
// the VM cgroups and the parent cgroup named parent. Register it with
// t.Cleanup before the agent's own kill, so it runs after it.
func CleanupVMs(t testing.TB, dataDir, parent string) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(dataDir, "vms", "*"))
	for _, dir := range dirs {
		if err := killQEMU(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	mgr, err := cgroup.New(cgroup.Config{Parent: parent})
	if err != nil {
		return // no cgroups here: nothing was made
	}
	uids, _ := mgr.List()
	for _, uid := range uids {
		// A killed QEMU's last threads may still be leaving the group
		// (freeing guest memory) after its main thread is a zombie.
		err := mgr.Delete(uid)
		for deadline := time.Now().Add(10 * time.Second); errors.Is(err, cgroup.ErrBusy) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			err = mgr.Delete(uid)
		}
		if err != nil {
			t.Errorf("cleanup: delete cgroup of VM %s: %v", uid, err)
		}
	}
	if err := mgr.Destroy(); err != nil && !errors.Is(err, cgroup.ErrNotFound) {
		t.Errorf("cleanup: remove cgroup parent %s: %v", parent, err)
	}
}

// killQEMU kills the QEMU of one VM directory, if it still runs.
func killQEMU(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "qemu.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
		return nil // gone, or the PID was reused by another process
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill QEMU %d of %s: %w", pid, dir, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return nil
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && bytes.Contains(st, []byte(") Z ")) {
			return nil // a zombie of some other parent: dead
		}
	}
	return fmt.Errorf("QEMU %d of %s survived SIGKILL", pid, dir)
}

// ShortTempDir returns a new directory with a short path, removed when the
// test ends (after cleanups registered later, such as CleanupVMs). An
// agent's VM sockets live in DATA/vms/<uid>/, and unix socket paths are
// limited to 107 bytes: t.TempDir's paths, named after the test, can be
// too long.
func ShortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dv")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
