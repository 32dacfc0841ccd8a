package scheduler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

func TestScores(t *testing.T) {
	t.Run("least allocated spreads", func(t *testing.T) {
		nodes := []*api.Node{mkNode("a", 4, "16Gi"), mkNode("b", 4, "16Gi")}
		running := []*api.VirtualMachine{mkVM("r", 2, "100%", "4Gi", on("a", api.VMRunning))}
		d, err := Place(snapshot(nodes, running), mkVM("vm", 1, "50%", "1Gi"))
		require.NoError(t, err)
		assert.Equal(t, "b", d.Node)
	})
	t.Run("ties go to the first name", func(t *testing.T) {
		nodes := []*api.Node{mkNode("c", 4, "16Gi"), mkNode("a", 4, "16Gi"), mkNode("b", 4, "16Gi")}
		d, err := Place(snapshot(nodes, nil), mkVM("vm", 1, "50%", "1Gi"))
		require.NoError(t, err)
		assert.Equal(t, "a", d.Node)
	})
	t.Run("a node holding the image is preferred at equal load", func(t *testing.T) {
		nodes := []*api.Node{mkNode("a", 4, "16Gi"), mkNode("b", 4, "16Gi")}
		s := snapshot(nodes, nil)
		s.ImageHolders = map[ImageKey][]string{{Kind: api.KindClusterVirtualImage, Name: "debian"}: {"b", "unknown-node"}}
		d, err := Place(s, mkVM("vm", 1, "50%", "1Gi", withImage("debian")))
		require.NoError(t, err)
		assert.Equal(t, "b", d.Node)
	})
	t.Run("the image bonus does not beat a much emptier node", func(t *testing.T) {
		nodes := []*api.Node{mkNode("a", 4, "16Gi"), mkNode("b", 4, "16Gi")}
		running := []*api.VirtualMachine{mkVM("r", 3, "100%", "12Gi", on("b", api.VMRunning))}
		s := snapshot(nodes, running)
		s.ImageHolders = map[ImageKey][]string{{Kind: api.KindClusterVirtualImage, Name: "debian"}: {"b"}}
		d, err := Place(s, mkVM("vm", 1, "50%", "1Gi", withImage("debian")))
		require.NoError(t, err)
		assert.Equal(t, "a", d.Node)
	})
	t.Run("a VirtualImage is looked up in the VM's namespace", func(t *testing.T) {
		nodes := []*api.Node{mkNode("a", 4, "16Gi"), mkNode("b", 4, "16Gi")}
		s := snapshot(nodes, nil)
		s.ImageHolders = map[ImageKey][]string{
			{Kind: api.KindVirtualImage, Namespace: "other", Name: "img"}:   {"a"},
			{Kind: api.KindVirtualImage, Namespace: "default", Name: "img"}: {"b"},
		}
		vm := mkVM("vm", 1, "50%", "1Gi")
		vm.Spec.BlockDeviceRefs = []api.BlockDeviceRef{{Kind: api.KindVirtualImage, Name: "img"}}
		d, err := Place(s, vm)
		require.NoError(t, err)
		assert.Equal(t, "b", d.Node)
	})
	t.Run("an untolerated PreferNoSchedule taint is avoided", func(t *testing.T) {
		nodes := []*api.Node{mkNode("a", 4, "16Gi", tainted("spot", "", api.TaintPreferNoSchedule)), mkNode("b", 4, "16Gi")}
		running := []*api.VirtualMachine{mkVM("r", 1, "100%", "2Gi", on("b", api.VMRunning))}
		d, err := Place(snapshot(nodes, running), mkVM("vm", 1, "50%", "1Gi"))
		require.NoError(t, err)
		assert.Equal(t, "b", d.Node)

		d, err = Place(snapshot(nodes, running), mkVM("vm", 1, "50%", "1Gi", tolerates(api.Toleration{Key: "spot", Operator: "Exists"})))
		require.NoError(t, err)
		assert.Equal(t, "a", d.Node)
	})
}

