package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// StepTiming is one start step and how long it took.
type StepTiming struct {
	Name string
	Took time.Duration
}

// Start step names, in order.
const (
	StepValidate     = "validate"
	StepPrepareDir   = "prepare-dir"
	StepWriteSpec    = "write-spec"
	StepFirmwareVars = "firmware-vars"
	StepExec         = "exec"
	StepPIDFile      = "pidfile"
	StepQMPConnect   = "qmp-connect"
	StepPlacement    = "placement"
	StepRunning      = "running"
)

// startStep is one named step; run registers the undo of whatever it
// creates with st.onFail as soon as it has created it.
type startStep struct {
	name string
	run  func(st *starter, ctx context.Context) error
}

func startSteps() []startStep {
	return []startStep{
		{StepValidate, (*starter).validate},
		{StepPrepareDir, (*starter).prepareDir},
		{StepWriteSpec, (*starter).writeSpec},
		{StepFirmwareVars, (*starter).firmwareVars},
		{StepExec, (*starter).exec},
		{StepPIDFile, (*starter).pidFile},
		{StepQMPConnect, (*starter).qmpConnect},
		{StepPlacement, (*starter).placement},
		{StepRunning, (*starter).running},
	}
}

// starter carries one Start through its steps.
type starter struct {
	cfg    Config
	inst   *Instance
	argv   []string
	plan   []PlanStep
	binary string
	undo   []func()
	// abort cancels the steps' context when QEMU exits during start.
	abort context.CancelCauseFunc
}

func (st *starter) onFail(f func()) { st.undo = append(st.undo, f) }

// Start runs a VM: it prepares DataDir/vms/<uid>/, writes the boot spec,
// copies the EFI variable store (EFI, first start only), executes QEMU in
// its own session with stdout and stderr to qemu.log, waits for the
// pidfile and QMP, calls the Placement, runs the QMP plan (cont) and waits
// until QMP reports "running". Each step is logged with its duration
// (StartSteps). When a step fails, what the earlier ones started or
// created is undone in reverse (QEMU killed, files removed, qemu.log
// kept) and the error names the step; when QEMU itself died, it wraps an
// *Exit with QEMU's stderr.
//
// ctx bounds the start only (together with Config.StartTimeout); the VM
// lives until Stop or Kill, and Close detaches without stopping it.
func Start(ctx context.Context, cfg Config, spec Spec) (*Instance, error) {
	cfg = cfg.withDefaults()
	if cfg.DataDir == "" || !filepath.IsAbs(cfg.DataDir) {
		return nil, fmt.Errorf("start %s: %w: config.dataDir %q: must be an absolute path", spec.Name, ErrInvalidSpec, cfg.DataDir)
	}
	spec = spec.WithDefaults()
	st := &starter{cfg: cfg, inst: newInstance(cfg, spec, cfg.Paths(spec.UID))}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	st.abort = abort

	t0 := time.Now()
	for _, step := range startSteps() {
		s0 := time.Now()
		err := step.run(st, ctx)
		took := time.Since(s0)
		st.inst.steps = append(st.inst.steps, StepTiming{step.name, took})
		if err == nil {
			st.inst.log.Info("start step", "step", step.name, "took", took)
			continue
		}
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		st.inst.log.Error("start step failed", "step", step.name, "took", took, "err", err)
		for k := len(st.undo) - 1; k >= 0; k-- {
			st.undo[k]()
		}
		return nil, fmt.Errorf("start %s: step %s: %w", spec.Name, step.name, err)
	}
	st.inst.log.Info("VM started", "pid", st.inst.pid, "took", time.Since(t0))
	return st.inst, nil
}

// validate builds the command line and finds the QEMU binary.
func (st *starter) validate(context.Context) error {
	argv, err := Command(st.inst.spec, st.inst.paths)
	if err != nil {
		return err
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("find QEMU: %w", err)
	}
	st.argv, st.plan, st.binary = argv, Plan(st.inst.spec), bin
	return nil
}

// prepareDir creates the VM's directory (or reuses it, when no QEMU of
// this VM runs there) and clears what an earlier run left: sockets, the
// pidfile; the previous qemu.log is kept as qemu.log.1.
func (st *starter) prepareDir(context.Context) error {
	p := st.inst.paths
	if pid, err := readPIDFile(p.PIDFile()); err == nil && pid > 0 && isQEMUFor(pid, p.QMPSocket()) {
		return fmt.Errorf("%w: pid %d in %s", ErrAlreadyRunning, pid, p.Dir)
	}
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return fmt.Errorf("create VM dir: %w", err)
	}
	for _, f := range []string{p.QMPSocket(), p.ConsoleSocket(), p.PIDFile()} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", f, err)
		}
	}
	if fi, err := os.Stat(p.LogFile()); err == nil && fi.Size() > 0 {
		if err := os.Rename(p.LogFile(), p.LogFile()+".1"); err != nil {
			return fmt.Errorf("keep previous log: %w", err)
		}
	}
	return nil
}

