package diskctl

import (
	"fmt"
	"path/filepath"

	"davit/api"
)

// taskKind is what a node does to a disk's file.
type taskKind int

const (
	taskProvision taskKind = iota + 1
	taskResize
	taskRemove
)

func (k taskKind) String() string {
	switch k {
	case taskProvision:
		return "provision"
	case taskResize:
		return "resize"
	case taskRemove:
		return "remove"
	}
	return fmt.Sprintf("task(%d)", int(k))
}

// task is one piece of work on this node, fully resolved by planNode so
// the effects read nothing else.
type task struct {
	kind taskKind
	d    *disk
	// path is the disk file; "" when it cannot be known (problem says why).
	path string
	// size is the size to provision or grow to, in bytes.
	size int64
	// digest and format name the image blob to copy ("" for a blank disk).
	digest, format string
	// online: a VM on this node has the disk open (resize through the
	// Online hook).
	online bool
	// problem, when set, is why a provision cannot start; it fails the disk.
	problem string
}

// planNode lists the work on the disks bound to this node: provision
// (phase Provisioning, or Failed and due for a retry — the caller applies
// the backoff), resize (phase Resizing), remove (deleted, no VM holds it).
// It is pure.
func (w *world) planNode() []task {
	var out []task
	for _, d := range w.disks {
		if d.node() != w.me {
			continue
		}
		switch {
		case d.deleting():
			if d.hasFinal() && len(w.inUse(d)) == 0 {
				out = append(out, task{kind: taskRemove, d: d, path: w.diskPath(d)})
			}
		case d.status.Phase == api.DiskProvisioning || d.status.Phase == api.DiskFailed:
			out = append(out, w.provisionTask(d))
		case d.status.Phase == api.DiskResizing:
			t := task{kind: taskResize, d: d, path: w.diskPath(d), size: d.specSize()}
			for _, u := range w.users[d.key()] {
				t.online = t.online || (u.mounted() && u.node == w.me)
			}
			out = append(out, t)
		}
	}
	return out
}

// diskPath is where the disk's file is: status.volume.path once
// provisioned, else <classdir>/<namespace>/vd-<uid>.qcow2 ("" when the
// class is gone or cannot hold files).
func (w *world) diskPath(d *disk) string {
	if v := d.status.Volume; v != nil && v.Path != "" {
		return v.Path
	}
	sc := w.classes[d.status.StorageClassName]
	if sc == nil || w.classDir(sc) == "" || d.ns() == "" || d.uid() == "" {
		return ""
	}
	return filepath.Join(w.classDir(sc), d.ns(), fileName(d.uid()))
}

// provisionTask resolves what a disk is made from and how large it is.
// The default size of a disk from an image is the image's unpacked size;
// a larger spec size grows the copy (a smaller one is only a warning in
// the reference: the copy keeps the image's size).
func (w *world) provisionTask(d *disk) task {
	t := task{kind: taskProvision, d: d, path: w.diskPath(d), size: d.specSize()}
	if t.path == "" {
		t.problem = fmt.Sprintf("storage class %q does not exist or has no directory for disk files", d.status.StorageClassName)
		return t
	}
	ds := d.spec.DataSource
	if ds == nil {
		if t.size <= 0 {
			t.problem = "a blank disk needs spec.persistentVolumeClaim.size"
		}
		return t
	}
	if ds.Type != api.DataSourceTypeObjectRef || ds.ObjectRef == nil {
		t.problem = fmt.Sprintf("dataSource.type %s is not supported for disks in this version of davit", ds.Type)
		return t
	}
	r := imageRef{kind: ds.ObjectRef.Kind, name: ds.ObjectRef.Name}
	if r.kind == api.KindVirtualImage {
		r.namespace = d.ns()
	}
	im, ok := w.images[r]
	if !ok || im.digest == "" {
		t.problem = fmt.Sprintf("%s %s has no content to copy (it was deleted or is not Ready)", r.kind, api.Key(r.namespace, r.name))
		return t
	}
	t.digest, t.format = im.digest, im.format
	t.size = max(t.size, im.unpacked)
	return t
}
