package diskctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"davit/api"
	"davit/images"
	"davit/raftstore"
)

// errNotNow: a task cannot proceed yet (a running VM has the disk open and
// no online resize is available); it is retried with the backoff.
var errNotNow = errors.New("not possible now")

// runTask does one task and writes its outcome.
func (c *Controller) runTask(ctx context.Context, t task) error {
	log := c.log.With("disk", t.d.key(), "task", t.kind.String())
	var err error
	switch t.kind {
	case taskProvision:
		err = c.provision(ctx, t)
	case taskResize:
		err = c.resize(ctx, t)
	case taskRemove:
		err = c.remove(ctx, t)
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, errSkipped) && !errors.Is(err, errNotNow) {
		log.Warn("disk task failed", "err", err)
	}
	if errors.Is(err, errSkipped) {
		return nil
	}
	return err
}

// mine reports whether cur is still the disk t was planned for, bound to
// this node and not being deleted.
func (c *Controller) mine(t task, cur *disk) bool {
	return cur.uid() == t.d.uid() && cur.node() == c.cfg.NodeName && !cur.deleting()
}

// provision creates the disk's file and records it (phase Ready), or
// records the failure (phase Failed, retried with the backoff).
func (c *Controller) provision(ctx context.Context, t task) error {
	var capacity int64
	err := errors.New(t.problem)
	if t.problem == "" {
		capacity, err = c.makeFile(ctx, t)
	}
	if err != nil {
		if ctx.Err() != nil {
			return err // stopping: the next start retries
		}
		msg := err.Error()
		uerr := c.update(ctx, t.d.ns(), t.d.name(), func(cur *disk) bool {
			if !c.mine(t, cur) || (cur.status.Phase != api.DiskProvisioning && cur.status.Phase != api.DiskFailed) {
				return false
			}
			markFailed(&cur.status, msg+" (retrying)", cur.gen(), time.Now())
			return true
		})
		return errors.Join(fmt.Errorf("provision disk %s: %w", t.d.key(), err), ignoreSkipped(uerr))
	}
	c.log.Info("disk provisioned", "disk", t.d.key(), "path", t.path, "capacity", capacity)
	return c.update(ctx, t.d.ns(), t.d.name(), func(cur *disk) bool {
		if !c.mine(t, cur) || (cur.status.Phase != api.DiskProvisioning && cur.status.Phase != api.DiskFailed) {
			return false
		}
		markReady(cur, &cur.status, t.path, capacity, time.Now())
		return true
	})
}

// makeFile creates t.path and returns its virtual size. A file already
// under the final name is complete (only a rename puts it there): it is
// kept, grown if the task asks for more. Otherwise the file is written
// under a temporary name in the same directory, synced and renamed, so a
// crash never leaves a half-written disk under the final name.
//
// A disk from an image is an independent full copy of the image's blob
// (qemu-img convert), not a qcow2 overlay with the blob as its backing
// file: the disk must outlive the image's deletion and the garbage
// collection of its blob, and must not depend on the blob staying
// byte-identical in this node's store.
func (c *Controller) makeFile(ctx context.Context, t task) (int64, error) {
	dir := filepath.Dir(t.path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, fmt.Errorf("create disk directory: %w", err)
	}
	if _, err := os.Stat(t.path); err == nil {
		return growFile(ctx, t.path, t.size)
	}
	tmp := filepath.Join(dir, "."+filepath.Base(t.path)+".tmp")
	_ = os.Remove(tmp) // left by a crash
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if err := c.writeTemp(ctx, t, tmp); err != nil {
		return 0, err
	}
	size, err := growFile(ctx, tmp, t.size)
	if err != nil {
		return 0, err
	}
	if err := syncPath(tmp); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, t.path); err != nil {
		return 0, fmt.Errorf("rename disk file into place: %w", err)
	}
	ok = true
	if err := syncPath(dir); err != nil {
		return 0, err
	}
	return size, nil
}