func (st *starter) writeSpec(context.Context) error {
	b, err := json.MarshalIndent(st.inst.spec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode boot spec: %w", err)
	}
	path := st.inst.paths.SpecFile()
	if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	st.onFail(func() { _ = os.Remove(path) })
	return nil
}

// firmwareVars gives an EFI VM its own OVMF variable store, copied from
// the template on the first start and kept afterwards (boot entries).
func (st *starter) firmwareVars(context.Context) error {
	if st.inst.spec.Firmware.Type != FirmwareEFI {
		return nil
	}
	dst := st.inst.paths.EFIVars()
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	src, err := os.ReadFile(st.inst.spec.Firmware.VarsTemplate)
	if err != nil {
		return fmt.Errorf("read OVMF vars template: %w", err)
	}
	if err := writeFileAtomic(dst, src, 0o600); err != nil {
		return err
	}
	st.onFail(func() { _ = os.Remove(dst) })
	return nil
}

// exec starts QEMU in its own session (setsid), so that it is no child of
// the agent's process group and survives the agent; stdin is /dev/null,
// stdout and stderr go to qemu.log. The process handle is released at
// once: from here on QEMU is known by PID (and pidfd), exactly as after a
// re-attach.
func (st *starter) exec(ctx context.Context) error {
	p := st.inst.paths
	logf, err := os.OpenFile(p.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("open QEMU log: %w", err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	defer devnull.Close()
	proc, err := os.StartProcess(st.binary, st.argv, &os.ProcAttr{
		Dir:   p.Dir,
		Files: []*os.File{devnull, logf, logf},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		return fmt.Errorf("exec QEMU: %w", err)
	}
	st.inst.pid = proc.Pid
	_ = proc.Release()
	if err := st.inst.startWatch(); err != nil {
		_ = syscall.Kill(proc.Pid, syscall.SIGKILL)
		_ = reap(proc.Pid)
		return err
	}
	st.onFail(func() {
		_ = st.inst.Kill()
		_ = st.inst.Close()
		for _, f := range []string{p.QMPSocket(), p.ConsoleSocket(), p.PIDFile()} {
			_ = os.Remove(f)
		}
	})
	// From now on, QEMU's exit aborts the remaining steps with its reason.
	go func() {
		select {
		case <-st.inst.done:
			st.abort(st.inst.Exit())
		case <-ctx.Done(): // Start returned (or gave up)
		}
	}()
	return nil
}

// pidFile waits until QEMU has written its pidfile with its own PID.
func (st *starter) pidFile(ctx context.Context) error {
	for {
		pid, err := readPIDFile(st.inst.paths.PIDFile())
		if err != nil {
			return err
		}
		if pid == st.inst.pid {
			return nil
		}
		if pid != 0 {
			return fmt.Errorf("pidfile names pid %d, QEMU is %d", pid, st.inst.pid)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for pidfile: %w", context.Cause(ctx))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (st *starter) qmpConnect(ctx context.Context) error {
	mon, err := DialMonitor(ctx, st.inst.paths.QMPSocket(), st.cfg.monitorOptions(st.inst.log, st.inst.onEvent))
	if err != nil {
		return err
	}
	st.inst.mu.Lock()
	st.inst.mon = mon
	st.inst.mu.Unlock()
	return nil
}

func (st *starter) placement(ctx context.Context) error {
	pl := st.cfg.Placement
	if pl == nil {
		return nil
	}
	vcpus, err := st.inst.mon.QueryCPUsFast(ctx)
	if err != nil {
		return err
	}
	vm := Placed{UID: st.inst.spec.UID, Name: st.inst.spec.Name, PID: st.inst.pid, VCPUs: vcpus}
	// Registered before Place: a Place that fails halfway is released too.
	if r, ok := pl.(PlacementReleaser); ok {
		st.onFail(func() {
			_ = st.inst.Kill() // a cgroup cannot go while QEMU is in it
			rctx, cancel := context.WithTimeout(context.Background(), st.cfg.QMPTimeout)
			defer cancel()
			if err := r.Release(rctx, vm.UID); err != nil {
				st.inst.log.Warn("release placement", "err", err)
			}
		})
	}
	if err := pl.Place(ctx, vm); err != nil {
		return fmt.Errorf("place pid %d: %w", st.inst.pid, err)
	}
	return nil
}

// running runs the QMP plan, then waits until QMP reports "running".
func (st *starter) running(ctx context.Context) error {
	mon := st.inst.mon
	for _, p := range st.plan {
		var args any
		if p.Arguments != nil {
			args = p.Arguments
		}
		if err := mon.Run(ctx, p.Execute, args, nil); err != nil {
			return err
		}
	}
	for {
		s, err := mon.QueryStatus(ctx)
		if err != nil {
			return err
		}
		if s.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for running (status %s): %w", s.Status, context.Cause(ctx))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// writeFileAtomic writes data to a temporary file next to path, syncs it
// and renames it into place.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
