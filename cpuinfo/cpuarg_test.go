package cpuinfo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCPUArg(t *testing.T) {
	kvm := smallFacts()
	tcg := smallFacts()
	tcg.Accelerator = AccelTCG
	broken := smallFacts()
	broken.Accelerator = ""
	for _, tc := range []struct {
		name, classType, model string
		features               []string
		facts                  Facts
		want                   string
		err                    error
	}{
		{name: "Host under KVM", classType: ClassHost, facts: kvm, want: "host"},
		{name: "Host under TCG", classType: ClassHost, facts: tcg, want: "max"},
		{name: "HostPassthrough under KVM", classType: ClassHostPassthrough, facts: kvm, want: "host"},
		{name: "HostPassthrough under TCG", classType: ClassHostPassthrough, facts: tcg, want: "max"},
		{name: "Host without accelerator", classType: ClassHost, facts: broken, err: ErrInvalidFacts},
		{name: "Model usable", classType: ClassModel, model: "Nehalem", facts: kvm, want: "Nehalem"},
		{name: "Model not usable", classType: ClassModel, model: "Skylake-Client", facts: kvm, err: ErrModelNotUsable},
		{name: "Model empty", classType: ClassModel, facts: kvm, err: ErrModelNotUsable},
		{name: "Features: baseline plus the rest", classType: ClassFeatures,
			features: []string{"sse4.2", "hypervisor", "fpu"}, facts: kvm, want: "Nehalem,+hypervisor"},
		{name: "Discovery: exactly a model", classType: ClassDiscovery,
			features: []string{"fpu", "sse4.2"}, facts: kvm, want: "Nehalem"},
		{name: "Features: no model is a subset", classType: ClassFeatures,
			features: []string{"hypervisor"}, facts: kvm, want: "kvm64,+hypervisor"},
		{name: "Features: a host feature no guest gets", classType: ClassFeatures,
			features: []string{"fpu", "avx512f"}, facts: kvm, err: ErrFeatureNotAvailable},
		{name: "Features: unknown name", classType: ClassFeatures,
			features: []string{"sse4_2"}, facts: kvm, err: ErrFeatureNotAvailable},
		{name: "Features: none", classType: ClassFeatures, facts: kvm, err: ErrNoFeatures},
		{name: "Discovery: none", classType: ClassDiscovery, features: []string{}, facts: kvm, err: ErrNoFeatures},
		{name: "unknown type", classType: "Passthrough", facts: kvm, err: ErrUnknownClassType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CPUArg(tc.classType, tc.model, tc.features, tc.facts)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCPUArgRecordedNodes(t *testing.T) {
	westmere := mustLoad(t, "intel-westmere-kvm.json")
	cascade := mustLoad(t, "intel-cascadelake-kvm.json")
	rome := mustLoad(t, "amd-epyc-rome-kvm.json")
	here := mustLoad(t, "this-machine-tcg.json")

	t.Run("Features on a newer Intel", func(t *testing.T) {
		// Nehalem's features plus aes and avx: Westmere would need
		// pclmulqdq, so Nehalem is the newest subset.
		enabled := append(append([]string(nil), cascade.Models["Nehalem"].Features...), "aes", "avx")
		arg, err := CPUArg(ClassFeatures, "", enabled, cascade)
		require.NoError(t, err)
		assert.Equal(t, "Nehalem,+aes,+avx", arg)
		_, err = CPUArg(ClassFeatures, "", enabled, westmere)
		assert.ErrorIs(t, err, ErrFeatureNotAvailable, "no avx on Westmere")
	})
	t.Run("Model per node", func(t *testing.T) {
		for _, tc := range []struct {
			facts  Facts
			model  string
			usable bool
		}{
			{westmere, "Westmere", true}, {westmere, "SandyBridge", false},
			{cascade, "Cascadelake-Server-noTSX", true}, {cascade, "Icelake-Server", false},
			{rome, "EPYC-Rome", true}, {rome, "Opteron_G4", false}, {rome, "Haswell-noTSX", false},
			{here, "Nehalem", true}, {here, "SandyBridge", false},
		} {
			_, err := CPUArg(ClassModel, tc.model, nil, tc.facts)
			assert.Equal(t, tc.usable, err == nil, "%s on %s: %v", tc.model, tc.facts.HostModel, err)
		}
	})
	t.Run("Discovery over the three simulated nodes", func(t *testing.T) {
		nodes := []Facts{westmere, cascade, rome}
		enabled := CommonFeatures(westmere.HostModelFeatures, cascade.HostModelFeatures, rome.HostModelFeatures)
		require.NotEmpty(t, enabled)
		args := map[string]bool{}
		for _, f := range nodes {
			arg, err := CPUArg(ClassDiscovery, "", enabled, f)
			require.NoError(t, err)
			assert.ElementsMatch(t, enabled, argFeatures(t, arg, f), "%s gives exactly the enabled features", arg)
			args[arg] = true
			base, _, _ := strings.Cut(arg, ",")
			for _, other := range nodes {
				assert.True(t, other.Usable(base), "%s runs on every node of the pool (%s)", base, other.HostModel)
			}
		}
		// The two Intel nodes agree; the AMD node picks an AMD baseline.
		a1, _ := CPUArg(ClassDiscovery, "", enabled, westmere)
		a2, _ := CPUArg(ClassDiscovery, "", enabled, cascade)
		assert.Equal(t, a1, a2)
		assert.Len(t, args, 2)
		t.Logf("Discovery over the three: %v", args)
	})
	t.Run("host model is its own baseline", func(t *testing.T) {
		for _, f := range []Facts{westmere, cascade, rome, here} {
			arg, err := CPUArg(ClassDiscovery, "", f.HostModelFeatures, f)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(arg, f.HostModel+","), "%s starts with %s", arg, f.HostModel)
		}
	})
}

// argFeatures is the feature set QEMU would give for a -cpu argument made
// of a model and +features.
func argFeatures(t *testing.T, arg string, f Facts) []string {
	t.Helper()
	parts := strings.Split(arg, ",")
	m, ok := f.Models[parts[0]]
	require.True(t, ok, "baseline %s is a usable named model", parts[0])
	set := setOf(m.Features...)
	for _, p := range parts[1:] {
		feat, ok := strings.CutPrefix(p, "+")
		require.True(t, ok, "%q in %s", p, arg)
		require.False(t, set[feat], "%s already in %s", feat, parts[0])
		set[feat] = true
	}
	return sortedKeys(set)
}
