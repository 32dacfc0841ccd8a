package api

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func guideClass(t *testing.T, name string) *VirtualMachineClass {
	t.Helper()
	b, err := os.ReadFile("testdata/guide-classes.yaml")
	require.NoError(t, err)
	rs, err := Decode(b)
	require.NoError(t, err)
	for _, r := range rs {
		if r.GetObjectMeta().Name == name {
			return r.(*VirtualMachineClass)
		}
	}
	t.Fatalf("no class %s", name)
	return nil
}

func vmWith(t *testing.T, cores int, fraction, memory string) *VirtualMachine {
	vm := decodeOne[*VirtualMachine](t, validVM)
	vm.Spec.CPU.Cores, vm.Spec.CPU.CoreFraction = cores, fraction
	vm.Spec.Memory.Size = MustParseQuantity(memory)
	return vm
}

func TestMatchSizingPolicy(t *testing.T) {
	g := PredefinedClasses()[2]
	for cores, want := range map[int]int{1: 0, 4: 0, 5: 1, 16: 2, 17: 3, 1024: 3, 0: -1, 1025: -1} {
		p, i := MatchSizingPolicy(g, cores)
		assert.Equal(t, want, i, cores)
		assert.Equal(t, want < 0, p == nil)
	}
	// The first matching policy wins.
	c := &VirtualMachineClass{Spec: VirtualMachineClassSpec{SizingPolicies: []SizingPolicy{{Cores: cores(1, 10)}, {Cores: cores(3, 5)}}}}
	_, i := MatchSizingPolicy(c, 4)
	assert.Equal(t, 0, i)
}

