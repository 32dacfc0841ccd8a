package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"davit/agent/client"
	"davit/api"
	"davit/cgroup"
	"davit/qemu"
	"davit/qemu/qemutest"
)

// vmApplyImage is the ClusterVirtualImage the measured VMs boot from.
const vmApplyImage = "bench-guest"

// vmApplyTimes are one apply (or one bare launch), from just before the
// PUT (the exec) to QMP running / phase Running and to the serial marker.
type vmApplyTimes struct {
	running, marker time.Duration
}

// vmApplyBench measures a VM from `apply` to phase Running and to the test
// guest's serial marker through a real single-node agent, runs times,
// against bare launches of each VM's own boot spec (status.bootSpec, its
// argv without -S). The guest boots from guest.iso, imported as a
// ClusterVirtualImage over loopback HTTP.
func vmApplyBench(ctx context.Context, bin string, runs int) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cache, err := qemutest.CacheDir()
	if err != nil {
		return err
	}
	guest, err := qemutest.Build(ctx, cache)
	if err != nil {
		return fmt.Errorf("build test guest: %w", err)
	}
	// Short, so DATA/vms/<uid>/console.sock fits a unix socket address.
	dir, err := os.MkdirTemp("/tmp", "dvb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ag, err := startVMAgent(bin, filepath.Join(dir, "a"), fmt.Sprintf("davit-bench-%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer ag.close()
	srv := httptest.NewServer(http.FileServer(http.Dir(guest.Dir)))
	defer srv.Close()
	c, err := client.New(ag.url)
	if err != nil {
		return err
	}
	if err := applyGuestImage(ctx, c, srv.URL+"/"+filepath.Base(guest.ISO), guest.ISO); err != nil {
		return fmt.Errorf("%w\n%s", err, ag.logTail())
	}
	var davit, bare []vmApplyTimes
	var accel qemu.Accelerator
	for i := range runs {
		d, spec, err := applyVM(ctx, c, ag.dataDir, fmt.Sprintf("bench-%d", i))
		if err != nil {
			return fmt.Errorf("apply run %d: %w\n%s", i, err, ag.logTail())
		}
		b, err := qemu.BareLaunch(ctx, filepath.Join(dir, "bare"), spec, true)
		if err != nil {
			return fmt.Errorf("bare run %d: %w", i, err)
		}
		davit, bare = append(davit, d), append(bare, vmApplyTimes{b.Running, b.Marker})
		accel = spec.Accelerator
	}
	printVMApply(runs, accel, davit, bare)
	return nil
}

func printVMApply(runs int, accel qemu.Accelerator, davit, bare []vmApplyTimes) {
	fmt.Printf("== VM apply → Running (test guest ISO, %s, median of %d) ==\n", accel, runs)
	dr, br := median(davit, func(t vmApplyTimes) time.Duration { return t.running }), median(bare, func(t vmApplyTimes) time.Duration { return t.running })
	dm, bm := median(davit, func(t vmApplyTimes) time.Duration { return t.marker }), median(bare, func(t vmApplyTimes) time.Duration { return t.marker })
	fmt.Printf("to phase Running / QMP running:  davit apply %8s   bare qemu %8s   ratio %.2f\n",
		dr.Round(time.Millisecond), br.Round(time.Millisecond), ratio(dr, br))
	fmt.Printf("to serial marker:                davit apply %8s   bare qemu %8s   ratio %.2f\n",
		dm.Round(time.Millisecond), bm.Round(time.Millisecond), ratio(dm, bm))
}

func median(ts []vmApplyTimes, f func(vmApplyTimes) time.Duration) time.Duration {
	return medianOf(ts, f)
}

// medianOf is the median of f over xs (the mean of the middle two for an
// even count).
func medianOf[T any](xs []T, f func(T) time.Duration) time.Duration {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = f(x)
	}
	slices.Sort(ds)
	if n := len(ds); n%2 == 0 {
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[len(ds)/2]
}

