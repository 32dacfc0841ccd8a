package vmctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"davit/agent/scheduler"
	"davit/api"
	"davit/raftstore"
)

// leaderPass (leader only) adds finalizers, lets deleted VMs that run
// nowhere go, marks VMs that should not run Stopped, and places the VMs
// that should run and have no node.
func (c *Controller) leaderPass(ctx context.Context) {
	w := c.read()
	now := time.Now()
	var state *scheduler.State
	for _, vm := range w.vms {
		if ctx.Err() != nil {
			return
		}
		key := vm.Metadata.Namespace + "/" + vm.Metadata.Name
		hasFin := slices.Contains(vm.Metadata.Finalizers, Finalizer)
		if vm.Metadata.DeletionTimestamp != nil {
			if vm.Status.NodeName == "" && hasFin {
				c.applyLogged(ctx, vm, raftstore.RemoveFinalizerCommand("VirtualMachine", vm.Metadata.Namespace, vm.Metadata.Name, Finalizer))
			}
			continue
		}
		if !hasFin {
			c.applyLogged(ctx, vm, raftstore.AddFinalizerCommand("VirtualMachine", vm.Metadata.Namespace, vm.Metadata.Name, Finalizer))
		}
		if vm.Status.NodeName != "" {
			if state == nil {
				state = scheduler.NewState(c.snapshot(w))
			}
			c.checkFit(ctx, state, vm, now)
			continue // the node runs it
		}
		want := Desired(vm, w.ops, now)
		if !want.Run {
			err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
				if v.Status.NodeName != "" || (v.Status.Phase == api.VMStopped && v.Status.PowerState == want.PowerState) {
					return false
				}
				v.Status.PowerState = want.PowerState
				setPhase(&v.Status, api.VMStopped, now)
				setCond(&v.Status, v.Metadata.Generation, condRunning, api.ConditionFalse, reasonNotRunning, "the VM is stopped ("+want.Why+")", now)
				return true
			})
			c.logErr("mark VM stopped", vm, err)
			continue
		}
		if state == nil {
			state = scheduler.NewState(c.snapshot(w))
		}
		node, msg, reason := c.place(state, w, vm)
		err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
			if v.Status.NodeName != "" {
				return false
			}
			setPhase(&v.Status, api.VMPending, now)
			v.Status.PowerState = want.PowerState
			gen := v.Metadata.Generation
			switch {
			case node != "":
				v.Status.NodeName = node
				if evictionRequired(v) {
					setCond(&v.Status, gen, condEvictionRequired, api.ConditionFalse, reasonNoEviction, "", now)
					setCond(&v.Status, gen, condAwaitingRestart, api.ConditionFalse, reasonNoRestartRequired, "", now)
				}
				setCond(&v.Status, gen, condRunning, api.ConditionFalse, reasonPodNotStarted, "scheduled to node "+node, now)
			case reason == condBlockDevicesReady:
				setCond(&v.Status, gen, condBlockDevicesReady, api.ConditionFalse, reasonBlockDevsNotRdy, msg, now)
				setCond(&v.Status, gen, condRunning, api.ConditionFalse, reasonPodNotStarted, msg, now)
			default:
				setCond(&v.Status, gen, condRunning, api.ConditionFalse, reasonPodNotStarted, msg, now)
			}
			return true
		})
		c.logErr("place VM", vm, err)
		if err == nil && node != "" {
			placed := *vm
			placed.Status.NodeName = node
			_ = state.Assign(&placed, node)
			c.log.Info("placed VM", "vm", key, "node", node, "why", want.Why)
		}
	}
}

// place picks a node for vm, or says why there is none: the message for
// the VM's condition and which condition it belongs to.
func (c *Controller) place(state *scheduler.State, w *world, vm *api.VirtualMachine) (node, msg, cond string) {
	if missing := c.missingImages(vm); missing != "" {
		return "", missing, condBlockDevicesReady
	}
	d, err := state.Place(vm)
	switch {
	case err == nil:
		return d.Node, "", ""
	case errors.Is(err, scheduler.ErrDiskNotFound), errors.Is(err, scheduler.ErrDiskInUse):
		return "", err.Error(), condBlockDevicesReady
	case errors.Is(err, scheduler.ErrUnschedulable):
		return "", d.Message(), condRunning
	default:
		return "", err.Error(), condRunning
	}
}

// missingImages names the first image of vm that does not exist or is not
// Ready, or "".
func (c *Controller) missingImages(vm *api.VirtualMachine) string {
	for _, ref := range vm.Spec.BlockDeviceRefs {
		ns := vm.Metadata.Namespace
		switch ref.Kind {
		case api.KindClusterVirtualImage:
			ns = ""
		case api.KindVirtualImage:
		default:
			continue
		}
		o, err := c.cluster.Get(ref.Kind, ns, ref.Name)
		if err != nil {
			return fmt.Sprintf("%s %s does not exist", ref.Kind, ref.Name)
		}
		var st api.ImageStatus
		if err := json.Unmarshal(o.Status, &st); err != nil || st.Phase != api.ImageReady {
			return fmt.Sprintf("%s %s is not ready (phase %q)", ref.Kind, ref.Name, st.Phase)
		}
	}
	return ""
}

// applyLogged applies cmd and logs a failure (retried next pass).
func (c *Controller) applyLogged(ctx context.Context, vm *api.VirtualMachine, cmd raftstore.Command) {
	res, err := c.cluster.Apply(ctx, cmd)
	if err == nil {
		err = res.Err
	}
	c.logErr("write VM", vm, err)
}
