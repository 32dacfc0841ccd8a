package imagectl

import (
	"context"
	"slices"
	"strings"
	"time"

	"davit/api"
)

// nodePlan is what this node should do in one pass.
type nodePlan struct {
	imports  []*image          // imports assigned here that no job runs
	resets   []*image          // uploads received here whose receiver is gone
	fetches  map[string]*image // digest → an image whose replica is assigned here
	announce []*image          // blobs held here that the image does not list yet
	withdraw []*image          // blobs the image says are here but are not
	cancel   []string          // jobs no longer wanted
	unref    []string          // local blobs no image refers to
}

// Job keys: one import or upload per image, one fetch per digest.
func importKey(r ref) string        { return "import " + r.String() }
func uploadKey(r ref) string        { return "upload " + r.String() }
func fetchKey(digest string) string { return "fetch " + digest }

// planNode decides this node's work from the world, the blobs it holds
// (verified: whether the start-up check has finished) and its jobs.
func planNode(w *world, local map[string]bool, verified bool, running map[string]job) nodePlan {
	p := nodePlan{fetches: map[string]*image{}}
	wanted := map[string]bool{}
	referenced := map[string]bool{}
	for _, r := range w.order {
		im := w.images[r]
		p.planJobs(w, im, running, wanted)
		d := im.status.digest()
		if d == "" {
			continue
		}
		referenced[d] = true
		if im.deleting() || (im.phase() != api.ImageReady && im.phase() != api.ImageLost) {
			continue
		}
		has, holds := local[d], slices.Contains(im.status.holders(), w.me)
		switch {
		case has && !holds:
			p.announce = append(p.announce, im)
		case !has && holds && verified:
			p.withdraw = append(p.withdraw, im)
		case !has && slices.Contains(im.status.fetching(), w.me):
			p.fetches[d] = im
			wanted[fetchKey(d)] = true
		}
	}
	for key := range running {
		if !wanted[key] {
			p.cancel = append(p.cancel, key)
		}
	}
	slices.Sort(p.cancel)
	for d := range local {
		if !referenced[d] {
			p.unref = append(p.unref, d)
		}
	}
	slices.Sort(p.unref)
	return p
}

// planJobs decides the import or upload job of one image.
func (p *nodePlan) planJobs(w *world, im *image, running map[string]job, wanted map[string]bool) {
	r := im.ref()
	current := !im.deleting() && im.status.ObservedGeneration == im.gen()
	mine := im.phase() == api.ImageProvisioning && im.status.importer() == w.me
	if im.source.Type == api.DataSourceTypeUpload {
		key := uploadKey(r)
		j, ok := running[key]
		receiving := im.phase() == api.ImageWaitForUserUpload || mine
		if ok && current && receiving && j.gen == im.gen() && j.uid == im.uid() {
			wanted[key] = true
		}
		if current && mine && !ok {
			p.resets = append(p.resets, im)
		}
		return
	}
	if !current || !mine {
		return
	}
	key := importKey(r)
	j, ok := running[key]
	if ok && (j.gen != im.gen() || j.uid != im.uid()) {
		return // cancelled below; started again in the next pass
	}
	wanted[key] = true
	if !ok {
		p.imports = append(p.imports, im)
	}
}

// nodePass carries out this node's plan.
func (c *Controller) nodePass(ctx context.Context, w *world) {
	c.local.refresh(ctx, c.store)
	local, verified := c.local.snapshot()
	p := planNode(w, local, verified, c.jobs.snapshot())
	for _, key := range p.cancel {
		c.log.Info("cancelling image job", "job", key)
		c.jobs.cancel(key)
	}
	for _, im := range p.imports {
		im := im
		c.jobs.start(importKey(im.ref()), im.gen(), im.uid(), func(ctx context.Context) { c.runImport(ctx, im) })
	}
	for _, im := range p.resets {
		c.resetUpload(ctx, w, im)
	}
	for d, im := range p.fetches {
		c.startFetch(d, im, w)
	}
	for _, im := range p.announce {
		c.announce(ctx, im.ref(), im.status.digest())
	}
	for _, im := range p.withdraw {
		c.withdraw(ctx, im.ref(), im.status.digest())
	}
	c.collect(ctx, p.unref, w.now)
}