// applyGuestImage creates the ClusterVirtualImage of url and waits until
// it is Ready.
func applyGuestImage(ctx context.Context, c *client.Client, url, file string) error {
	sum, err := sha256Hex(file)
	if err != nil {
		return err
	}
	obj, err := toObject(map[string]any{
		"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "ClusterVirtualImage",
		"metadata": map[string]any{"name": vmApplyImage},
		"spec": map[string]any{"dataSource": map[string]any{"type": "HTTP",
			"http": map[string]any{"url": url, "checksum": map[string]string{"sha256": sum}}}},
	})
	if err != nil {
		return err
	}
	if _, _, err := c.Put(ctx, obj); err != nil {
		return fmt.Errorf("create image: %w", err)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		switch phase, _, msg := imagePhase(c.BaseURL(), vmApplyImage); phase {
		case "Ready":
			return nil
		case "Failed":
			return fmt.Errorf("import %s: %s", url, msg)
		}
	}
	return fmt.Errorf("image %s not Ready after 2 minutes", vmApplyImage)
}

// benchVM is the measured VM: class generic, 1 core at 100%, 256Mi,
// AlwaysOn, booting the guest image; deleted without a grace period.
func benchVM(name string) (*api.Object, error) {
	return toObject(map[string]any{
		"apiVersion": "virtualization.deckhouse.io/v1alpha2", "kind": "VirtualMachine",
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"spec": map[string]any{
			"virtualMachineClassName":       "generic",
			"runPolicy":                     "AlwaysOn",
			"cpu":                           map[string]any{"cores": 1, "coreFraction": "100%"},
			"memory":                        map[string]any{"size": "256Mi"},
			"blockDeviceRefs":               []any{map[string]any{"kind": "ClusterVirtualImage", "name": vmApplyImage}},
			"terminationGracePeriodSeconds": 0,
		},
	})
}

func toObject(m map[string]any) (*api.Object, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var obj api.Object
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	return &obj, nil
}

// applyVM creates VM name, measures it to phase Running (from a watch
// opened before the PUT) and to the serial marker (read from the console
// socket, dialled every 2 ms from the PUT's answer on), then deletes it
// and waits until it is gone. It returns the times and the boot spec.
func applyVM(ctx context.Context, c *client.Client, dataDir, name string) (vmApplyTimes, qemu.Spec, error) {
	var res vmApplyTimes
	var spec qemu.Spec
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the marker reader ends with ctx
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	kind, _ := api.LookupKind("VirtualMachine")
	obj, err := benchVM(name)
	if err != nil {
		return res, spec, err
	}
	events, err := c.Watch(ctx, kind, "default", name, "", "")
	if err != nil {
		return res, spec, fmt.Errorf("watch: %w", err)
	}
	t0 := time.Now()
	stored, _, err := c.Put(ctx, obj)
	if err != nil {
		return res, spec, fmt.Errorf("create VM: %w", err)
	}
	var markerAt time.Time
	var markerErr error
	wg.Go(func() {
		sock := qemu.PathsFor(dataDir, stored.Metadata.UID).ConsoleSocket()
		markerAt, markerErr = qemu.WaitMarker(ctx, sock, qemu.GuestReadyMarker, 2*time.Minute)
	})
	st, err := waitVM(events, func(ev client.Event, st api.VirtualMachineStatus) bool { return st.Phase == api.VMRunning })
	if err != nil {
		return res, spec, fmt.Errorf("wait for Running: %w", err)
	}
	res.running = time.Since(t0)
	if err := json.Unmarshal(st.BootSpec, &spec); err != nil {
		return res, spec, fmt.Errorf("decode status.bootSpec: %w", err)
	}
	wg.Wait()
	if markerErr != nil {
		return res, spec, markerErr
	}
	res.marker = markerAt.Sub(t0)
	if _, err := c.Delete(ctx, kind, "default", name); err != nil {
		return res, spec, fmt.Errorf("delete VM: %w", err)
	}
	if _, err := waitVM(events, func(ev client.Event, _ api.VirtualMachineStatus) bool { return ev.Type == client.Deleted }); err != nil {
		return res, spec, fmt.Errorf("wait for deletion: %w", err)
	}
	return res, spec, nil
}

