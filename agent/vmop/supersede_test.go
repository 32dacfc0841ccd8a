package vmop

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

type kind struct {
	typ   string
	force bool
}

func (k kind) String() string {
	if k.force {
		return "forced " + k.typ
	}
	return k.typ
}

// TestSupersedeRules checks every ordered pair of operation kinds against
// the reference's rules, listed here as the pairs (newer, older) that
// supersede; every other pair, including each listed pair reversed, must
// not.
func TestSupersedeRules(t *testing.T) {
	start := kind{api.VMOPTypeStart, false}
	stop, fstop := kind{api.VMOPTypeStop, false}, kind{api.VMOPTypeStop, true}
	restart, frestart := kind{api.VMOPTypeRestart, false}, kind{api.VMOPTypeRestart, true}
	migrate, fmigrate := kind{api.VMOPTypeMigrate, false}, kind{api.VMOPTypeMigrate, true}
	evict, fevict := kind{api.VMOPTypeEvict, false}, kind{api.VMOPTypeEvict, true}
	restore, clone := kind{api.VMOPTypeRestore, false}, kind{api.VMOPTypeClone, false}
	all := []kind{start, stop, fstop, restart, frestart, migrate, fmigrate, evict, fevict, restore, clone}

	supersedes := map[[2]kind]bool{ // {newer, older}
		{stop, start}: true, {fstop, start}: true, // Start ← Stop
		{fstop, stop}: true, {frestart, stop}: true, // Stop ← forced Stop / forced Restart
		{fstop, restart}: true, {frestart, restart}: true, // Restart ← forced Stop / forced Restart
	}
	for _, mig := range []kind{migrate, fmigrate, evict, fevict} { // Migrate, Evict ← any Stop or Restart
		for _, n := range []kind{stop, fstop, restart, frestart} {
			supersedes[[2]kind{n, mig}] = true
		}
	}
	for _, newer := range all {
		for _, older := range all {
			want := supersedes[[2]kind{newer, older}]
			got := Supersedes(mkOp("new", newer.typ, newer.force), mkOp("old", older.typ, older.force))
			assert.Equal(t, want, got, "%s supersedes %s", newer, older)
		}
	}
	// Never superseded: forced Stop/Restart, Restore, Clone.
	for _, older := range []kind{fstop, frestart, restore, clone} {
		for _, newer := range all {
			assert.False(t, Supersedes(mkOp("new", newer.typ, newer.force), mkOp("old", older.typ, older.force)), "%s by %s", older, newer)
		}
	}

	other := mkOp("old", api.VMOPTypeStart, false)
	other.Spec.VirtualMachineName = "other"
	assert.False(t, Supersedes(mkOp("new", api.VMOPTypeStop, false), other), "another VM")
	otherNS := mkOp("old", api.VMOPTypeStart, false)
	otherNS.Metadata.Namespace = "elsewhere"
	assert.False(t, Supersedes(mkOp("new", api.VMOPTypeStop, false), otherNS), "another namespace")
	assert.False(t, Supersedes(nil, other))
	assert.False(t, Supersedes(other, nil))
}

func TestAdmit(t *testing.T) {
	old := func(name, typ string, force bool, ago time.Duration) *api.VirtualMachineOperation {
		return createdAt(mkOp(name, typ, force), t0.Add(-ago))
	}
	t.Run("nothing older", func(t *testing.T) {
		sup, err := Admit(mkOp("new", api.VMOPTypeStart, false), nil)
		require.NoError(t, err)
		assert.Empty(t, sup)
	})
	t.Run("supersedes the older unfinished ones, oldest first", func(t *testing.T) {
		existing := []*api.VirtualMachineOperation{
			inPhase(old("b-stop", api.VMOPTypeStop, false, time.Minute), api.VMOPInProgress),
			old("a-restart", api.VMOPTypeRestart, false, time.Hour),
			inPhase(old("done", api.VMOPTypeStop, true, 2*time.Hour), api.VMOPCompleted),
		}
		sup, err := Admit(mkOp("new", api.VMOPTypeStop, true), existing)
		require.NoError(t, err)
		assert.Equal(t, []string{"a-restart", "b-stop"}, sup)
	})
	t.Run("an older one it may not supersede rejects it and supersedes nothing", func(t *testing.T) {
		existing := []*api.VirtualMachineOperation{
			old("start", api.VMOPTypeStart, false, time.Hour),
			inPhase(old("forced", api.VMOPTypeStop, true, time.Minute), api.VMOPInProgress),
		}
		sup, err := Admit(mkOp("new", api.VMOPTypeStop, false), existing)
		require.ErrorIs(t, err, ErrNotReadyToBeExecuted)
		assert.Nil(t, sup)
		assert.Contains(t, err.Error(), "forced (forced Stop, InProgress)")
		assert.NotContains(t, err.Error(), "start (")
		assert.Contains(t, err.Error(), `VirtualMachine "vm"`)
	})
	t.Run("ignored: finished, being deleted, other VMs, newer ones, itself", func(t *testing.T) {
		deleting := old("deleting", api.VMOPTypeStop, true, time.Minute)
		deleting.Metadata.DeletionTimestamp = api.NewTime(t0)
		otherVM := old("other-vm", api.VMOPTypeStop, true, time.Minute)
		otherVM.Spec.VirtualMachineName = "other"
		otherNS := old("other-ns", api.VMOPTypeStop, true, time.Minute)
		otherNS.Metadata.Namespace = "other"
		self := createdAt(mkOp("self", api.VMOPTypeStart, false), t0)
		newer := old("newer", api.VMOPTypeStop, true, -time.Minute)
		existing := []*api.VirtualMachineOperation{
			inPhase(old("c", api.VMOPTypeStop, true, time.Minute), api.VMOPCompleted),
			inPhase(old("f", api.VMOPTypeStop, true, time.Minute), api.VMOPFailed),
			inPhase(old("s", api.VMOPTypeStop, true, time.Minute), api.VMOPSuperseded),
			deleting, otherVM, otherNS, self, newer, nil,
		}
		sup, err := Admit(self, existing)
		require.NoError(t, err)
		assert.Empty(t, sup)
	})
	t.Run("same creation second: the name orders them", func(t *testing.T) {
		a := createdAt(mkOp("a", api.VMOPTypeStop, true), t0)
		b := createdAt(mkOp("b", api.VMOPTypeStart, false), t0)
		assert.True(t, Older(a, b))
		assert.False(t, Older(b, a))
		_, err := Admit(b, []*api.VirtualMachineOperation{a, b})
		require.ErrorIs(t, err, ErrNotReadyToBeExecuted)
		_, err = Admit(a, []*api.VirtualMachineOperation{a, b})
		require.NoError(t, err, "b is newer than a, so it does not block a")
	})
	t.Run("an operation not stored yet is the newest", func(t *testing.T) {
		stored := createdAt(mkOp("zzz", api.VMOPTypeStart, false), t0)
		fresh := mkOp("aaa", api.VMOPTypeStop, false)
		assert.True(t, Older(stored, fresh))
		assert.False(t, Older(fresh, stored))
		sup, err := Admit(fresh, []*api.VirtualMachineOperation{stored})
		require.NoError(t, err)
		assert.Equal(t, []string{"zzz"}, sup)
	})
	t.Run("UIDs identify the operation itself", func(t *testing.T) {
		a := mkOp("same-name", api.VMOPTypeStop, true)
		a.Metadata.UID = "1"
		b := mkOp("same-name", api.VMOPTypeStop, true)
		b.Metadata.UID = "1"
		assert.Empty(t, Blockers(a, []*api.VirtualMachineOperation{b}))
	})
}