// resetUpload gives an upload whose receiving agent (this one) restarted
// mid-way new URLs: the bytes received are gone.
func (c *Controller) resetUpload(ctx context.Context, w *world, im *image) {
	p := c.planner(w)
	err := c.update(ctx, im.ref(), func(cur *image) bool {
		if _, running := c.jobs.get(uploadKey(cur.ref())); running || cur.uid() != im.uid() ||
			cur.phase() != api.ImageProvisioning || cur.status.importer() != c.cfg.NodeName {
			return false
		}
		cur.status.resetForImport(cur.gen())
		p.issueUpload(&cur.status, cur.gen(), "the upload was interrupted: the agent receiving it on node "+
			c.cfg.NodeName+" restarted; upload the file again to the new URL")
		return true
	})
	c.logUpdate("reset interrupted upload", im.ref(), err)
}

// announce adds this node to the holders of an image whose blob it has.
func (c *Controller) announce(ctx context.Context, r ref, digest string) {
	me := c.cfg.NodeName
	err := c.update(ctx, r, func(im *image) bool {
		st := &im.status
		if im.deleting() || st.digest() != digest || slices.Contains(st.holders(), me) || !c.local.has(digest) {
			return false
		}
		b := st.blob()
		b.Holders, b.Fetching = addNode(b.Holders, me), removeNode(b.Fetching, me)
		if len(b.Fetching) == 0 {
			b.Fetching = nil
		}
		if st.Phase == api.ImageLost {
			st.Phase = api.ImageReady
			st.setCond(condReady, api.ConditionTrue, reasonReady, "", im.gen(), time.Now())
		}
		return true
	})
	c.logUpdate("announce held image", r, err)
}

// withdraw removes this node from the holders of a blob it lost.
func (c *Controller) withdraw(ctx context.Context, r ref, digest string) {
	me := c.cfg.NodeName
	err := c.update(ctx, r, func(im *image) bool {
		st := &im.status
		if st.digest() != digest || !slices.Contains(st.holders(), me) || c.local.has(digest) {
			return false
		}
		st.blob().Holders = removeNode(st.holders(), me)
		return true
	})
	if err == nil {
		c.log.Warn("image content missing or corrupt here: no longer a holder", "image", r, "digest", digest)
	}
	c.logUpdate("withdraw lost image", r, err)
}

// collect deletes local blobs that no image has referred to for GCGrace,
// but never while an import or upload runs here (its blob is stored a
// moment before the image's status names it).
func (c *Controller) collect(ctx context.Context, unref []string, now time.Time) {
	seen := map[string]bool{}
	for _, d := range unref {
		seen[d] = true
		if _, ok := c.unrefSince[d]; !ok {
			c.unrefSince[d] = now
		}
	}
	for d := range c.unrefSince {
		if !seen[d] {
			delete(c.unrefSince, d)
		}
	}
	for key := range c.jobs.snapshot() {
		if !strings.HasPrefix(key, "fetch ") {
			return
		}
	}
	for _, d := range unref {
		if now.Sub(c.unrefSince[d]) < c.cfg.GCGrace {
			continue
		}
		if err := c.store.Delete(ctx, d); err != nil {
			c.log.Warn("delete unused image", "digest", d, "err", err)
			continue
		}
		c.local.remove(d)
		delete(c.unrefSince, d)
		c.log.Info("deleted unused image", "digest", d)
	}
}

func (c *Controller) logUpdate(what string, r ref, err error) {
	if err != nil && err != errSkipped {
		c.log.Debug(what, "image", r, "err", err)
	}
}