// waitVM reads watch events until done holds and returns that event's
// status; a failed or ended watch is an error naming the last phase and
// Running condition seen.
func waitVM(events <-chan client.Event, done func(client.Event, api.VirtualMachineStatus) bool) (api.VirtualMachineStatus, error) {
	var st api.VirtualMachineStatus
	for ev := range events {
		if ev.Type == client.Error {
			return st, ev.Err
		}
		st = api.VirtualMachineStatus{}
		if ev.Object != nil && len(ev.Object.Status) > 0 {
			if err := json.Unmarshal(ev.Object.Status, &st); err != nil {
				return st, fmt.Errorf("decode VM status: %w", err)
			}
		}
		if done(ev, st) {
			return st, nil
		}
	}
	msg := ""
	if c := api.FindCondition(st.Conditions, "Running"); c != nil {
		msg = c.Message
	}
	return st, fmt.Errorf("watch ended (timeout?) in phase %q: %s", st.Phase, msg)
}

// vmAgent is the agent process of the measurement, with its own data
// directory and cgroup parent. It is ended by its PID, then the QEMUs its
// VMs left and their cgroups are removed.
type vmAgent struct {
	cmd             *exec.Cmd
	done            chan struct{}
	dataDir, parent string
	url, logFile    string
}

func startVMAgent(bin, dataDir, parent string) (*vmAgent, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	raftAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	a := &vmAgent{dataDir: dataDir, parent: parent, url: "http://" + httpAddr,
		logFile: filepath.Join(filepath.Dir(dataDir), "agent.log"), done: make(chan struct{})}
	log, err := os.Create(a.logFile)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own descriptor
	a.cmd = exec.Command(bin, "agent", "--data-dir", dataDir, "--node-name", "bench",
		"--http-addr", httpAddr, "--raft-addr", raftAddr, "--cgroup-parent", parent)
	a.cmd.Stdout, a.cmd.Stderr = log, log
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }() // ends with the process
	if err := a.waitReady(60 * time.Second); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *vmAgent) waitReady(d time.Duration) error {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-a.done:
			return fmt.Errorf("agent exited: %s\n%s", a.cmd.ProcessState, a.logTail())
		default:
		}
		if resp, err := http.Get(a.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("agent at %s not ready after %s\n%s", a.url, d, a.logTail())
}

// logTail is the end of the agent's log, for error messages.
func (a *vmAgent) logTail() string {
	b, _ := os.ReadFile(a.logFile)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "agent log (last lines):\n" + strings.Join(lines, "\n")
}

// close sends SIGTERM to the agent's PID (SIGKILL after 15 s), then kills
// every QEMU left under its data dir and removes the VM cgroups and the
// cgroup parent. Failures are printed: it runs on the way out.
func (a *vmAgent) close() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(15 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	dirs, _ := filepath.Glob(filepath.Join(a.dataDir, "vms", "*"))
	for _, dir := range dirs {
		if err := killVMQEMU(dir); err != nil {
			fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
		}
	}
	if err := removeCgroups(a.parent); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
	}
}

// killVMQEMU kills the QEMU of one VM directory by the PID in its pidfile,
// if that process still runs with the directory on its command line.
func killVMQEMU(dir string) error {
	b, err := os.ReadFile(qemu.Paths{Dir: dir}.PIDFile())
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
		return nil // gone, or the PID is another process's now
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill QEMU %d of %s: %w", pid, dir, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || bytes.Contains(st, []byte(") Z ")) {
			return nil // gone, or a zombie of its dead parent
		}
	}
	return fmt.Errorf("QEMU %d of %s survived SIGKILL", pid, dir)
}

// removeCgroups deletes every VM group under parent, then parent itself.
func removeCgroups(parent string) error {
	mgr, err := cgroup.New(cgroup.Config{Parent: parent})
	if errors.Is(err, cgroup.ErrNotSupported) {
		return nil // no cgroups here: the agent made none
	} else if err != nil {
		return err
	}
	uids, err := mgr.List()
	if err != nil {
		return fmt.Errorf("list cgroups of %s: %w", parent, err)
	}
	var errs []error
	for _, uid := range uids {
		if err := mgr.Delete(uid); err != nil {
			errs = append(errs, fmt.Errorf("delete cgroup of VM %s: %w", uid, err))
		}
	}
	if err := mgr.Destroy(); err != nil && !errors.Is(err, cgroup.ErrNotFound) {
		errs = append(errs, fmt.Errorf("remove cgroup parent %s: %w", parent, err))
	}
	return errors.Join(errs...)
}
