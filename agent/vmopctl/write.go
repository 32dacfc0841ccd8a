package vmopctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"davit/agent/vmop"
	"davit/api"
	"davit/raftstore"
)

// reconcile decides op's step and writes it: first the operations it
// supersedes, then op itself. A failed write stops there; the next pass
// decides again.
func (c *Controller) reconcile(ctx context.Context, w *world, op *api.VirtualMachineOperation, now time.Time) {
	if !needsWork(op) { // superseded earlier in this pass
		return
	}
	step := vmop.Reconcile(op, w.vmOf(op), w.byNamespace[op.Metadata.Namespace], now)
	for _, name := range step.Supersede {
		older := w.byKey[api.Key(op.Metadata.Namespace, name)]
		if older == nil {
			return
		}
		if err := c.write(ctx, older, vmop.SupersededBy(op), now); err != nil {
			c.log.Debug("supersede operation", "op", key(older), "by", op.Metadata.Name, "err", err)
			return
		}
	}
	if err := c.write(ctx, op, step, now); err != nil {
		c.log.Debug("write operation status", "op", key(op), "err", err)
	}
}

// write applies step to a copy of op and, when that changed anything,
// stores the status with op's resourceVersion as the precondition; on
// success op becomes the stored version.
func (c *Controller) write(ctx context.Context, op *api.VirtualMachineOperation, step vmop.Step, now time.Time) error {
	next := *op
	if !step.Apply(&next, now) {
		return nil
	}
	obj, err := api.ToObject(&next)
	if err != nil {
		return fmt.Errorf("encode operation %s: %w", key(op), err)
	}
	res, err := c.cluster.Apply(ctx, raftstore.UpdateStatusCommand(kindVMOP, obj))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("write status of operation %s: %w", key(op), err)
	}
	if res.Object != nil {
		next.Metadata.ResourceVersion = res.Object.Metadata.ResourceVersion
	}
	from := phase(op)
	*op = next
	if from != step.Phase {
		c.log.Info("operation phase changed", "op", key(op), "type", op.Spec.Type,
			"vm", op.Spec.VirtualMachineName, "from", from, "to", step.Phase, "reason", step.Reason, "message", step.Message)
	}
	return nil
}

// collect deletes the finished operations vmop.GC names, each with its
// resourceVersion as the precondition, and reports whether every delete
// went through (a failure is retried at the next collection).
func (c *Controller) collect(ctx context.Context, w *world, now time.Time) bool {
	ok := true
	for _, k := range vmop.GC(w.all, now) {
		op := w.byKey[k]
		if op == nil {
			continue
		}
		res, err := c.cluster.Apply(ctx, raftstore.DeleteCommand(kindVMOP, op.Metadata.Namespace, op.Metadata.Name,
			op.Metadata.ResourceVersion))
		if err == nil {
			err = res.Err
		}
		switch {
		case errors.Is(err, raftstore.ErrNotFound):
		case err != nil:
			c.log.Debug("delete finished operation", "op", k, "err", err)
			ok = false
		default:
			c.log.Info("deleted finished operation", "op", k, "phase", op.Status.Phase)
		}
	}
	return ok
}

func key(op *api.VirtualMachineOperation) string {
	return api.Key(op.Metadata.Namespace, op.Metadata.Name)
}

// phase is the operation's phase, Pending when unset.
func phase(op *api.VirtualMachineOperation) api.VMOPPhase {
	if op.Status.Phase == "" {
		return api.VMOPPending
	}
	return op.Status.Phase
}
