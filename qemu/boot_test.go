package qemu

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

var readyRE = regexp.MustCompile(regexp.QuoteMeta(GuestReadyMarker))

// The fastest path: the uncompressed kernel + initrd booted directly. The
// guest reaches its marker, ticks go on, the steps are all logged, the vCPU
// thread is named, and a Placement sees QEMU's PID and vCPU threads
// before the guest runs.
func TestBootDirectKernel(t *testing.T) {
	g := qemutest.Guest(t)
	cfg := testConfig(t)
	var placed Placed
	cfg.Placement = PlacementFunc(func(ctx context.Context, vm Placed) error {
		placed = vm
		return nil
	})
	spec := SpecForTestGuest("direct", "direct-1", g.Dir)
	t0 := time.Now()
	inst := startGuest(t, cfg, spec)
	t.Logf("QMP running after %v", time.Since(t0))
	con := openConsole(t, inst.Paths().ConsoleSocket())
	con.waitLine(t, readyRE, 30*time.Second)
	t.Logf("marker after %v", time.Since(t0))
	n := con.waitTick(t, 5*time.Second)
	require.Greater(t, con.waitTick(t, 5*time.Second), n)

	var names []string
	for _, s := range inst.StartSteps() {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{StepValidate, StepPrepareDir, StepWriteSpec, StepFirmwareVars, StepExec,
		StepPIDFile, StepQMPConnect, StepPlacement, StepRunning}, names)

	require.Equal(t, inst.PID(), placed.PID)
	require.Len(t, placed.VCPUs, 1)
	require.Equal(t, "CPU 0/TCG", threadName(inst.PID(), placed.VCPUs[0].ThreadID))

	ctx := context.Background()
	st, err := inst.Monitor().QueryStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, StatusRunning, st.Status)
	v, err := inst.Monitor().QueryVersion(ctx)
	require.NoError(t, err)
	require.NotZero(t, v.QEMU.Major)

	// The boot spec is kept next to QEMU's files.
	b, err := os.ReadFile(filepath.Join(inst.Paths().Dir, SpecFileName))
	require.NoError(t, err)
	var saved Spec
	require.NoError(t, json.Unmarshal(b, &saved))
	require.Equal(t, inst.Spec(), saved)
	require.Equal(t, spec.WithDefaults(), saved)
	t.Logf("end %v", time.Since(t0))
}

// Boot from the syslinux disk (BIOS, virtio-blk), attached read-only as an
// image would be.
func TestBootDiskBIOS(t *testing.T) {
	g := qemutest.Guest(t)
	spec := Spec{Name: "disk", UID: "disk-1", CPU: CPU{Cores: 1}, MemoryBytes: 256 << 20, Accelerator: AccelTCG,
		BlockDevices: []BlockDevice{{Name: "vi/test-disk", Path: g.Disk, ReadOnly: true}}}
	inst := startGuest(t, testConfig(t), spec)
	t0 := time.Now()
	openConsole(t, inst.Paths().ConsoleSocket()).waitLine(t, readyRE, 30*time.Second)
	t.Logf("marker %v after running", time.Since(t0))
}

// Boot from the isolinux ISO on an AHCI CD-ROM.
func TestBootISO(t *testing.T) {
	g := qemutest.Guest(t)
	spec := Spec{Name: "iso", UID: "iso-1", CPU: CPU{Cores: 1}, MemoryBytes: 256 << 20, Accelerator: AccelTCG,
		BlockDevices: []BlockDevice{{Name: "cvi/test-iso", Path: g.ISO, CDROM: true}}}
	inst := startGuest(t, testConfig(t), spec)
	t0 := time.Now()
	openConsole(t, inst.Paths().ConsoleSocket()).waitLine(t, readyRE, 30*time.Second)
	t.Logf("marker %v after running", time.Since(t0))
}

// EFI: OVMF with the VM's own copy of the variable store, booting the
// EFI-stub kernel directly.
func TestBootEFI(t *testing.T) {
	g := qemutest.Guest(t)
	if _, err := os.Stat(DefaultOVMFCode); err != nil {
		t.Skip("OVMF not installed (apt-get install ovmf)")
	}
	spec := SpecForTestGuest("efi", "efi-1", g.Dir)
	spec.Firmware.Type = FirmwareEFI
	spec.DirectBoot.Kernel = g.Vmlinuz
	inst := startGuest(t, testConfig(t), spec)
	vars, err := os.Stat(inst.Paths().EFIVars())
	require.NoError(t, err)
	tmpl, err := os.Stat(DefaultOVMFVars)
	require.NoError(t, err)
	require.Equal(t, tmpl.Size(), vars.Size())
	t0 := time.Now()
	openConsole(t, inst.Paths().ConsoleSocket()).waitLine(t, readyRE, 30*time.Second)
	t.Logf("marker %v after running", time.Since(t0))
}
