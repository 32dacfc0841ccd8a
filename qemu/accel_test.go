package qemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func fakeHost(t *testing.T, flags string, kvm bool) Host {
	dir := t.TempDir()
	h := Host{CPUInfo: filepath.Join(dir, "cpuinfo"), KVMDevice: filepath.Join(dir, "kvm")}
	info := "processor\t: 0\nmodel name\t: Fake CPU\nflags\t\t: " + flags + "\n\nprocessor\t: 1\nflags\t\t: " + flags + "\n"
	require.NoError(t, os.WriteFile(h.CPUInfo, []byte(info), 0o644))
	if kvm {
		require.NoError(t, os.WriteFile(h.KVMDevice, nil, 0o666))
	}
	return h
}

func TestChooseAccelerator(t *testing.T) {
	hw := fakeHost(t, "fpu vme de pse vmx sse4_2", true)
	c, err := hw.ChooseAccelerator("auto")
	require.NoError(t, err)
	require.Equal(t, AccelKVM, c.Accelerator)
	require.Contains(t, c.Reason, "vmx")

	amd := fakeHost(t, "fpu svm", true)
	c, err = amd.ChooseAccelerator("")
	require.NoError(t, err)
	require.Equal(t, AccelKVM, c.Accelerator)

	// /dev/kvm without vmx/svm (PVM, as on the build machines): TCG.
	pvm := fakeHost(t, "fpu vme hypervisor", true)
	c, err = pvm.ChooseAccelerator("auto")
	require.NoError(t, err)
	require.Equal(t, AccelTCG, c.Accelerator)
	require.Contains(t, c.Reason, "no vmx/svm")
	// ... but an explicit kvm is honoured.
	c, err = pvm.ChooseAccelerator("kvm")
	require.NoError(t, err)
	require.Equal(t, AccelKVM, c.Accelerator)

	noDev := fakeHost(t, "vmx", false)
	c, err = noDev.ChooseAccelerator("auto")
	require.NoError(t, err)
	require.Equal(t, AccelTCG, c.Accelerator)
	require.Contains(t, c.Reason, "KVM unavailable")
	_, err = noDev.ChooseAccelerator("kvm")
	require.ErrorIs(t, err, ErrKVMUnavailable)

	c, err = hw.ChooseAccelerator("TCG")
	require.NoError(t, err)
	require.Equal(t, AccelTCG, c.Accelerator)

	_, err = hw.ChooseAccelerator("hvf")
	require.ErrorContains(t, err, `"hvf"`)
}

// On this machine: whatever it picks, it says why.
func TestChooseAcceleratorHere(t *testing.T) {
	c, err := ChooseAccelerator("auto")
	require.NoError(t, err)
	require.NotEmpty(t, c.Reason)
	t.Logf("%s (%s)", c.Accelerator, c.Reason)
}