func TestAccounting(t *testing.T) {
	nodes := []*api.Node{mkNode("a", 4, "16Gi"), mkNode("b", 4, "16Gi")}

	t.Run("a migrating VM counts on source and target", func(t *testing.T) {
		m := mkVM("m", 2, "50%", "1Gi", on("a", api.VMMigrating))
		m.Status.MigrationState = &api.VMMigrationState{Target: &api.VMMigrationTarget{Node: "b"}}
		s := NewState(snapshot(nodes, []*api.VirtualMachine{m}))
		for _, n := range []string{"a", "b"} {
			u, ok := s.Usage(n)
			require.True(t, ok)
			assert.Equal(t, int64(1000), u.CPUMilli, n)
		}
		m.Status.MigrationState.Result = "Succeeded"
		s = NewState(snapshot(nodes, []*api.VirtualMachine{m}))
		u, _ := s.Usage("b")
		assert.Zero(t, u.CPUMilli)
	})
	t.Run("the running size counts while a shrink waits for a restart", func(t *testing.T) {
		vm := mkVM("vm", 1, "10%", "1Gi", on("a", api.VMRunning))
		vm.Status.Resources = &api.VMResources{
			CPU:    api.VMCPUResources{Cores: 4, CoreFraction: "50%"},
			Memory: api.VMMemoryResources{Size: "8Gi"},
		}
		d := DemandOf(vm)
		assert.Equal(t, int64(2000), d.CPUMilli)
		assert.Equal(t, int64(8<<30)+MemoryOverhead(4, 8<<30), d.MemoryBytes)
	})
	t.Run("demand", func(t *testing.T) {
		cases := []struct {
			vm        *api.VirtualMachine
			milli     int64
			dedicated int64
		}{
			{mkVM("x", 2, "20%", "1Gi"), 400, 0},
			{mkVM("x", 3, "5%", "1Gi"), 150, 0},
			{mkVM("x", 1, "", "1Gi"), 1000, 0},
			{mkVM("x", 2, "bogus", "1Gi"), 2000, 0},
			{mkVM("x", 2, "Auto", "1Gi"), 2000, 0},
			{mkVM("x", 4, "100%", "1Gi", dedicated), 4000, 4},
			{mkVM("x", 0, "100%", "1Gi"), 1000, 0},
		}
		for _, tc := range cases {
			d := DemandOf(tc.vm)
			assert.Equal(t, tc.milli, d.CPUMilli, tc.vm.Spec.CPU)
			assert.Equal(t, tc.dedicated, d.DedicatedCores, tc.vm.Spec.CPU)
		}
		auto := mkVM("x", 2, "Auto", "1Gi")
		auto.Status.RecommendedResources = &api.VMRecommendedResources{CPU: &api.VMRecommendedCPU{CoreFraction: "10%"}}
		assert.Equal(t, int64(200), DemandOf(auto).CPUMilli)
		// 1 GiB, 2 vCPUs: 128 MiB fixed + 2 × 8 MiB + 1 GiB / 512.
		assert.Equal(t, int64(1<<30+146<<20), DemandOf(mkVM("x", 2, "10%", "1Gi")).MemoryBytes)
		assert.Equal(t, int64(8<<20), PerVCPUMemoryOverhead)
	})
	t.Run("Assign, re-Assign and Release keep usage exact", func(t *testing.T) {
		s := NewState(snapshot(nodes, nil))
		vm := mkVM("vm", 2, "50%", "1Gi")
		require.NoError(t, s.Assign(vm, "a"))
		u, _ := s.Usage("a")
		assert.Equal(t, DemandOf(vm), u)
		require.NoError(t, s.Assign(vm, "b"))
		u, _ = s.Usage("a")
		assert.Zero(t, u)
		u, _ = s.Usage("b")
		assert.Equal(t, DemandOf(vm), u)
		s.Release(vm)
		u, _ = s.Usage("b")
		assert.Zero(t, u)
		require.ErrorIs(t, s.Assign(vm, "nowhere"), ErrNodeNotFound)
		require.ErrorIs(t, s.Assign(nil, "a"), ErrNoVM)
		_, ok := s.Usage("nowhere")
		assert.False(t, ok)
	})
	t.Run("re-placing a VM leaves its own usage out", func(t *testing.T) {
		one := []*api.Node{mkNode("a", 2, "4Gi")}
		vm := mkVM("vm", 2, "100%", "2Gi", on("a", api.VMRunning))
		d, err := Place(snapshot(one, []*api.VirtualMachine{vm}), vm)
		require.NoError(t, err)
		assert.Equal(t, "a", d.Node)
	})
	t.Run("duplicate and unnamed nodes are ignored", func(t *testing.T) {
		s := NewState(snapshot([]*api.Node{mkNode("a", 1, "1Gi"), mkNode("a", 64, "64Gi"), mkNode("", 64, "64Gi"), nil}, nil))
		alloc, ok := s.Allocatable("a")
		require.True(t, ok)
		assert.Equal(t, Demand{CPUMilli: 1000, MemoryBytes: 1 << 30}, alloc)
	})
}

