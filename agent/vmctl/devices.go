package vmctl

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"davit/agent/imagectl"
	"davit/api"
	"davit/qemu"
)

// devicesReady says what a VM placed here still waits for before it can
// start ("" when nothing): a disk that is not Ready on this node, or an
// image that is not Ready. The second result is the reason.
func (c *Controller) devicesReady(w *world, vm *api.VirtualMachine) (msg, reason string) {
	if m := c.missingImages(vm); m != "" {
		return m, reasonBlockDevsNotRdy
	}
	for _, ref := range vm.Spec.BlockDeviceRefs {
		if ref.Kind != api.KindVirtualDisk {
			continue
		}
		vd := w.disks[api.Key(vm.Metadata.Namespace, ref.Name)]
		switch {
		case vd == nil:
			return fmt.Sprintf("VirtualDisk %s does not exist", ref.Name), reasonBlockDevsNotRdy
		case vd.Status.Phase != api.DiskReady || vd.Status.Volume == nil || vd.Status.Volume.Path == "":
			return fmt.Sprintf("VirtualDisk %s is not ready (phase %q)", ref.Name, vd.Status.Phase), reasonWaitingForVolume
		case vd.Status.Volume.Node != "" && vd.Status.Volume.Node != c.cfg.NodeName && !c.shared(w, vd):
			return fmt.Sprintf("VirtualDisk %s lives on node %s", ref.Name, vd.Status.Volume.Node), reasonBlockDevsNotRdy
		}
	}
	return "", ""
}

// shared reports whether vd's storage class is mounted on every node.
func (c *Controller) shared(w *world, vd *api.VirtualDisk) bool {
	sc := w.scs[vd.Status.StorageClassName]
	return sc != nil && sc.Spec.Type == api.StorageTypeShared
}

// waitDevices records that a VM placed here waits for its block devices.
func (c *Controller) waitDevices(ctx context.Context, vm *api.VirtualMachine, msg, reason string, now time.Time) {
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != c.cfg.NodeName {
			return false
		}
		setPhase(&v.Status, api.VMPending, now)
		setCond(&v.Status, v.Metadata.Generation, condBlockDevicesReady, api.ConditionFalse, reason, msg, now)
		return true
	})
	c.logErr("write VM waiting for devices", vm, err)
}

// resolveDevices turns the VM's block devices into files on this node,
// fetching image blobs from peers when needed.
func (c *Controller) resolveDevices(ctx context.Context, w *world, vm *api.VirtualMachine) ([]Device, error) {
	var out []Device
	for _, ref := range vm.Spec.BlockDeviceRefs {
		d := Device{Ref: ref}
		switch ref.Kind {
		case api.KindVirtualDisk:
			vd := w.disks[api.Key(vm.Metadata.Namespace, ref.Name)]
			if vd == nil || vd.Status.Volume == nil {
				return nil, fmt.Errorf("VirtualDisk %s has no volume", ref.Name)
			}
			d.Path, d.Format = vd.Status.Volume.Path, vd.Status.Volume.Format
			if d.Format == "" {
				d.Format = qemu.FormatQCOW2
			}
		case api.KindClusterVirtualImage, api.KindVirtualImage:
			ns := vm.Metadata.Namespace
			if ref.Kind == api.KindClusterVirtualImage {
				ns = ""
			}
			o, err := c.cluster.Get(ref.Kind, ns, ref.Name)
			if err != nil {
				return nil, fmt.Errorf("get %s %s: %w", ref.Kind, ref.Name, err)
			}
			var st imagectl.Status
			if err := json.Unmarshal(o.Status, &st); err != nil || st.Blob == nil || st.Blob.Digest == "" {
				return nil, fmt.Errorf("%s %s has no stored blob", ref.Kind, ref.Name)
			}
			path, err := c.cfg.Blobs.LocalBlob(ctx, st.Blob.Digest)
			if err != nil {
				return nil, fmt.Errorf("get %s %s onto this node: %w", ref.Kind, ref.Name, err)
			}
			d.Path, d.Image, d.CDROM = path, true, st.CDROM
			d.Format = qemu.FormatRaw
			if st.Format == qemu.FormatQCOW2 {
				d.Format = qemu.FormatQCOW2
			}
		default:
			return nil, fmt.Errorf("block device kind %q is not supported", ref.Kind)
		}
		out = append(out, d)
	}
	return out, nil
}
