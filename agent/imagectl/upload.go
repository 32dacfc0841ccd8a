package imagectl

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"time"

	"davit/api"
	"davit/images"
)

// Upload errors, each answered with 403.
var (
	errUnknownSecret = errors.New("this upload URL is unknown, expired or already used; read the current one with " +
		"`davit get cvi NAME -o jsonpath={.status.imageUploadURLs}`")
	errUsedSecret = errors.New("this upload URL was already used; an upload URL is good for one upload only")
)

// handleUpload receives an image as the body of PUT or POST
// /upload/{secret} on any agent and imports it here. The secret is good
// for one upload: the first request claims the image (phase
// Provisioning, importer this node) with a conditional write, and every
// later one gets 403. The answer comes when the import has finished:
// 200 when the image is Ready, 4xx with the reason otherwise.
func (c *Controller) handleUpload(w http.ResponseWriter, r *http.Request) {
	im, err := c.findUpload(r.Context(), r.PathValue("secret"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	t := targetOf(im)
	ctx, release, err := c.jobs.register(r.Context(), uploadKey(t.ref), t.gen, t.uid)
	switch {
	case errors.Is(err, errBusy):
		http.Error(w, errUsedSecret.Error(), http.StatusForbidden)
		return
	case err != nil:
		http.Error(w, "the agent is not ready to receive uploads: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer release()
	if err := c.claimUpload(ctx, t, r.PathValue("secret")); err != nil {
		code := http.StatusServiceUnavailable
		if errors.Is(err, errSkipped) {
			err, code = errUsedSecret, http.StatusForbidden
		}
		http.Error(w, err.Error(), code)
		return
	}
	c.log.Info("upload started", "image", t.ref, "bytes", r.ContentLength, "remote", r.RemoteAddr)
	body := &uploadBody{r: r.Body, rc: http.NewResponseController(w), stall: c.cfg.StallTimeout}
	res, err := c.importFrom(ctx, t, body, r.ContentLength, checksumsOf(im.source))
	c.uploadOutcome(ctx, w, r, t, body, res, err)
}

// uploadOutcome records and answers the end of an upload.
func (c *Controller) uploadOutcome(ctx context.Context, w http.ResponseWriter, r *http.Request, t importTarget,
	body *uploadBody, res images.Result, err error) {
	switch {
	case err == nil:
		switch werr := c.finish(ctx, t, res, nil); {
		case werr == nil:
			w.WriteHeader(http.StatusOK)
		case errors.Is(werr, errSkipped):
			http.Error(w, "the image was edited, deleted or reassigned during the upload; nothing was kept", http.StatusConflict)
		default:
			http.Error(w, "the upload arrived but the image could not be marked Ready: "+werr.Error(), http.StatusServiceUnavailable)
		}
	case c.jobs.stopping():
		http.Error(w, "the agent is shutting down; upload again to the new URL once it is back", http.StatusServiceUnavailable)
	case body.err != nil || r.Context().Err() != nil:
		c.cutOff(t, body, r.ContentLength)
		http.Error(w, "the upload was cut off; upload again to the new URL", http.StatusBadRequest)
	default:
		_ = c.finish(ctx, t, res, err) // logged
		code := http.StatusUnprocessableEntity
		if errors.Is(err, images.ErrTooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		_, msg := describeFailure(err)
		http.Error(w, msg, code)
	}
}

// findUpload returns the image waiting for the upload whose URL carries
// secret. A miss is checked again after a consistent read, in case the
// URL was issued a moment ago and this agent has not applied it yet.
func (c *Controller) findUpload(ctx context.Context, secret string) (*image, error) {
	if len(secret) < 43 {
		return nil, errUnknownSecret
	}
	for attempt := 0; attempt < 2; attempt++ {
		if attempt == 1 {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.cluster.ConsistentRead(rctx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("%w (and the cluster could not be asked: %v)", errUnknownSecret, err)
			}
		}
		for _, kind := range imageKinds {
			objs, _ := c.cluster.List(kind, "", nil)
			for _, o := range objs {
				im, err := decodeImage(o)
				if err != nil || !carriesSecret(im.status.ImageUploadURLs, secret) {
					continue
				}
				if im.phase() != api.ImageWaitForUserUpload || im.deleting() || im.status.ObservedGeneration != im.gen() {
					return nil, errUsedSecret
				}
				return im, nil
			}
		}
	}
	return nil, errUnknownSecret
}

func carriesSecret(u *api.ImageUploadURLs, secret string) bool {
	if u == nil {
		return false
	}
	for _, s := range []string{u.External, u.InCluster} {
		if s != "" && subtle.ConstantTimeCompare([]byte(path.Base(s)), []byte(secret)) == 1 {
			return true
		}
	}
	return false
}

// claimUpload makes the image this node's import, once.
func (c *Controller) claimUpload(ctx context.Context, t importTarget, secret string) error {
	return c.update(ctx, t.ref, func(im *image) bool {
		if im.uid() != t.uid || im.gen() != t.gen || im.status.ObservedGeneration != t.gen || im.deleting() ||
			im.phase() != api.ImageWaitForUserUpload || !carriesSecret(im.status.ImageUploadURLs, secret) {
			return false
		}
		st := &im.status
		st.Phase, st.Progress = api.ImageProvisioning, percent(0)
		b := st.blob()
		b.Importer, b.UploadDeadline = c.cfg.NodeName, nil
		st.setCond(condReady, api.ConditionFalse, reasonProvisioning, "receiving the upload on node "+c.cfg.NodeName,
			im.gen(), time.Now())
		return true
	})
}

// cutOff returns an upload that ended early to WaitForUserUpload with new
// URLs: the partial bytes were thrown away.
func (c *Controller) cutOff(t importTarget, body *uploadBody, total int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := fmt.Sprintf("%d bytes", body.n)
	if total > 0 {
		got = fmt.Sprintf("%d of %d bytes", body.n, total)
	}
	why := "the connection ended"
	if body.err != nil {
		why = body.err.Error()
	}
	w := readWorld(c.cluster, c.cfg.NodeName, time.Now())
	p := c.planner(w)
	err := c.update(ctx, t.ref, func(im *image) bool {
		if !t.owns(im, c.cfg.NodeName) {
			return false
		}
		im.status.resetForImport(im.gen())
		p.issueUpload(&im.status, im.gen(), fmt.Sprintf("the upload was cut off after %s (%s); nothing was kept: "+
			"upload the whole file again to the new URL", got, why))
		return true
	})
	c.log.Warn("upload cut off", "image", t.ref, "received", got, "err", body.err)
	c.logUpdate("reset cut-off upload", t.ref, err)
}

// uploadBody reads a request body, failing a read that waits longer than
// stall for data, and remembers how much arrived and the first error.
type uploadBody struct {
	r     io.Reader
	rc    *http.ResponseController
	stall time.Duration
	set   time.Time
	n     int64
	err   error
}

func (b *uploadBody) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(b.set) > b.stall/4 {
		if err := b.rc.SetReadDeadline(now.Add(b.stall)); err == nil {
			b.set = now
		}
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w: no data for %s", images.ErrStalled, b.stall)
		}
		b.err = err
	}
	return n, err
}
