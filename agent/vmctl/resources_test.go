package vmctl

import (
	"testing"

	"davit/api"
	"davit/cgroup"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourcesOf(t *testing.T) {
	cases := []struct {
		name      string
		cores     int
		fraction  string
		dedicated bool
		mem       string
		want      api.VMResources
	}{
		{
			name: "2 cores at 20%", cores: 2, fraction: "20%", mem: "1Gi",
			want: api.VMResources{
				CPU: api.VMCPUResources{Cores: 2, CoreFraction: "20%", RequestedCores: "400m", RuntimeOverhead: "0",
					Topology: &api.VMTopology{Sockets: 1, CoresPerSocket: 2}},
				// 128 MiB fixed + 2 × 8 MiB per vCPU + 1 GiB / 512 (cgroup.MemoryOverhead).
				Memory: api.VMMemoryResources{Size: "1Gi", RuntimeOverhead: "146Mi"},
			},
		},
		{
			name: "no coreFraction is 100%", cores: 1, mem: "512Mi",
			want: api.VMResources{
				CPU: api.VMCPUResources{Cores: 1, CoreFraction: "100%", RequestedCores: "1000m", RuntimeOverhead: "0",
					Topology: &api.VMTopology{Sockets: 1, CoresPerSocket: 1}},
				Memory: api.VMMemoryResources{Size: "512Mi", RuntimeOverhead: "137Mi"},
			},
		},
		{
			name: "dedicated cores count whole", cores: 2, fraction: "20%", dedicated: true, mem: "1Gi",
			want: api.VMResources{
				CPU: api.VMCPUResources{Cores: 2, CoreFraction: "20%", RequestedCores: "2000m", RuntimeOverhead: "0",
					Topology: &api.VMTopology{Sockets: 1, CoresPerSocket: 2}},
				Memory: api.VMMemoryResources{Size: "1Gi", RuntimeOverhead: "146Mi"},
			},
		},
		{
			name: "20 cores are 2 sockets of 10", cores: 20, fraction: "50%", mem: "8Gi",
			want: api.VMResources{
				CPU: api.VMCPUResources{Cores: 20, CoreFraction: "50%", RequestedCores: "10000m", RuntimeOverhead: "0",
					Topology: &api.VMTopology{Sockets: 2, CoresPerSocket: 10}},
				Memory: api.VMMemoryResources{Size: "8Gi", RuntimeOverhead: "304Mi"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vm := specVM(tc.cores, tc.mem, diskRef("root", nil))
			vm.Spec.CPU.CoreFraction = tc.fraction
			vm.Spec.CPU.DedicatedCores = tc.dedicated
			spec := bootSpecOf(t, vm, tcg)
			got := resourcesOf(vm, spec)
			require.NotNil(t, got)
			assert.Equal(t, tc.want, *got)
		})
	}
}

func TestBlockDeviceStatus(t *testing.T) {
	vm := specVM(1, "1Gi", diskRef("data", nil), cviRef("installer-iso", bootOrder(1)), viRef("tools", nil))
	spec := bootSpecOf(t, vm, tcg)
	assert.Equal(t, []api.BlockDeviceStatusRef{
		{Kind: api.KindClusterVirtualImage, Name: "installer-iso", Attached: true, Target: "disk0", BootOrder: 1},
		{Kind: api.KindVirtualDisk, Name: "data", Attached: true, Target: "disk1", BootOrder: 2},
		{Kind: api.KindVirtualImage, Name: "tools", Attached: true, Target: "disk2", BootOrder: 3},
	}, blockDeviceStatus(vm, spec))

	spec.BlockDevices = nil
	assert.Empty(t, blockDeviceStatus(vm, spec))
}

func TestSplitDeviceName(t *testing.T) {
	for in, want := range map[string][2]string{
		"VirtualDisk/root":            {"VirtualDisk", "root"},
		"ClusterVirtualImage/a.b-1":   {"ClusterVirtualImage", "a.b-1"},
		"root":                        {"", "root"},
		"":                            {"", ""},
		"VirtualDisk/":                {"VirtualDisk", ""},
		"/root":                       {"", "root"},
		"VirtualImage/with/two/parts": {"VirtualImage", "with/two/parts"}, // the first '/' splits
	} {
		kind, name := splitDeviceName(in)
		assert.Equal(t, want, [2]string{kind, name}, "splitDeviceName(%q)", in)
	}
}

func TestGroupSpec(t *testing.T) {
	cases := []struct {
		name      string
		cores     int
		fraction  string
		dedicated bool
		mem       string
		milli     int64
	}{
		{"2 cores at 20%", 2, "20%", false, "1Gi", 400},
		{"4 cores at 25%", 4, "25%", false, "4Gi", 1000},
		{"no fraction", 1, "", false, "512Mi", 1000},
		{"dedicated", 2, "100%", true, "2Gi", 2000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vm := specVM(tc.cores, tc.mem)
			vm.Spec.CPU.CoreFraction = tc.fraction
			vm.Spec.CPU.DedicatedCores = tc.dedicated
			mem := api.MustParseQuantity(tc.mem).Bytes()
			got := groupSpec(vm)
			assert.Equal(t, cgroup.Spec{
				CPUGuaranteedMilli: tc.milli,
				CPULimitCores:      tc.cores,
				MemoryBytes:        mem + cgroup.MemoryOverhead(tc.cores, mem),
			}, got)
			require.NoError(t, got.Validate())
		})
	}
	// The doc's example: a 2-core 1 GiB VM is limited to 1 GiB + 146 MiB.
	assert.Equal(t, int64(1<<30+146<<20), groupSpec(specVM(2, "1Gi")).MemoryBytes)
}
