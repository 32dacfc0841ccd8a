package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

// An agent restart: the handle is dropped (QMP closed, watcher stopped),
// QEMU runs on; Attach from the directory finds the same PID, the guest's
// tick counter has gone on, a second Start is refused, and Stop's ACPI
// power button powers the guest off.
func TestReattachAfterAgentRestart(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	cfg.PowerdownInterval = time.Second
	spec := SpecForTestGuest("reattach", "reattach-1", g.Dir)
	first := startGuest(t, cfg, spec)
	pid := first.PID()
	con := openConsole(t, first.Paths().ConsoleSocket())
	con.waitLine(t, readyRE, 30*time.Second)
	before := con.waitTick(t, 5*time.Second)
	con.conn.Close() // QEMU serves one console client at a time
	require.NoError(t, first.Close())
	require.True(t, processAlive(pid), "QEMU must outlive its handle")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Start(ctx, cfg, spec)
	require.ErrorIs(t, err, ErrAlreadyRunning)

	inst, err := Attach(ctx, cfg, first.Paths().Dir)
	require.NoError(t, err)
	defer inst.Close()
	require.Equal(t, pid, inst.PID())
	require.Equal(t, spec.WithDefaults(), inst.Spec())
	st, err := inst.Monitor().QueryStatus(ctx)
	require.NoError(t, err)
	require.True(t, st.Running)
	after := openConsole(t, inst.Paths().ConsoleSocket()).waitTick(t, 5*time.Second)
	require.Greater(t, after, before, "the guest kept running")

	t0 := time.Now()
	method, err := inst.Stop(ctx, 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, StopPowerdown, method)
	t.Logf("powered off in %v", time.Since(t0))
	exit := inst.Exit()
	require.NotNil(t, exit)
	require.True(t, exit.GuestPoweroff(), "%v", exit)
	require.False(t, exit.Crashed())
	require.Equal(t, "exit status 0", exit.Status)

	_, err = Attach(ctx, cfg, first.Paths().Dir)
	require.ErrorIs(t, err, ErrNotRunning)
	method, err = inst.Stop(ctx, time.Second)
	require.NoError(t, err)
	require.Equal(t, StopAlreadyExited, method)
}

// A guest that ignores the power button (no ACPI) is ended by quit after
// the grace period.
func TestStopQuitsWhenGuestIgnoresPowerdown(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	spec := SpecForTestGuest("noacpi", "noacpi-1", g.Dir)
	spec.DirectBoot.Append += " acpi=off"
	inst := startGuest(t, cfg, spec)
	openConsole(t, inst.Paths().ConsoleSocket()).waitLine(t, readyRE, 30*time.Second)
	t0 := time.Now()
	method, err := inst.Stop(context.Background(), 2*time.Second)
	require.NoError(t, err)
	require.Equal(t, StopQuit, method)
	require.Less(t, time.Since(t0), 10*time.Second)
	exit := inst.Exit()
	require.NotNil(t, exit.Shutdown)
	require.Equal(t, "host-qmp-quit", exit.Shutdown.Reason)
	require.False(t, exit.GuestPoweroff())
}

// QMP hangs (QEMU stopped with SIGSTOP): powerdown and quit time out and
// SIGKILL ends it.
func TestStopKillsWhenQMPHangs(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	cfg.QMPTimeout = time.Second
	cfg.KillTimeout = time.Second
	inst := startGuest(t, cfg, SpecForTestGuest("hang", "hang-1", g.Dir))
	require.NoError(t, syscall.Kill(inst.PID(), syscall.SIGSTOP))
	t0 := time.Now()
	method, err := inst.Stop(context.Background(), 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, StopKill, method)
	require.Less(t, time.Since(t0), 8*time.Second, "a hung QMP must not cost the whole grace period")
	exit := inst.Exit()
	require.Equal(t, "signal: killed", exit.Status)
	require.True(t, exit.Crashed())
}

// kill -9 by hand is noticed at once, with the tail of QEMU's stderr.
func TestKilledByHandIsNoticed(t *testing.T) {
	g := qemutest.Guest(t)
	spec := SpecForTestGuest("killed", "killed-1", g.Dir)
	spec.CPU.Model = "qemu64,+avx512f" // TCG warns on stderr: something to report
	inst := startGuest(t, testConfig(t), spec)
	require.NoError(t, syscall.Kill(inst.PID(), syscall.SIGKILL))
	t0 := time.Now()
	select {
	case <-inst.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("exit not noticed")
	}
	t.Logf("noticed after %v", time.Since(t0))
	require.Less(t, time.Since(t0), time.Second)
	exit, err := inst.Wait(context.Background())
	require.NoError(t, err)
	require.True(t, exit.Crashed())
	require.Equal(t, "signal: killed", exit.Status)
	require.Contains(t, exit.Stderr, "avx512f")
	require.True(t, errors.Is(exit, ErrExited))
	require.Contains(t, exit.Error(), "without a shutdown event")
}

