package scheduler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

// TestFilters runs one VM against small clusters, one case per filter (and
// per way through it), checking the chosen node and the per-filter counts.
func TestFilters(t *testing.T) {
	gi := "1Gi"
	tolDB := api.Toleration{Key: "dedicated", Operator: "Equal", Value: "db", Effect: api.TaintNoSchedule}
	cases := []struct {
		name    string
		nodes   []*api.Node
		running []*api.VirtualMachine
		classes []*api.VirtualMachineClass
		vm      *api.VirtualMachine
		want    string // "" when unschedulable
		reasons map[Filter]int
	}{
		{
			name:  "ready node wins over NotReady and missing condition",
			nodes: []*api.Node{mkNode("a", 4, "8Gi", notReady), mkNode("b", 4, "8Gi", noReadyCondition), mkNode("c", 4, "8Gi")},
			vm:    mkVM("vm", 1, "100%", gi), want: "c",
			reasons: map[Filter]int{FilterNotReady: 2},
		},
		{
			name:  "cordoned",
			nodes: []*api.Node{mkNode("a", 4, "8Gi", cordoned), mkNode("b", 4, "8Gi")},
			vm:    mkVM("vm", 1, "100%", gi), want: "b",
			reasons: map[Filter]int{FilterUnschedulable: 1},
		},
		{
			name:    "NoSchedule and NoExecute taints keep an intolerant VM off",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi", tainted("dedicated", "db", api.TaintNoSchedule)), mkNode("b", 4, "8Gi", tainted("gpu", "", api.TaintNoExecute))},
			vm:      mkVM("vm", 1, "100%", gi),
			reasons: map[Filter]int{FilterUntoleratedTaint: 2},
		},
		{
			name:  "VM toleration lets it onto the tainted node",
			nodes: []*api.Node{mkNode("a", 4, "8Gi", tainted("dedicated", "db", api.TaintNoSchedule)), mkNode("b", 4, "8Gi", tainted("gpu", "", api.TaintNoExecute))},
			vm:    mkVM("vm", 1, "100%", gi, tolerates(tolDB)), want: "a",
			reasons: map[Filter]int{FilterUntoleratedTaint: 1},
		},
		{
			name:    "class toleration applies to its VMs",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi", tainted("dedicated", "db", api.TaintNoSchedule))},
			classes: []*api.VirtualMachineClass{withTolerations(hostClass("db"), tolDB)},
			vm:      mkVM("vm", 1, "100%", gi, class("db")), want: "a",
			reasons: map[Filter]int{},
		},
		{
			name:    "VM toleration with the same key and effect overrides the class's",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi", tainted("dedicated", "db", api.TaintNoSchedule))},
			classes: []*api.VirtualMachineClass{withTolerations(hostClass("db"), tolDB)},
			vm: mkVM("vm", 1, "100%", gi, class("db"),
				tolerates(api.Toleration{Key: "dedicated", Value: "web", Effect: api.TaintNoSchedule})),
			reasons: map[Filter]int{FilterUntoleratedTaint: 1},
		},
		{
			name:  "PreferNoSchedule does not filter",
			nodes: []*api.Node{mkNode("a", 4, "8Gi", tainted("spot", "", api.TaintPreferNoSchedule))},
			vm:    mkVM("vm", 1, "100%", gi), want: "a",
			reasons: map[Filter]int{},
		},
		{
			name:  "VM nodeSelector",
			nodes: []*api.Node{mkNode("a", 4, "8Gi", labelled("zone", "x")), mkNode("b", 4, "8Gi", labelled("zone", "y")), mkNode("c", 4, "8Gi")},
			vm:    mkVM("vm", 1, "100%", gi, vmSelector("zone", "y")), want: "b",
			reasons: map[Filter]int{FilterNodeSelectorMismatch: 2},
		},
		{
			name:    "class nodeSelector with an expression",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi", labelled("zone", "x")), mkNode("b", 4, "8Gi", labelled("zone", "y"))},
			classes: []*api.VirtualMachineClass{withSelector(hostClass("zoned"), api.LabelSelectorRequirement{Key: "zone", Operator: api.OpNotIn, Values: []string{"x"}})},
			vm:      mkVM("vm", 1, "100%", gi, class("zoned")), want: "b",
			reasons: map[Filter]int{FilterNodeSelectorMismatch: 1},
		},
		{
			name:    "class and VM selectors must both match",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi", labelled("zone", "x", "disk", "ssd")), mkNode("b", 4, "8Gi", labelled("zone", "y", "disk", "ssd"))},
			classes: []*api.VirtualMachineClass{withSelector(hostClass("ssd"), api.LabelSelectorRequirement{Key: "disk", Operator: api.OpExists})},
			vm:      mkVM("vm", 1, "100%", gi, class("ssd"), vmSelector("zone", "z")),
			reasons: map[Filter]int{FilterNodeSelectorMismatch: 2},
		},
		{
			name:    "class availableNodes",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi"), mkNode("b", 4, "8Gi"), mkNode("c", 4, "8Gi")},
			classes: []*api.VirtualMachineClass{modelClass("generic", "b", "gone")},
			vm:      mkVM("vm", 1, "100%", gi, class("generic")), want: "b",
			reasons: map[Filter]int{FilterClassCPUUnavailable: 2},
		},
		{
			name:    "a Model class without status runs nowhere yet",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi"), mkNode("b", 4, "8Gi")},
			classes: []*api.VirtualMachineClass{modelClass("generic")},
			vm:      mkVM("vm", 1, "100%", gi, class("generic")),
			reasons: map[Filter]int{FilterClassCPUUnavailable: 2},
		},
		{
			name:    "a Ready class with no available node",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi")},
			classes: []*api.VirtualMachineClass{modelClass("generic", []string{}...)},
			vm:      mkVM("vm", 1, "100%", gi, class("generic")),
			reasons: map[Filter]int{FilterClassCPUUnavailable: 1},
		},
		{
			name:    "a Host class without status runs anywhere",
			nodes:   []*api.Node{mkNode("a", 4, "8Gi")},
			classes: []*api.VirtualMachineClass{passthrough("hp")},
			vm:      mkVM("vm", 1, "100%", gi, class("hp")), want: "a",
			reasons: map[Filter]int{},
		},
		{
			name:    "guaranteed CPU: 2 cores at 50% need 1 CPU",
			nodes:   []*api.Node{mkNode("a", 2, "64Gi"), mkNode("b", 2, "64Gi")},
			running: []*api.VirtualMachine{mkVM("r1", 4, "50%", gi, on("a", api.VMRunning)), mkVM("r2", 4, "25%", gi, on("b", api.VMRunning))},
			vm:      mkVM("vm", 2, "50%", gi), want: "b",
			reasons: map[Filter]int{FilterInsufficientCPU: 1},
		},
		{
			name:    "guaranteed CPU fits exactly",
			nodes:   []*api.Node{mkNode("a", 1, "64Gi")},
			running: []*api.VirtualMachine{mkVM("r1", 10, "5%", gi, on("a", api.VMRunning)), mkVM("r2", 3, "10%", gi, on("a", api.VMStarting))},
			vm:      mkVM("vm", 4, "5%", gi), want: "a", // 500m + 300m + 200m = 1000m
			reasons: map[Filter]int{},
		},
		{
			name:    "one milli-CPU too many",
			nodes:   []*api.Node{{Metadata: api.ObjectMeta{Name: "a"}, Status: api.NodeStatus{Allocatable: api.ResourceAmounts{CPU: api.IntOrString{IsString: true, StrVal: "999m"}, Memory: api.MustParseQuantity("64Gi")}, Conditions: []api.Condition{{Type: "Ready", Status: api.ConditionTrue}}}}},
			vm:      mkVM("vm", 1, "100%", gi),
			reasons: map[Filter]int{FilterInsufficientCPU: 1},
		},
		{
			name:    "stopped VMs and VMs without a node take nothing",
			nodes:   []*api.Node{mkNode("a", 1, "4Gi")},
			running: []*api.VirtualMachine{mkVM("s", 1, "100%", "2Gi", on("a", api.VMStopped)), mkVM("p", 1, "100%", "2Gi", on("", api.VMPending))},
			vm:      mkVM("vm", 1, "100%", "2Gi"), want: "a",
			reasons: map[Filter]int{},
		},
		{
			name:    "a placed VM that has not started yet counts",
			nodes:   []*api.Node{mkNode("a", 1, "8Gi"), mkNode("b", 2, "8Gi")},
			running: []*api.VirtualMachine{mkVM("p", 1, "100%", gi, on("a", api.VMPending))},
			vm:      mkVM("vm", 1, "100%", gi), want: "b",
			reasons: map[Filter]int{FilterInsufficientCPU: 1},
		},
		{
			name:  "memory includes the overhead",
			nodes: []*api.Node{mkNode("a", 8, "1Gi"), mkNode("b", 8, "2Gi")},
			vm:    mkVM("vm", 1, "100%", gi), want: "b",
			reasons: map[Filter]int{FilterInsufficientMemory: 1},
		},
		{
			name:    "memory used by running VMs",
			nodes:   []*api.Node{mkNode("a", 8, "4Gi"), mkNode("b", 8, "4Gi")},
			running: []*api.VirtualMachine{mkVM("r", 1, "10%", "3Gi", on("a", api.VMRunning))},
			vm:      mkVM("vm", 1, "10%", gi), want: "b",
			reasons: map[Filter]int{FilterInsufficientMemory: 1},
		},
		{
			name:  "dedicated cores: a node keeps one CPU for the shared pool",
			nodes: []*api.Node{mkNode("a", 4, "64Gi"), mkNode("b", 5, "64Gi")},
			vm:    mkVM("vm", 4, "100%", gi, dedicated), want: "b",
			reasons: map[Filter]int{FilterInsufficientDedicatedCores: 1},
		},
		{
			name:    "dedicated cores already taken",
			nodes:   []*api.Node{mkNode("a", 8, "64Gi"), mkNode("b", 8, "64Gi")},
			running: []*api.VirtualMachine{mkVM("d", 6, "100%", gi, dedicated, on("a", api.VMRunning))},
			vm:      mkVM("vm", 2, "100%", gi, dedicated), want: "b",
			reasons: map[Filter]int{FilterInsufficientDedicatedCores: 1},
		},
		{
			name:    "dedicated cores count whole against shared guarantees",
			nodes:   []*api.Node{mkNode("a", 8, "64Gi")},
			running: []*api.VirtualMachine{mkVM("d", 6, "100%", gi, dedicated, on("a", api.VMRunning))},
			vm:      mkVM("vm", 3, "100%", gi),
			reasons: map[Filter]int{FilterInsufficientCPU: 1},
		},
		{
			name: "reasons are counted per first failing filter",
			nodes: []*api.Node{
				mkNode("n1", 4, "8Gi", notReady), mkNode("n2", 4, "8Gi", notReady, cordoned),
				mkNode("n3", 4, "8Gi", cordoned), mkNode("n4", 1, "8Gi"), mkNode("n5", 1, "8Gi"),
			},
			vm:      mkVM("vm", 2, "100%", gi),
			reasons: map[Filter]int{FilterNotReady: 2, FilterUnschedulable: 1, FilterInsufficientCPU: 2},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Place(snapshot(tc.nodes, tc.running, tc.classes...), tc.vm)
			assert.Equal(t, tc.want, d.Node)
			assert.Equal(t, tc.reasons, nonZero(d.Reasons))
			assert.Equal(t, len(tc.nodes), d.Nodes)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrUnschedulable)
				assert.Contains(t, err.Error(), d.Message())
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	nodes := []*api.Node{
		mkNode("n1", 4, "8Gi", notReady), mkNode("n2", 4, "8Gi", notReady),
		mkNode("n3", 4, "8Gi", cordoned), mkNode("n4", 1, "8Gi"), mkNode("n5", 1, "8Gi"),
	}
	d, err := Place(snapshot(nodes, nil), mkVM("vm", 2, "100%", "1Gi"))
	require.ErrorIs(t, err, ErrUnschedulable)
	assert.Equal(t, "0/5 nodes are available: 2 NotReady, 1 Unschedulable, 2 InsufficientCPU.", d.Message())
	assert.Equal(t, "1/3 nodes are available.", Decision{Node: "x", Nodes: 3}.Message())
}

func TestTolerations(t *testing.T) {
	taint := api.Taint{Key: "k", Value: "v", Effect: api.TaintNoSchedule}
	cases := []struct {
		tol  api.Toleration
		want bool
	}{
		{api.Toleration{Key: "k", Value: "v", Effect: api.TaintNoSchedule}, true},
		{api.Toleration{Key: "k", Operator: "Equal", Value: "v"}, true},
		{api.Toleration{Key: "k", Operator: "Equal", Value: "w"}, false},
		{api.Toleration{Key: "k", Operator: "Exists"}, true},
		{api.Toleration{Operator: "Exists"}, true},
		{api.Toleration{Operator: "Exists", Effect: api.TaintNoExecute}, false},
		{api.Toleration{Key: "other", Operator: "Exists"}, false},
		{api.Toleration{Key: "k", Operator: "Bogus", Value: "v"}, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, toleratesTaint(&tc.tol, &taint), "%+v", tc.tol)
	}

	class := []api.Toleration{{Key: "a", Effect: "NoSchedule", Value: "c"}, {Key: "b", Operator: "Exists"}}
	vm := []api.Toleration{{Key: "a", Effect: "NoSchedule", Value: "v"}, {Key: "a", Effect: "NoExecute", Operator: "Exists"}}
	assert.Equal(t, []api.Toleration{vm[0], vm[1], class[1]}, MergeTolerations(class, vm))
	assert.Equal(t, class, MergeTolerations(class, nil))
}

func TestVMLevelErrors(t *testing.T) {
	nodes := []*api.Node{mkNode("a", 4, "8Gi"), mkNode("b", 4, "8Gi")}

	_, err := Place(snapshot(nodes, nil), mkVM("vm", 1, "100%", "1Gi", class("missing")))
	require.ErrorIs(t, err, ErrClassNotFound)
	assert.Contains(t, err.Error(), `"missing"`)

	_, err = Place(snapshot(nodes, nil), mkVM("vm", 1, "100%", "1Gi", withDisk("nope")))
	require.ErrorIs(t, err, ErrDiskNotFound)
	assert.Contains(t, err.Error(), `"default/nope"`)

	_, err = Place(snapshot(nodes, nil), nil)
	require.ErrorIs(t, err, ErrNoVM)
}

func TestDisks(t *testing.T) {
	nodes := []*api.Node{mkNode("a", 4, "8Gi"), mkNode("b", 4, "8Gi"), mkNode("c", 4, "8Gi")}
	other := mkVM("other", 1, "10%", "1Gi", withDisk("shared"), withDisk("rwo"), on("b", api.VMRunning))
	mk := func() *Snapshot {
		s := snapshot(nodes, []*api.VirtualMachine{other})
		s.Disks["default/local-b"] = &Disk{BoundNode: "b", AccessMode: api.AccessReadWriteOnce}
		s.Disks["default/local-c"] = &Disk{BoundNode: "c"}
		s.Disks["default/fresh"] = &Disk{}
		s.Disks["default/rwo"] = &Disk{AccessMode: api.AccessReadWriteOnce}
		s.Disks["default/shared"] = &Disk{AccessMode: api.AccessReadWriteMany}
		return s
	}

	t.Run("a bound local disk pins the VM", func(t *testing.T) {
		d, err := Place(mk(), mkVM("vm", 1, "10%", "1Gi", withDisk("local-c"), withDisk("fresh")))
		require.NoError(t, err)
		assert.Equal(t, "c", d.Node)
		assert.Equal(t, map[Filter]int{FilterDiskOnOtherNode: 2}, nonZero(d.Reasons))
	})
	t.Run("disks bound to two nodes fit nowhere", func(t *testing.T) {
		d, err := Place(mk(), mkVM("vm", 1, "10%", "1Gi", withDisk("local-c"), withDisk("local-b")))
		require.ErrorIs(t, err, ErrUnschedulable)
		assert.Equal(t, map[Filter]int{FilterDiskOnOtherNode: 3}, nonZero(d.Reasons))
	})
	t.Run("a pinned node that is NotReady", func(t *testing.T) {
		s := mk()
		s.Nodes = []*api.Node{mkNode("a", 4, "8Gi"), mkNode("b", 4, "8Gi"), mkNode("c", 4, "8Gi", notReady)}
		d, err := Place(s, mkVM("vm", 1, "10%", "1Gi", withDisk("local-c")))
		require.ErrorIs(t, err, ErrUnschedulable)
		assert.Equal(t, "0/3 nodes are available: 1 NotReady, 2 DiskOnOtherNode.", d.Message())
	})
	t.Run("a ReadWriteMany disk is shared", func(t *testing.T) {
		d, err := Place(mk(), mkVM("vm", 1, "10%", "1Gi", withDisk("shared")))
		require.NoError(t, err)
		assert.NotEmpty(t, d.Node)
	})
	t.Run("a ReadWriteOnce disk held by a running VM", func(t *testing.T) {
		d, err := Place(mk(), mkVM("vm", 1, "10%", "1Gi", withDisk("rwo")))
		require.ErrorIs(t, err, ErrUnschedulable)
		require.ErrorIs(t, err, ErrDiskInUse)
		assert.Contains(t, err.Error(), `disk "default/rwo" is attached to VM "default/other" on node "b"`)
		assert.Equal(t, map[Filter]int{FilterDiskInUse: 3}, nonZero(d.Reasons))
	})
	t.Run("a ReadWriteOnce disk held by a stopped VM is free", func(t *testing.T) {
		s := mk()
		stopped := *other
		stopped.Status.Phase = api.VMStopped
		s.VMs = []*api.VirtualMachine{&stopped}
		_, err := Place(s, mkVM("vm", 1, "10%", "1Gi", withDisk("rwo")))
		require.NoError(t, err)
	})
	t.Run("the holder itself may be re-placed", func(t *testing.T) {
		d, err := Place(mk(), other)
		require.NoError(t, err)
		assert.NotEmpty(t, d.Node)
	})
	t.Run("a hot-plugged disk in status counts", func(t *testing.T) {
		s := mk()
		hp := mkVM("hp", 1, "10%", "1Gi", on("a", api.VMRunning))
		hp.Status.BlockDeviceRefs = []api.BlockDeviceStatusRef{{Kind: api.KindVirtualDisk, Name: "fresh", Attached: true}}
		s.VMs = append(s.VMs, hp)
		_, err := Place(s, mkVM("vm", 1, "10%", "1Gi", withDisk("fresh")))
		require.ErrorIs(t, err, ErrDiskInUse)
	})
}

func withTolerations(c *api.VirtualMachineClass, tols ...api.Toleration) *api.VirtualMachineClass {
	c.Spec.Tolerations = tols
	return c
}

func withSelector(c *api.VirtualMachineClass, reqs ...api.LabelSelectorRequirement) *api.VirtualMachineClass {
	c.Spec.NodeSelector = &api.LabelSelector{MatchExpressions: reqs}
	return c
}

func passthrough(name string) *api.VirtualMachineClass {
	c := hostClass(name)
	c.Spec.CPU.Type = api.CPUTypeHostPassthrough
	return c
}

func nonZero(m map[Filter]int) map[Filter]int {
	out := map[Filter]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
