package cpuinfo

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQEMUFeatureName(t *testing.T) {
	for _, tc := range []struct {
		vendor, flag, want string // want "" = QEMU has no such feature
	}{
		// The ones ENVIRONMENT.md lists.
		{VendorIntel, "pni", "pni"},
		{VendorIntel, "sse4_1", "sse4.1"},
		{VendorIntel, "sse4_2", "sse4.2"},
		{VendorIntel, "lahf_lm", "lahf-lm"},
		{VendorAMD, "cmp_legacy", "cmp-legacy"},
		{VendorAMD, "fxsr_opt", "fxsr-opt"},
		{VendorAMD, "cr8_legacy", "cr8legacy"},
		{VendorIntel, "tsc_deadline_timer", "tsc-deadline"},
		{VendorIntel, "tsc_adjust", "tsc-adjust"},
		{VendorIntel, "sha_ni", "sha-ni"},
		// More that QEMU spells differently.
		{VendorIntel, "dts", "ds"},
		{VendorIntel, "ds_cpl", "ds-cpl"},
		{VendorIntel, "intel_pt", "intel-pt"},
		{VendorIntel, "avx512_vnni", "avx512vnni"},
		{VendorIntel, "avx512_vbmi2", "avx512vbmi2"},
		{VendorIntel, "avx512_bitalg", "avx512bitalg"},
		{VendorIntel, "avx512_vpopcntdq", "avx512-vpopcntdq"},
		{VendorIntel, "avx512_bf16", "avx512-bf16"},
		{VendorIntel, "avx512_fp16", "avx512-fp16"},
		{VendorIntel, "avx_vnni", "avx-vnni"},
		{VendorIntel, "md_clear", "md-clear"},
		{VendorIntel, "flush_l1d", "flush-l1d"},
		{VendorIntel, "arch_capabilities", "arch-capabilities"},
		{VendorIntel, "tsxldtrk", "tsx-ldtrk"},
		{VendorIntel, "amx_tile", "amx-tile"},
		{VendorIntel, "split_lock_detect", "split-lock-detect"},
		{VendorIntel, "nonstop_tsc", "invtsc"},
		{VendorAMD, "perfctr_core", "perfctr-core"},
		{VendorAMD, "nodeid_msr", "nodeid-msr"},
		{VendorAMD, "nrip_save", "nrip-save"},
		{VendorAMD, "pausefilter", "pause-filter"},
		{VendorAMD, "v_vmsave_vmload", "v-vmsave-vmload"},
		{VendorAMD, "virt_ssbd", "virt-ssbd"},
		{VendorAMD, "overflow_recov", "overflow-recov"},
		{"CentaurHauls", "rng_en", "xstore-en"},
		{"CentaurHauls", "ace", "xcrypt"},
		// Speculation control: one kernel flag, a QEMU feature per vendor.
		{VendorIntel, "ibrs", "spec-ctrl"},
		{VendorAMD, "ibrs", "ibrs"},
		{VendorIntel, "ibpb", "spec-ctrl"},
		{VendorAMD, "ibpb", "ibpb"},
		{VendorIntel, "stibp", "stibp"},
		{VendorAMD, "stibp", "amd-stibp"},
		{VendorIntel, "ssbd", "ssbd"},
		{VendorHygon, "ssbd", "amd-ssbd"},
		// Same name in both.
		{VendorIntel, "avx2", "avx2"},
		{VendorIntel, "pclmulqdq", "pclmulqdq"},
		{VendorAMD, "3dnowprefetch", "3dnowprefetch"},
		{VendorIntel, "x2apic", "x2apic"},
		{VendorAMD, "xsaveerptr", "xsaveerptr"},
		// Kernel-only flags.
		{VendorIntel, "constant_tsc", ""},
		{VendorIntel, "rep_good", ""},
		{VendorIntel, "xtopology", ""},
		{VendorAMD, "vmmcall", ""},
		{VendorIntel, "ept", ""},
		{VendorIntel, "ospke", ""},
		{VendorAMD, "mwaitx", ""},
	} {
		got, ok := QEMUFeatureName(tc.vendor, tc.flag)
		assert.Equal(t, tc.want, got, "%s on %s", tc.flag, tc.vendor)
		assert.Equal(t, tc.want != "", ok, "%s on %s", tc.flag, tc.vendor)
	}
}

// TestNameTables keeps the tables consistent: every rename lands on a
// QEMU name, and no renamed kernel flag is itself a QEMU name.
func TestNameTables(t *testing.T) {
	for k, v := range kernelToQEMU {
		assert.True(t, qemuFeatures[v], "kernelToQEMU[%q] = %q is no QEMU feature", k, v)
		assert.False(t, qemuFeatures[k], "kernel flag %q is already a QEMU name", k)
	}
	for k, v := range speculationFlags {
		assert.True(t, qemuFeatures[v.intel] && qemuFeatures[v.amd], "speculationFlags[%q]", k)
	}
	for name := range qemuFeatures {
		assert.NotContains(t, name, "_", "QEMU's canonical names use dashes: %q", name)
	}
}

func TestReadHost(t *testing.T) {
	h, err := ReadHost("testdata/cpuinfo-epyc-pvm.txt")
	require.NoError(t, err)
	assert.Equal(t, VendorAMD, h.Vendor)
	for _, want := range []string{"pni", "sse4.1", "sse4.2", "lahf-lm", "cmp-legacy", "fxsr-opt", "cr8legacy",
		"tsc-deadline", "tsc-adjust", "sha-ni", "avx512vnni", "invtsc", "hypervisor"} {
		assert.Contains(t, h.Features, want)
	}
	for _, kernelOnly := range []string{"constant_tsc", "vmmcall", "sse4_2", "nopl"} {
		assert.NotContains(t, h.Features, kernelOnly)
	}
	assert.IsNonDecreasing(t, h.Features)
}

func TestParseCPUInfo(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		vendor     string
		flags      int
		wantErr    bool
	}{
		{"two processors, first wins", "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse4_2\n\nprocessor\t: 1\nvendor_id\t: Other\nflags\t\t: fpu\n", VendorIntel, 2, false},
		{"no flags", "processor\t: 0\nvendor_id\t: GenuineIntel\n", "", 0, true},
		{"no vendor", "flags\t\t: fpu\n", "", 0, true},
		{"empty", "", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vendor, flags, err := ParseCPUInfo(strings.NewReader(tc.text))
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrNoCPUInfo)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.vendor, vendor)
			assert.Len(t, flags, tc.flags)
		})
	}
	_, err := ReadHost("testdata/no-such-file")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestCommonFeatures(t *testing.T) {
	assert.Nil(t, CommonFeatures())
	assert.Equal(t, []string{"a", "b"}, CommonFeatures([]string{"b", "a"}))
	assert.Equal(t, []string{"b"}, CommonFeatures([]string{"a", "b"}, []string{"b", "c"}, []string{"b"}))
	assert.Empty(t, CommonFeatures([]string{"a"}, []string{"c"}))
}
