package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// GuestReadyMarker is what the test guest (scripts/build-test-guest.sh)
// prints on its serial console once booted.
const GuestReadyMarker = "DAVIT-GUEST-READY"

// BootResult compares davit's start of the test guest with a bare QEMU
// launch of the same command line (without -S, since nobody sends cont).
// Times count from just before the exec (davit: just before Start).
type BootResult struct {
	// DavitRunning is Start's duration: exec → QMP reports running.
	DavitRunning time.Duration
	// BareRunning is a bare launch to QMP reporting running.
	BareRunning time.Duration
	// DavitMarker and BareMarker are the times to the guest's serial marker.
	DavitMarker time.Duration
	BareMarker  time.Duration
	// Steps are davit's start steps.
	Steps []StepTiming
}

// RunningRatio is DavitRunning / BareRunning.
func (r BootResult) RunningRatio() float64 {
	return float64(r.DavitRunning) / float64(r.BareRunning)
}

// MarkerRatio is DavitMarker / BareMarker.
func (r BootResult) MarkerRatio() float64 {
	return float64(r.DavitMarker) / float64(r.BareMarker)
}

func (r BootResult) String() string {
	return fmt.Sprintf("QMP running: davit %v, bare %v (×%.2f); serial marker: davit %v, bare %v (×%.2f)",
		r.DavitRunning.Round(time.Millisecond), r.BareRunning.Round(time.Millisecond), r.RunningRatio(),
		r.DavitMarker.Round(time.Millisecond), r.BareMarker.Round(time.Millisecond), r.MarkerRatio())
}

// SpecForTestGuest is the spec of the test guest booted directly from
// guestDir's vmlinux and initrd.img: 1 vCPU, 256 MiB, TCG, no disk.
func SpecForTestGuest(name, uid, guestDir string) Spec {
	return Spec{
		Name: name, UID: uid,
		CPU:         CPU{Cores: 1},
		MemoryBytes: 256 << 20,
		Accelerator: AccelTCG,
		DirectBoot: &DirectBoot{
			Kernel: filepath.Join(guestDir, "vmlinux"),
			Initrd: filepath.Join(guestDir, "initrd.img"),
			Append: "console=ttyS0 quiet",
		},
	}
}

// BootComparison boots the test guest in guestDir (direct kernel boot,
// TCG) once through Start and once as a bare qemu-system-x86_64 of the
// same argv, and measures both to QMP running and to the serial marker.
// Everything it starts is killed and its temporary directory removed.
func BootComparison(ctx context.Context, guestDir string) (BootResult, error) {
	var res BootResult
	data, err := os.MkdirTemp("", "davit-boot-")
	if err != nil {
		return res, fmt.Errorf("boot comparison: %w", err)
	}
	defer os.RemoveAll(data)
	// The first QEMU launch of a run pays for cold caches (binary,
	// libraries, the kernel image): a bare launch to QMP running takes it.
	var warm BootResult
	if err := bareBoot(ctx, data, guestDir, "bench-warm", false, &warm); err != nil {
		return res, fmt.Errorf("boot comparison: warm-up: %w", err)
	}
	if err := davitBoot(ctx, data, guestDir, &res); err != nil {
		return res, fmt.Errorf("boot comparison: davit: %w", err)
	}
	if err := bareBoot(ctx, data, guestDir, "bench-bare", true, &res); err != nil {
		return res, fmt.Errorf("boot comparison: bare: %w", err)
	}
	return res, nil
}

func davitBoot(ctx context.Context, data, guestDir string, res *BootResult) error {
	spec := SpecForTestGuest("bench-davit", "bench-davit", guestDir)
	t0 := time.Now()
	inst, err := Start(ctx, DefaultConfig(data), spec)
	if err != nil {
		return err
	}
	res.DavitRunning = time.Since(t0)
	res.Steps = inst.StartSteps()
	defer inst.Close()
	defer inst.Kill()
	at, err := WaitMarker(ctx, inst.Paths().ConsoleSocket(), GuestReadyMarker, 60*time.Second)
	if err != nil {
		return err
	}
	res.DavitMarker = at.Sub(t0)
	return nil
}

func bareBoot(ctx context.Context, data, guestDir, uid string, marker bool, res *BootResult) error {
	t, err := BareLaunch(ctx, data, SpecForTestGuest(uid, uid, guestDir), marker)
	if err != nil {
		return err
	}
	res.BareRunning = t.Running
	if marker {
		res.BareMarker = t.Marker
	}
	return nil
}

// BareTimes are a bare launch's times, counted from just before the exec.
type BareTimes struct {
	// Running is the time to QMP query-status reporting running.
	Running time.Duration
	// Marker is the time to GuestReadyMarker on the serial console (zero
	// when not waited for).
	Marker time.Duration
}

// BareLaunch is the baseline of a VM start: spec's argv from Command in
// PathsFor(dataDir, spec.UID), without -S (nobody sends cont), executed as
// a bare qemu-system-x86_64. It measures the time to QMP running and, with
// marker set, to GuestReadyMarker on the serial console (read from as soon
// as the socket exists), then kills the QEMU. The VM's directory is left
// in dataDir for the caller to remove.
func BareLaunch(ctx context.Context, dataDir string, spec Spec, marker bool) (BareTimes, error) {
	var res BareTimes
	paths := PathsFor(dataDir, spec.UID)
	if err := os.MkdirAll(paths.Dir, 0o700); err != nil {
		return res, err
	}
	argv, err := Command(spec, paths)
	if err != nil {
		return res, err
	}
	var args []string
	for _, a := range argv[1:] {
		if a != "-S" {
			args = append(args, a)
		}
	}
	cmd := exec.Command(argv[0], args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	markerc := make(chan error, 1)
	var markerAt time.Time
	if marker {
		go func() { // ends by its 60 s bound at the latest, or when QEMU is killed
			var err error
			markerAt, err = WaitMarker(ctx, paths.ConsoleSocket(), GuestReadyMarker, 60*time.Second)
			markerc <- err
		}()
	} else {
		markerc <- nil
	}
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	mon, err := DialMonitor(qctx, paths.QMPSocket(), MonitorOptions{RetryInterval: dialRetryInterval})
	if err != nil {
		<-markerc
		return res, err
	}
	defer mon.Close()
	for {
		s, err := mon.QueryStatus(qctx)
		if err != nil {
			<-markerc
			return res, err
		}
		if s.Running {
			break
		}
		time.Sleep(dialRetryInterval)
	}
	res.Running = time.Since(t0)
	if err := <-markerc; err != nil {
		return res, err
	}
	if marker {
		res.Marker = markerAt.Sub(t0)
	}
	return res, nil
}

// WaitMarker connects to a console socket (retrying every 2 ms until it
// exists) and returns when a line containing marker arrives, within
// timeout. Output written before it connects is lost.
func WaitMarker(ctx context.Context, socket, marker string, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn net.Conn
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", socket)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("console %s: %w", socket, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if strings.Contains(sc.Text(), marker) {
			return time.Now(), nil
		}
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("wait for %q: %w", marker, err)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
		return time.Time{}, fmt.Errorf("wait for %q: %w", marker, err)
	}
	return time.Time{}, fmt.Errorf("wait for %q: console closed", marker)
}
