package cpuinfo

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustLoad(t *testing.T, name string) Facts {
	t.Helper()
	f, err := LoadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return f
}

// TestRecordedFacts checks the shipped fact files: each loads, and the
// simulated nodes differ the way the CPUs they stand for differ.
func TestRecordedFacts(t *testing.T) {
	westmere := mustLoad(t, "intel-westmere-kvm.json")
	cascade := mustLoad(t, "intel-cascadelake-kvm.json")
	rome := mustLoad(t, "amd-epyc-rome-kvm.json")
	here := mustLoad(t, "this-machine-tcg.json")

	assert.Equal(t, VendorIntel, westmere.Vendor)
	assert.Equal(t, VendorIntel, cascade.Vendor)
	assert.Equal(t, VendorAMD, rome.Vendor)
	assert.Equal(t, AccelTCG, here.Accelerator)

	for _, tc := range []struct {
		f         Facts
		has, lack []string
	}{
		{westmere, []string{"aes", "pclmulqdq", "sse4.2", "popcnt"}, []string{"avx", "avx2", "xsave"}},
		{cascade, []string{"avx", "avx2", "aes", "avx512f", "avx512vnni", "fma"}, []string{"hle", "rtm", "sha-ni"}},
		{rome, []string{"avx2", "sha-ni", "clzero", "sse4a", "svm"}, []string{"avx512f", "pcid", "invpcid", "vmx"}},
	} {
		for _, feat := range tc.has {
			assert.Contains(t, tc.f.Features, feat, tc.f.HostModel)
			assert.Contains(t, tc.f.HostModelFeatures, feat, tc.f.HostModel)
		}
		for _, feat := range tc.lack {
			assert.NotContains(t, tc.f.Features, feat, tc.f.HostModel)
		}
	}

	// The intersection of the three is non-empty and smaller than each,
	// for host features and for guest features alike.
	for _, pick := range []func(Facts) []string{
		func(f Facts) []string { return f.Features },
		func(f Facts) []string { return f.HostModelFeatures },
	} {
		common := CommonFeatures(pick(westmere), pick(cascade), pick(rome))
		assert.NotEmpty(t, common)
		for _, f := range []Facts{westmere, cascade, rome} {
			assert.Less(t, len(common), len(pick(f)), f.HostModel)
		}
		assert.Contains(t, common, "sse4.2")
		assert.NotContains(t, common, "avx")
	}

	// Labels: the guide's jq over cpu-model labels lists these.
	for _, tc := range []struct {
		f             Facts
		models, notIn []string
		hostModel     string
		vendor        string
	}{
		{westmere, []string{"Nehalem", "Westmere", "kvm64", "qemu64"}, []string{"SandyBridge", "max"}, "Westmere-IBRS", "Intel"},
		{cascade, []string{"Nehalem", "Haswell-noTSX", "Cascadelake-Server-noTSX"}, []string{"Haswell", "Icelake-Server"}, "Cascadelake-Server-v5", "Intel"},
		{rome, []string{"EPYC-Rome", "Opteron_G3", "Nehalem"}, []string{"Opteron_G4", "Haswell-noTSX"}, "EPYC-Rome-v2", "AMD"},
		{here, []string{"Nehalem", "Westmere", "qemu64", "Opteron_G2"}, []string{"SandyBridge", "host", "max", "base"}, "Opteron_G2", "AMD"},
	} {
		l := Labels(tc.f)
		for _, m := range tc.models {
			assert.Equal(t, "true", l[ModelLabelPrefix+m], m)
			assert.Equal(t, "true", l[ModelMigrationLabelPrefix+m], m)
		}
		for _, m := range tc.notIn {
			assert.NotContains(t, l, ModelLabelPrefix+m)
		}
		assert.Equal(t, "true", l[HostModelLabelPrefix+tc.hostModel])
		assert.Equal(t, "true", l[VendorLabelPrefix+tc.vendor])
	}
}

// TestThisMachineMatchesRecording compares a fresh probe with the
// recorded one when the QEMU and kernel are those it was recorded with.
func TestThisMachineMatchesRecording(t *testing.T) {
	rec := mustLoad(t, "this-machine-tcg.json")
	cfg := DefaultConfig()
	if reason := staleReason(t.Context(), rec, cfg); reason != "" {
		t.Skipf("not the recorded machine: %s", reason)
	}
	f, err := Probe(t.Context(), cfg)
	require.NoError(t, err)
	assert.Equal(t, rec.UsableModels, f.UsableModels)
	assert.Equal(t, rec.HostModelFeatures, f.HostModelFeatures)
	assert.True(t, slices.Equal(rec.Features, f.Features))
}
