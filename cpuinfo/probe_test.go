package cpuinfo

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbeFakeQEMU(t *testing.T) {
	cfg := fakeQEMU(t, "7.2.0", "")
	f, err := Probe(context.Background(), cfg)
	require.NoError(t, err)

	assert.Equal(t, FactsSchema, f.Schema)
	assert.Equal(t, VendorAMD, f.Vendor)
	assert.Equal(t, AccelTCG, f.Accelerator)
	assert.Equal(t, "7.2.0 (fake)", f.QEMUVersion)
	assert.Equal(t, cfg.QEMUBinary, f.QEMUBinary)
	assert.False(t, f.QEMUModTime.IsZero())
	assert.NotEmpty(t, f.KernelVersion)
	assert.Equal(t, []string{"Nehalem", "Opteron_G2", "Westmere", "Westmere-v1", "base", "kvm64", "max", "qemu64"}, f.UsableModels)
	// Only named models are expanded; aliases (sse4_1), switches (check,
	// kvm, l3-cache) and features switched off (avx512f) are dropped.
	assert.NotContains(t, f.Models, "max")
	assert.NotContains(t, f.Models, "base")
	assert.Equal(t, VendorIntel, f.Models["Nehalem"].Vendor)
	assert.Contains(t, f.Models["Nehalem"].Features, "sse4.1")
	for _, m := range f.Models {
		for _, feat := range m.Features {
			assert.True(t, IsQEMUFeature(feat), feat)
		}
	}
	assert.Contains(t, f.HostModelFeatures, "avx")
	assert.NotContains(t, f.HostModelFeatures, "sse4_1")
	// Host vendor AMD: the AMD model with the most features that are all
	// in max's, although Westmere has more.
	assert.Equal(t, "Opteron_G2", f.HostModel)
	require.NoError(t, f.Validate())
}

func TestProbeFakeKVM(t *testing.T) {
	cfg := fakeQEMU(t, "7.2.0", "")
	cfg.Accelerator = AccelKVM
	f, err := Probe(context.Background(), cfg)
	require.NoError(t, err)
	assert.Contains(t, f.UsableModels, "host")
	assert.Contains(t, f.HostModelFeatures, "svm")
}

func TestProbeErrors(t *testing.T) {
	t.Run("no qemu", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.QEMUBinary = "/nonexistent/qemu-system-x86_64"
		_, err := Probe(context.Background(), cfg)
		assert.ErrorIs(t, err, ErrNoQEMU)
	})
	t.Run("bad config", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Accelerator = "hvf"
		_, err := Probe(context.Background(), cfg)
		assert.ErrorIs(t, err, ErrInvalidConfig)
		assert.ErrorContains(t, err, `Accelerator "hvf"`)
	})
	t.Run("qemu fails to start kvm", func(t *testing.T) {
		cfg := fakeQEMU(t, "7.2.0", "nokvm")
		cfg.Accelerator = AccelKVM
		_, err := Probe(context.Background(), cfg)
		require.Error(t, err)
		assert.ErrorContains(t, err, "Could not access KVM kernel module")
	})
	t.Run("qemu hangs", func(t *testing.T) {
		cfg := fakeQEMU(t, "7.2.0", "hang")
		cfg.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := Probe(context.Background(), cfg)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second, "the hung QEMU is killed at the timeout")
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"default", func(*Config) {}, ""},
		{"no binary", func(c *Config) { c.QEMUBinary = "" }, "QEMUBinary"},
		{"accelerator", func(c *Config) { c.Accelerator = "auto" }, `Accelerator "auto"`},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "Timeout 0s"},
		{"cpuinfo", func(c *Config) { c.CPUInfoPath = "" }, "CPUInfoPath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestQMPSession runs the probe's QMP conversation against the fake
// server over pipes, including a command QEMU answers with an error.
func TestQMPSession(t *testing.T) {
	dial := func(t *testing.T) *qmpConn {
		cr, sw := io.Pipe()
		sr, cw := io.Pipe()
		done := make(chan error, 1)
		go func() { done <- serveFakeQMP(sr, sw, "8.0.1", AccelTCG) }()
		t.Cleanup(func() {
			cw.Close()
			require.NoError(t, <-done)
		})
		c, err := dialQMP(cr, cw)
		require.NoError(t, err)
		return c
	}
	t.Run("report", func(t *testing.T) {
		rep, err := queryQEMU(dial(t), AccelTCG)
		require.NoError(t, err)
		assert.Equal(t, "8.0.1 (fake)", rep.version)
		assert.Len(t, rep.models, 6)
	})
	t.Run("error answer", func(t *testing.T) {
		_, err := expandModel(dial(t), "Pentium9")
		assert.ErrorIs(t, err, ErrQMP)
		assert.ErrorContains(t, err, "GenericError")
	})
	t.Run("unknown command", func(t *testing.T) {
		err := dial(t).execute("query-nothing", nil, nil)
		assert.ErrorIs(t, err, ErrQMP)
	})
	t.Run("not qmp", func(t *testing.T) {
		_, err := dialQMP(strings.NewReader(`{"hello": 1}`), io.Discard)
		assert.ErrorIs(t, err, ErrQMP)
	})
}

// TestProbeTCG probes the real QEMU under TCG, as the agent does on these
// machines.
func TestProbeTCG(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	cfg := DefaultConfig()
	start := time.Now()
	f, err := Probe(context.Background(), cfg)
	require.NoError(t, err)
	t.Logf("probe took %v: %d usable models, host model %s, %d guest features, qemu %s",
		time.Since(start).Round(time.Millisecond), len(f.UsableModels), f.HostModel, len(f.HostModelFeatures), f.QEMUVersion)
	require.NoError(t, f.Validate())

	for _, m := range []string{"Nehalem", "Westmere", "qemu64", "kvm64", "Penryn", "max"} {
		assert.True(t, f.Usable(m), "%s usable under TCG", m)
	}
	assert.False(t, f.Usable("host"), "no host model under TCG")
	assert.InDelta(t, 38, len(f.UsableModels), 6, "about 38 usable models under TCG: %v", f.UsableModels)
	assert.Contains(t, f.Models["Nehalem"].Features, "sse4.2")
	assert.Contains(t, f.HostModelFeatures, "sse4.2")
	assert.Contains(t, f.HostModelFeatures, "lm")

	arg, err := CPUArg(ClassModel, "Nehalem", nil, f)
	require.NoError(t, err)
	assert.Equal(t, "Nehalem", arg)
	arg, err = CPUArg(ClassHost, "", nil, f)
	require.NoError(t, err)
	assert.Equal(t, "max", arg)
	_, err = CPUArg(ClassModel, "Skylake-Client", nil, f)
	assert.ErrorIs(t, err, ErrModelNotUsable)
}

// TestProbeKVMHere probes with -accel kvm where /dev/kvm exists. On the
// build machines that is PVM, with no 64-bit named model; the test only
// reports what it finds.
func TestProbeKVMHere(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	cfg := DefaultConfig()
	cfg.Accelerator = AccelKVM
	f, err := Probe(context.Background(), cfg)
	if err != nil {
		t.Skipf("no usable KVM here: %v", err)
	}
	t.Logf("kvm: %d usable models %v, host model %q", len(f.UsableModels), f.UsableModels, f.HostModel)
	assert.True(t, f.Usable("host"))
	require.NoError(t, f.Validate())
}