func TestCPUMilli(t *testing.T) {
	cases := []struct {
		in   api.IntOrString
		want int64
		ok   bool
	}{
		{api.IntOrStringFromInt(4), 4000, true},
		{api.IntOrString{IsString: true, StrVal: "4"}, 4000, true},
		{api.IntOrString{IsString: true, StrVal: "3500m"}, 3500, true},
		{api.IntOrString{IsString: true, StrVal: "2.5"}, 2500, true},
		{api.IntOrString{IsString: true, StrVal: "0.125"}, 125, true},
		{api.IntOrString{IsString: true, StrVal: "0.1255"}, 0, false},
		{api.IntOrString{IsString: true, StrVal: "four"}, 0, false},
		{api.IntOrString{IsString: true, StrVal: "-1"}, 0, false},
		{api.IntOrStringFromInt(-1), -1000, false},
	}
	for _, tc := range cases {
		got, ok := cpuMilli(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in.String())
		if tc.ok {
			assert.Equal(t, tc.want, got, tc.in.String())
		}
	}
	// A node whose CPU cannot be read takes nothing.
	bad := mkNode("bad", 0, "64Gi")
	bad.Status.Allocatable.CPU = api.IntOrString{IsString: true, StrVal: "lots"}
	d, err := Place(snapshot([]*api.Node{bad}, nil), mkVM("vm", 1, "5%", "1Gi"))
	require.ErrorIs(t, err, ErrUnschedulable)
	assert.Equal(t, 1, d.Reasons[FilterInsufficientCPU])
}

func TestNewDisk(t *testing.T) {
	local := &api.StorageClass{Spec: api.StorageClassSpec{Type: api.StorageTypeLocal}}
	local.Default()
	shared := &api.StorageClass{Spec: api.StorageClassSpec{Type: api.StorageTypeShared}}
	shared.Default()
	vd := &api.VirtualDisk{Metadata: api.ObjectMeta{Name: "d", Namespace: "default"}}

	assert.Equal(t, &Disk{VD: vd, AccessMode: api.AccessReadWriteOnce, BoundNode: "n1"}, NewDisk(vd, local, "n1"))
	assert.Equal(t, &Disk{VD: vd, AccessMode: api.AccessReadWriteMany}, NewDisk(vd, shared, "n1"))
	assert.Equal(t, &Disk{VD: vd, AccessMode: api.AccessReadWriteOnce}, NewDisk(vd, nil, ""))
}

func TestStays(t *testing.T) {
	rack := func(v string) nodeOpt { return func(n *api.Node) { n.Metadata.Labels["rack"] = v } }
	nodes := []*api.Node{mkNode("a", 4, "8Gi", rack("1")), mkNode("b", 4, "8Gi", rack("2"))}
	class := &api.VirtualMachineClass{Metadata: api.ObjectMeta{Name: "c"}}
	class.Spec.CPU.Type = api.CPUTypeModel
	class.Spec.NodeSelector = &api.LabelSelector{MatchLabels: map[string]string{"rack": "1"}}
	class.Status.Phase = api.ClassReady
	class.Status.AvailableNodes = []string{"a", "b"}
	vm := &api.VirtualMachine{Metadata: api.ObjectMeta{Namespace: "ns", Name: "v"}}
	vm.Spec.VirtualMachineClassName = "c"
	s := NewState(&Snapshot{Nodes: nodes, Classes: map[string]*api.VirtualMachineClass{"c": class}})

	_, ok := s.Stays(vm, "a")
	assert.True(t, ok)
	f, ok := s.Stays(vm, "b")
	assert.False(t, ok)
	assert.Equal(t, FilterNodeSelectorMismatch, f)

	class.Spec.NodeSelector = nil
	class.Status.AvailableNodes = []string{"b"}
	s = NewState(&Snapshot{Nodes: nodes, Classes: map[string]*api.VirtualMachineClass{"c": class}})
	f, ok = s.Stays(vm, "a")
	assert.False(t, ok)
	assert.Equal(t, FilterClassCPUUnavailable, f)
	assert.Contains(t, StaysMessage(f, vm, "a"), "can no longer run the CPU")

	class.Status.Phase = "" // not computed yet: nothing to compare with
	s = NewState(&Snapshot{Nodes: nodes, Classes: map[string]*api.VirtualMachineClass{"c": class}})
	_, ok = s.Stays(vm, "a")
	assert.True(t, ok)

	vm.Spec.VirtualMachineClassName = "gone"
	_, ok = s.Stays(vm, "a")
	assert.True(t, ok, "a VM whose class is gone is not moved for it")
	_, ok = s.Stays(vm, "nosuchnode")
	assert.True(t, ok)
}