// writeTemp creates the new file's content at tmp: blank, or a copy of
// the image blob.
func (c *Controller) writeTemp(ctx context.Context, t task, tmp string) error {
	if t.digest == "" {
		return images.Create(ctx, tmp, t.size)
	}
	if c.blobs == nil {
		return errors.New("copy image: this agent has no image store")
	}
	src, err := c.blobs.LocalBlob(ctx, t.digest)
	if err != nil {
		return fmt.Errorf("get image onto node %s: %w", c.cfg.NodeName, err)
	}
	format := images.Format(t.format)
	if format == images.FormatISO || format == "" {
		format = images.FormatRaw // an ISO blob is its bytes as they are
	}
	if err := images.Convert(ctx, src, format, tmp, nil); err != nil {
		return fmt.Errorf("copy image into disk: %w", err)
	}
	return nil
}

// growFile grows the qcow2 file at path to size when it is smaller, and
// returns its virtual size.
func growFile(ctx context.Context, path string, size int64) (int64, error) {
	info, err := images.Info(ctx, path, images.FormatQCOW2)
	if err != nil {
		return 0, fmt.Errorf("inspect disk file: %w", err)
	}
	if info.VirtualSize >= size {
		return info.VirtualSize, nil
	}
	if err := images.Resize(ctx, path, images.FormatQCOW2, size, false); err != nil {
		return 0, fmt.Errorf("grow disk file: %w", err)
	}
	return size, nil
}

// syncPath fsyncs a file or directory.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// resize grows the file: online through the hook when a VM here has it
// open, offline otherwise; then the disk is Ready with the new capacity.
func (c *Controller) resize(ctx context.Context, t task) error {
	err := c.resizeFile(ctx, t)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		reason, msg := reasonResizeNotAvailable, "resize failed (retrying): "+err.Error()
		if errors.Is(err, errNotNow) {
			msg = err.Error()
		}
		uerr := c.update(ctx, t.d.ns(), t.d.name(), func(cur *disk) bool {
			if !c.mine(t, cur) || cur.status.Phase != api.DiskResizing {
				return false
			}
			setCond(&cur.status, condResizing, api.ConditionFalse, reason, msg, cur.gen(), time.Now())
			return true
		})
		return errors.Join(err, ignoreSkipped(uerr))
	}
	c.log.Info("disk resized", "disk", t.d.key(), "size", t.size, "online", t.online)
	return c.update(ctx, t.d.ns(), t.d.name(), func(cur *disk) bool {
		if !c.mine(t, cur) || cur.status.Phase != api.DiskResizing {
			return false
		}
		cur.status.Phase = api.DiskReady
		cur.status.Capacity = api.NewQuantity(max(t.size, cur.capacity())).String()
		dropCond(&cur.status, condResizing)
		return true
	})
}

func (c *Controller) resizeFile(ctx context.Context, t task) error {
	if t.path == "" {
		return errors.New("resize disk: its file is unknown")
	}
	if t.online {
		handled := false
		if c.cfg.Online != nil {
			var err error
			if handled, err = c.cfg.Online(ctx, t.path, t.size); err != nil {
				return fmt.Errorf("resize disk online: %w", err)
			}
		}
		if !handled {
			return fmt.Errorf("resize disk: a running VM on node %s has it open and cannot grow it online; "+
				"it grows when the VM stops: %w", c.cfg.NodeName, errNotNow)
		}
		return nil
	}
	if err := images.Resize(ctx, t.path, images.FormatQCOW2, t.size, false); err != nil {
		return fmt.Errorf("resize disk offline: %w", err)
	}
	return nil
}

// remove deletes a deleted disk's file (and a temporary one a crash
// left), then removes the finalizer. An emptied namespace directory is
// left in place.
func (c *Controller) remove(ctx context.Context, t task) error {
	if t.path != "" {
		for _, p := range []string{t.path, filepath.Join(filepath.Dir(t.path), "."+filepath.Base(t.path)+".tmp")} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("delete disk file: %w", err)
			}
		}
	}
	res, err := c.cluster.Apply(ctx, raftstore.RemoveFinalizerCommand(api.KindVirtualDisk, t.d.ns(), t.d.name(), Finalizer))
	if err == nil {
		err = res.Err
	}
	if err != nil && !errors.Is(err, raftstore.ErrNotFound) {
		return fmt.Errorf("release disk %s: %w", t.d.key(), err)
	}
	c.log.Info("disk deleted", "disk", t.d.key(), "path", t.path)
	return nil
}

func ignoreSkipped(err error) error {
	if errors.Is(err, errSkipped) {
		return nil
	}
	return err
}
