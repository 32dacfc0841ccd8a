package scheduler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

// TestNeverOverCommits places random VMs one by one on random nodes, the way
// the leader does (Place, then Assign), and checks after every step, by
// recomputing from scratch, that no node holds more guaranteed CPU, memory
// or dedicated cores than it has; that the State's incremental usage is the
// recomputed usage; that the stateless Place agrees with the State; and that
// a rejection really means no node had room.
func TestNeverOverCommits(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			snap := randomCluster(rng)
			s := NewState(snap)
			placed := 0
			for i := range 150 {
				vm := randomVM(rng, i)
				d, err := s.Place(vm)
				stateless, err2 := Place(snap, vm)
				assert.Equal(t, d, stateless)
				assert.Equal(t, err == nil, err2 == nil)
				sum := 0
				for _, n := range d.Reasons {
					sum += n
				}
				if err != nil {
					require.ErrorIs(t, err, ErrUnschedulable)
					assert.Equal(t, len(snap.Nodes), sum, "every node is counted once")
					assertNoRoom(t, snap, vm)
					continue
				}
				assert.Less(t, sum, len(snap.Nodes))
				assert.Zero(t, d.Reasons[FilterDiskInUse])
				require.NoError(t, s.Assign(vm, d.Node))
				vm.Status.NodeName, vm.Status.Phase = d.Node, api.VMPending
				snap.VMs = append(snap.VMs, vm)
				placed++
				assertWithinCapacity(t, snap, s)
			}
			assert.Positive(t, placed)
		})
	}
}

func randomCluster(rng *rand.Rand) *Snapshot {
	var nodes []*api.Node
	for i := range 2 + rng.IntN(6) {
		var opts []nodeOpt
		if rng.IntN(8) == 0 {
			opts = append(opts, notReady)
		}
		if rng.IntN(8) == 0 {
			opts = append(opts, cordoned)
		}
		cpu := int64(1 + rng.IntN(16))
		mem := fmt.Sprintf("%dMi", 512+rng.IntN(32)*512)
		nodes = append(nodes, mkNode(fmt.Sprintf("n%d", i), cpu, mem, opts...))
	}
	return snapshot(nodes, nil)
}

func randomVM(rng *rand.Rand, i int) *api.VirtualMachine {
	cores := 1 + rng.IntN(6)
	fraction := fmt.Sprintf("%d%%", []int{5, 10, 20, 25, 50, 100}[rng.IntN(6)])
	vm := mkVM(fmt.Sprintf("vm%d", i), cores, fraction, fmt.Sprintf("%dMi", 128*(1+rng.IntN(16))))
	if rng.IntN(6) == 0 {
		dedicated(vm)
	}
	return vm
}

// assertWithinCapacity recomputes every node's usage from the VMs alone.
func assertWithinCapacity(t *testing.T, snap *Snapshot, s *State) {
	t.Helper()
	used := map[string]Demand{}
	for _, vm := range snap.VMs {
		used[vm.Status.NodeName] = used[vm.Status.NodeName].add(DemandOf(vm))
	}
	for _, n := range snap.Nodes {
		name := n.Metadata.Name
		alloc, _ := s.Allocatable(name)
		u := used[name]
		assert.LessOrEqual(t, u.CPUMilli, alloc.CPUMilli, "CPU of %s", name)
		assert.LessOrEqual(t, u.MemoryBytes, alloc.MemoryBytes, "memory of %s", name)
		assert.LessOrEqual(t, u.DedicatedCores, alloc.DedicatedCores, "dedicated cores of %s", name)
		inc, _ := s.Usage(name)
		assert.Equal(t, u, inc, "incremental usage of %s", name)
		if u.CPUMilli > 0 {
			assert.True(t, n.Status.Conditions[0].Status == api.ConditionTrue && !n.Spec.Unschedulable, "%s is not schedulable", name)
		}
	}
}

// assertNoRoom checks a rejection by brute force: no schedulable node has
// room for the VM.
func assertNoRoom(t *testing.T, snap *Snapshot, vm *api.VirtualMachine) {
	t.Helper()
	need := DemandOf(vm)
	used := map[string]Demand{}
	for _, v := range snap.VMs {
		used[v.Status.NodeName] = used[v.Status.NodeName].add(DemandOf(v))
	}
	s := NewState(snap)
	for _, n := range snap.Nodes {
		if n.Status.Conditions[0].Status != api.ConditionTrue || n.Spec.Unschedulable {
			continue
		}
		alloc, _ := s.Allocatable(n.Metadata.Name)
		u := used[n.Metadata.Name].add(need)
		fits := u.CPUMilli <= alloc.CPUMilli && u.MemoryBytes <= alloc.MemoryBytes &&
			(need.DedicatedCores == 0 || u.DedicatedCores <= alloc.DedicatedCores)
		assert.False(t, fits, "%s had room for %s", n.Metadata.Name, vm.Metadata.Name)
	}
}

func TestSyntheticPlacesEverything(t *testing.T) {
	snap, queue := Synthetic(100, 1000, 7)
	s := NewState(snap)
	perNode := map[string]int{}
	for _, vm := range queue {
		d, err := s.Place(vm)
		require.NoError(t, err, vm.Metadata.Name)
		require.NoError(t, s.Assign(vm, d.Node))
		perNode[d.Node]++
	}
	// Spread: no node gets more than a few times the mean.
	for n, c := range perNode {
		assert.LessOrEqual(t, c, 40, n)
	}
}

func TestPlacementRate(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	rate := PlacementRate(100, 1000)
	assert.Positive(t, rate)
	t.Logf("%.0f placements/s (100 nodes, 1000 VMs)", rate)
}

// BenchmarkPlace10kVMs1kNodes places 10,000 VMs one after another on 1,000
// synthetic nodes, each Place seeing the previous placements; it reports
// placements per second.
func BenchmarkPlace10kVMs1kNodes(b *testing.B) {
	snap, queue := Synthetic(1000, 10000, 1)
	b.ResetTimer()
	for range b.N {
		s := NewState(snap)
		for _, vm := range queue {
			d, err := s.Place(vm)
			if err != nil && !errors.Is(err, ErrUnschedulable) {
				b.Fatal(err)
			}
			if err == nil {
				_ = s.Assign(vm, d.Node)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(queue))/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkPlaceOne is a single Place into a cluster of 1,000 nodes already
// running 10,000 VMs, including building the State (what the stateless Place
// costs).
func BenchmarkPlaceOne(b *testing.B) {
	snap, queue := Synthetic(1000, 10001, 1)
	s := NewState(snap)
	for _, vm := range queue[:10000] {
		if d, err := s.Place(vm); err == nil {
			vm.Status.NodeName, vm.Status.Phase = d.Node, api.VMRunning
			_ = s.Assign(vm, d.Node)
			snap.VMs = append(snap.VMs, vm)
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Place(snap, queue[10000]); err != nil {
			b.Fatal(err)
		}
	}
}