// The same for a QEMU that is not our child (re-attached): the pidfd
// still notices, the status is unknown.
func TestKilledAfterReattachIsNoticed(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	first := startGuest(t, cfg, SpecForTestGuest("killed2", "killed-2", g.Dir))
	require.NoError(t, first.Close())
	inst, err := Attach(context.Background(), cfg, first.Paths().Dir)
	require.NoError(t, err)
	defer inst.Close()
	require.NoError(t, syscall.Kill(inst.PID(), syscall.SIGKILL))
	select {
	case <-inst.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("exit not noticed")
	}
	require.True(t, inst.Exit().Crashed())
}

// QEMU that dies during start: the error carries its stderr; everything
// but qemu.log is removed.
func TestStartFailureReportsStderrAndCleansUp(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	spec := SpecForTestGuest("bad", "bad-1", g.Dir)
	spec.CPU.Model = "no-such-model"
	_, err := Start(context.Background(), cfg, spec)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrExited)
	var exit *Exit
	require.True(t, errors.As(err, &exit), "%v", err)
	require.Contains(t, err.Error(), "unable to find CPU model 'no-such-model'")
	require.Equal(t, []string{LogFileName}, dirNames(t, cfg.Paths(spec.UID).Dir))
	require.Empty(t, qemuProcessesFor(cfg.Paths(spec.UID)))
}

// A failing placement kills QEMU, calls the placement's Release and
// removes the files.
func TestPlacementFailureUndoesStart(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	pl := &recordingPlacement{fail: errors.New("cgroup full")}
	cfg.Placement = pl
	spec := SpecForTestGuest("place", "place-1", g.Dir)
	_, err := Start(context.Background(), cfg, spec)
	require.ErrorContains(t, err, "step placement")
	require.ErrorContains(t, err, "cgroup full")
	require.NotZero(t, pl.placed.PID)
	require.False(t, processAlive(pl.placed.PID))
	require.Equal(t, []string{spec.UID}, pl.released)
	require.Equal(t, []string{LogFileName}, dirNames(t, cfg.Paths(spec.UID).Dir))
}

// Attach refuses a dir whose pidfile names a process that is not its
// QEMU (a recycled PID), or no pidfile at all.
func TestAttachRefusesStrangers(t *testing.T) {
	cfg := testConfig(t)
	dir := cfg.Paths("stranger").Dir
	require.NoError(t, os.MkdirAll(dir, 0o700))
	_, err := Attach(context.Background(), cfg, dir)
	require.ErrorIs(t, err, ErrNotRunning)
	require.NoError(t, os.WriteFile(filepath.Join(dir, SpecFileName), []byte(`{"name":"s","uid":"stranger"}`), 0o600))
	_, err = Attach(context.Background(), cfg, dir)
	require.ErrorIs(t, err, ErrNotRunning)
	require.NoError(t, os.WriteFile(filepath.Join(dir, PIDFileName), []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o600))
	_, err = Attach(context.Background(), cfg, dir)
	require.ErrorIs(t, err, ErrNotRunning)
}

type recordingPlacement struct {
	fail     error
	placed   Placed
	released []string
}

func (p *recordingPlacement) Place(_ context.Context, vm Placed) error {
	p.placed = vm
	return p.fail
}

func (p *recordingPlacement) Release(_ context.Context, uid string) error {
	p.released = append(p.released, uid)
	return nil
}

func dirNames(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// qemuProcessesFor lists live processes whose command line names the VM's
// QMP socket.
func qemuProcessesFor(p Paths) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(b), p.QMPSocket()) && processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A start whose context ends midway leaves nothing running and only
// qemu.log behind.
func TestStartContextEndsMidway(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	spec := SpecForTestGuest("hurry", "hurry-1", g.Dir)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, cfg, spec)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Empty(t, qemuProcessesFor(cfg.Paths(spec.UID)))
	require.Equal(t, []string{LogFileName}, dirNames(t, cfg.Paths(spec.UID).Dir))
}

// The real agent restart: the process that started QEMU exits without a
// word; QEMU (its own session, no parent-death signal) runs on, and a new
// process attaches to it. QEMU is then nobody's child here: the exit
// status is unknown, the pidfd still notices the exit.
func TestQEMUSurvivesItsParent(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+cfg.DataDir, "DAVIT_GUEST_DIR="+g.Dir)
	out, err := cmd.Output()
	require.NoError(t, err, "helper: %s", out)
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	killOnCleanup(t, pid)
	require.True(t, processAlive(pid), "QEMU died with its parent")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inst, err := Attach(ctx, cfg, cfg.Paths("orphan-1").Dir)
	require.NoError(t, err)
	defer inst.Close()
	require.Equal(t, pid, inst.PID())
	con := openConsole(t, inst.Paths().ConsoleSocket())
	con.waitLine(t, readyRE, 30*time.Second)
	con.waitTick(t, 5*time.Second)
	t0 := time.Now()
	method, err := inst.Stop(ctx, 20*time.Second)
	require.NoError(t, err)
	require.Equal(t, StopPowerdown, method)
	require.Less(t, time.Since(t0), cfg.PowerdownInterval, "the first press after the marker must not be lost")
	require.Equal(t, "", inst.Exit().Status)
	require.True(t, inst.Exit().GuestPoweroff())
}