func TestDefaultVMAgainstClass(t *testing.T) {
	pol := func(fractions []int, def *CoreFraction) *VirtualMachineClass {
		p := SizingPolicy{Cores: cores(1, 4), DefaultCoreFraction: def}
		for _, f := range fractions {
			p.CoreFractions = append(p.CoreFractions, FractionPercent(f))
		}
		return &VirtualMachineClass{Metadata: ObjectMeta{Name: "c"}, Spec: VirtualMachineClassSpec{SizingPolicies: []SizingPolicy{p}}}
	}
	cases := []struct {
		name     string
		class    *VirtualMachineClass
		cores    int
		fraction string
		want     string
		errs     []string
	}{
		{"no policies: 100%", &VirtualMachineClass{}, 2, "", "100%", nil},
		{"policy default", pol([]int{10, 50, 100}, ptr(FractionPercent(10))), 2, "", "10%", nil},
		{"policy default as string", pol([]int{10, 50}, ptr(fractionFromString("50%"))), 2, "", "50%", nil},
		{"policy default Auto", pol([]int{10, 50}, ptr(FractionAuto())), 2, "", "Auto", nil},
		{"no default, 100 listed", pol([]int{10, 100}, nil), 2, "", "100%", nil},
		{"no default, no list", pol(nil, nil), 2, "", "100%", nil},
		{"no default, 100 not listed", pol([]int{10, 50}, nil), 2, "", "", []string{"spec.cpu.coreFraction"}},
		{"set fraction kept", pol([]int{10, 50}, nil), 2, "50%", "50%", nil},
		{"no policy matches", pol([]int{10, 100}, nil), 8, "", "", []string{"spec.cpu.cores"}},
		{"no policy matches, fraction set", pol([]int{10, 100}, nil), 8, "10%", "10%", []string{"spec.cpu.cores"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vm := vmWith(t, c.cores, c.fraction, "1Gi")
			errs := DefaultVMAgainstClass(vm, c.class)
			assert.Equal(t, c.errs, nilIfEmpty(fields(errs)), "%v", errs)
			assert.Equal(t, c.want, vm.Spec.CPU.CoreFraction)
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestValidateVMSizing(t *testing.T) {
	disc := guideClass(t, "discovery")
	stepped := &VirtualMachineClass{Metadata: ObjectMeta{Name: "s"}, Spec: VirtualMachineClassSpec{SizingPolicies: []SizingPolicy{{
		Cores:  &SizingPolicyCores{Min: 2, Max: 11, Step: 4},
		Memory: &SizingPolicyMemory{Step: ptr(MustParseQuantity("1Gi")), PerCore: &MemoryPerCore{Min: ptr(MustParseQuantity("1Gi")), Max: ptr(MustParseQuantity("4Gi"))}},
	}}}}
	both := &VirtualMachineClass{Spec: VirtualMachineClassSpec{SizingPolicies: []SizingPolicy{{
		Cores: cores(1, 8),
		Memory: &SizingPolicyMemory{Max: ptr(MustParseQuantity("16Gi")), Step: ptr(MustParseQuantity("1Gi")),
			PerCore: &MemoryPerCore{Min: ptr(MustParseQuantity("1Gi"))}},
	}}}}
	noMax := &VirtualMachineClass{Spec: VirtualMachineClassSpec{SizingPolicies: []SizingPolicy{{
		Cores: cores(1, 4), Memory: &SizingPolicyMemory{Min: ptr(MustParseQuantity("1Gi")), Step: ptr(MustParseQuantity("1Gi"))},
	}}}}
	cases := []struct {
		name      string
		class     *VirtualMachineClass
		cores     int
		fraction  string
		memory    string
		dedicated bool
		want      []string
	}{
		{"fits", disc, 2, "10%", "1536Mi", false, nil},
		{"no policies", &VirtualMachineClass{}, 3, "7%", "1", true, nil},
		{"no match", disc, 0, "100%", "1Gi", false, []string{"spec.cpu.cores"}},
		{"fraction not listed", disc, 6, "10%", "6Gi", false, []string{"spec.cpu.coreFraction"}},
		{"Auto skips the list", disc, 6, "Auto", "6Gi", false, nil},
		{"memory below min", disc, 2, "10%", "512Mi", false, []string{"spec.memory.size"}},
		{"memory above max", disc, 2, "10%", "9Gi", false, []string{"spec.memory.size"}},
		{"memory off grid", disc, 2, "10%", "1200Mi", false, []string{"spec.memory.size"}},
		{"memory max always allowed", disc, 10, "50%", "32Gi", false, nil},
		{"everything wrong at once", disc, 6, "5%", "4500Mi", true,
			[]string{"spec.cpu.coreFraction", "spec.memory.size", "spec.cpu.dedicatedCores"}},
		{"two memory failures", both, 6, "100%", "5632Mi", false, []string{"spec.memory.size", "spec.memory.size"}},
		{"dedicated allowed", disc, 10, "100%", "10Gi", true, nil},
		{"dedicated required by [true]", disc, 18, "100%", "18Gi", false, []string{"spec.cpu.dedicatedCores"}},
		{"per core ok", disc, 18, "100%", "36Gi", true, nil},
		{"per core below", disc, 18, "100%", "17Gi", true, []string{"spec.memory.size"}},
		{"per core above", disc, 18, "100%", "37Gi", true, []string{"spec.memory.size"}},
		{"core step on grid", stepped, 6, "100%", "6Gi", false, nil},
		{"core step max allowed", stepped, 11, "100%", "11Gi", false, nil},
		{"core step off grid", stepped, 5, "100%", "5Gi", false, []string{"spec.cpu.cores"}},
		{"per-core grid", stepped, 2, "100%", "3Gi", false, []string{"spec.memory.size"}},
		{"per-core grid max allowed", stepped, 2, "100%", "8Gi", false, nil},
		{"step without max is not enforced", noMax, 2, "100%", "1536Mi", false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vm := vmWith(t, c.cores, c.fraction, c.memory)
			vm.Spec.CPU.DedicatedCores = c.dedicated
			errs := ValidateVMSizing(vm, c.class)
			assert.Equal(t, c.want, nilIfEmpty(fields(errs)), "%v", errs)
		})
	}
}

func TestSizingMessagesPrintTotals(t *testing.T) {
	errs := ValidateVMSizing(vmWith(t, 18, "100%", "17Gi"), guideClass(t, "discovery"))
	require.Len(t, errs, 2)
	assert.Contains(t, errs[0].Detail, "18Gi")
	assert.Contains(t, errs[1].Detail, "dedicated")
}
