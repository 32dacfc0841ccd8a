package vmop

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"davit/api"
)

func finishedOp(name, vm string, phase api.VMOPPhase, age time.Duration) *api.VirtualMachineOperation {
	op := inPhase(createdAt(mkOp(name, api.VMOPTypeStart, false), t0.Add(-age)), phase)
	op.Spec.VirtualMachineName = vm
	return op
}

func TestGC(t *testing.T) {
	t.Run("age", func(t *testing.T) {
		ops := []*api.VirtualMachineOperation{
			finishedOp("old-completed", "vm", api.VMOPCompleted, 25*time.Hour),
			finishedOp("old-failed", "vm", api.VMOPFailed, 48*time.Hour),
			finishedOp("old-superseded", "vm", api.VMOPSuperseded, 24*time.Hour+time.Second),
			finishedOp("exactly-24h", "vm", api.VMOPCompleted, 24*time.Hour),
			finishedOp("young", "vm", api.VMOPCompleted, time.Hour),
			finishedOp("old-pending", "vm", api.VMOPPending, 72*time.Hour),
			finishedOp("old-unset", "vm", "", 72*time.Hour),
			finishedOp("old-in-progress", "vm", api.VMOPInProgress, 72*time.Hour),
			nil,
		}
		deleting := finishedOp("old-deleting", "vm", api.VMOPCompleted, 72*time.Hour)
		deleting.Metadata.DeletionTimestamp = api.NewTime(t0)
		ops = append(ops, deleting)
		assert.Equal(t, []string{"ns/old-completed", "ns/old-failed", "ns/old-superseded"}, GC(ops, t0))
	})
	t.Run("ten newest finished per VM", func(t *testing.T) {
		var ops []*api.VirtualMachineOperation
		for i := range 13 { // op-00 is the newest
			ops = append(ops, finishedOp(fmt.Sprintf("op-%02d", i), "vm", api.VMOPCompleted, time.Duration(i)*time.Minute))
		}
		// Unfinished ones do not count towards the ten and are kept.
		ops = append(ops, finishedOp("running", "vm", api.VMOPInProgress, 30*time.Minute))
		// Another VM and another namespace have their own ten.
		for i := range 10 {
			ops = append(ops, finishedOp(fmt.Sprintf("b-%02d", i), "other", api.VMOPFailed, time.Duration(i)*time.Minute))
			o := finishedOp(fmt.Sprintf("c-%02d", i), "vm", api.VMOPFailed, time.Duration(i)*time.Minute)
			o.Metadata.Namespace = "ns2"
			ops = append(ops, o)
		}
		assert.Equal(t, []string{"ns/op-10", "ns/op-11", "ns/op-12"}, GC(ops, t0))
	})
	t.Run("ties in creation time go by name; no timestamp is newest and never too old", func(t *testing.T) {
		var ops []*api.VirtualMachineOperation
		for i := range 11 {
			ops = append(ops, finishedOp(fmt.Sprintf("op-%02d", i), "vm", api.VMOPCompleted, time.Hour))
		}
		noTime := finishedOp("no-time", "vm", api.VMOPCompleted, 0)
		noTime.Metadata.CreationTimestamp = nil
		ops = append(ops, noTime)
		// Newest first: no-time, op-10, op-09, ..., op-02 are the ten kept.
		assert.Equal(t, []string{"ns/op-00", "ns/op-01"}, GC(ops, t0))
	})
	t.Run("empty", func(t *testing.T) {
		assert.Empty(t, GC(nil, t0))
	})
}
