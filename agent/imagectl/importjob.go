package imagectl

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"davit/api"
	"davit/images"

	"github.com/google/go-containerregistry/pkg/name"
)

// importTarget is the version of an image an import works for; its
// writes land only while the image is still that version and assigned
// here.
type importTarget struct {
	ref ref
	gen int64
	uid string
}

func targetOf(im *image) importTarget {
	return importTarget{ref: im.ref(), gen: im.gen(), uid: im.uid()}
}

// owns reports whether im is still the import's to write.
func (t importTarget) owns(im *image, me string) bool {
	return im.uid() == t.uid && im.gen() == t.gen && !im.deleting() &&
		im.phase() == api.ImageProvisioning && im.status.importer() == me
}

// runImport imports an HTTP or ContainerImage source on this node.
func (c *Controller) runImport(ctx context.Context, im *image) {
	t := targetOf(im)
	if err := c.report(ctx, t, 0, nil); err != nil {
		return // not ours any more (finished or reassigned meanwhile)
	}
	c.log.Info("import started", "image", t.ref, "source", im.source.Type)
	src, size, err := c.openSource(ctx, im)
	var res images.Result
	if err == nil {
		res, err = c.importFrom(ctx, t, src, size, checksumsOf(im.source))
		src.Close()
	}
	_ = c.finish(ctx, t, res, err) // logged; a skipped write means the image moved on
}

// openSource opens the bytes of an HTTP or ContainerImage source.
func (c *Controller) openSource(ctx context.Context, im *image) (io.ReadCloser, int64, error) {
	switch ds := im.source; ds.Type {
	case api.DataSourceTypeHTTP:
		d, err := images.OpenHTTP(ctx, images.FetchConfig{URL: ds.HTTP.URL, CABundle: []byte(ds.HTTP.CABundle),
			StallTimeout: c.cfg.StallTimeout, UserAgent: "davit-importer"})
		if err != nil {
			return nil, 0, err
		}
		return d, d.Size, nil
	case api.DataSourceTypeContainerImage:
		cfg, err := c.registryConfig(im)
		if err != nil {
			return nil, 0, err
		}
		d, err := images.OpenRegistry(ctx, cfg)
		if err != nil {
			return nil, 0, err
		}
		return d, d.Size, nil
	}
	return nil, 0, fmt.Errorf("open source: data source %q is not imported by a node", im.source.Type)
}

// registryConfig resolves a ContainerImage source: credentials from its
// imagePullSecret, and plain HTTP for registries on loopback.
func (c *Controller) registryConfig(im *image) (images.RegistryConfig, error) {
	ci := im.source.ContainerImage
	cfg := images.RegistryConfig{Image: ci.Image, CABundle: []byte(ci.CABundle), Insecure: loopbackRegistry(ci.Image)}
	key := pullSecretKey(im)
	if key == "" {
		return cfg, nil
	}
	ns, nm := splitKey(key)
	obj, err := c.cluster.Get("Secret", ns, nm)
	if err != nil {
		return cfg, fmt.Errorf("read imagePullSecret %s: %w", key, err)
	}
	cfg.Username, cfg.Password, err = secretCredentials(obj, ci.Image)
	if err != nil {
		return cfg, fmt.Errorf("imagePullSecret %s: %w", key, err)
	}
	return cfg, nil
}

// secretCredentials reads registry credentials from a davit Secret: a
// kubernetes.io/dockerconfigjson one (.dockerconfigjson) or one with
// username and password keys.
func secretCredentials(obj *api.Object, image string) (string, string, error) {
	var data map[string]string
	if len(obj.Data) > 0 {
		if err := json.Unmarshal(obj.Data, &data); err != nil {
			return "", "", fmt.Errorf("decode secret data: %w", err)
		}
	}
	get := func(k string) ([]byte, error) {
		b, err := base64.StdEncoding.DecodeString(data[k])
		if err != nil {
			return nil, fmt.Errorf("key %s is not base64: %w", k, err)
		}
		return b, nil
	}
	if _, ok := data[".dockerconfigjson"]; ok {
		cfg, err := get(".dockerconfigjson")
		if err != nil {
			return "", "", err
		}
		return images.DockerConfigAuth(cfg, image)
	}
	user, err := get("username")
	if err != nil {
		return "", "", err
	}
	pass, err := get("password")
	if err != nil {
		return "", "", err
	}
	if len(user) == 0 && len(pass) == 0 {
		return "", "", errors.New("holds neither .dockerconfigjson nor username and password")
	}
	return string(user), string(pass), nil
}

// loopbackRegistry reports whether image lives on a registry on this
// machine's loopback (tests), which may speak plain HTTP.
func loopbackRegistry(image string) bool {
	ref, err := name.ParseReference(image)
	if err != nil {
		return false
	}
	host := ref.Context().RegistryStr()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func splitKey(key string) (string, string) {
	ns, nm, ok := strings.Cut(key, "/")
	if !ok {
		return "", key
	}
	return ns, nm
}

// checksumsOf returns the checksums a source promises.
func checksumsOf(ds api.DataSource) images.Checksums {
	var c *api.Checksum
	switch {
	case ds.HTTP != nil:
		c = ds.HTTP.Checksum
	case ds.Upload != nil:
		c = ds.Upload.Checksum
	}
	if c == nil {
		return images.Checksums{}
	}
	return images.Checksums{MD5: c.MD5, SHA1: c.SHA1, SHA256: c.SHA256, SHA512: c.SHA512,
		Streebog256: c.Streebog256, Streebog512: c.Streebog512}
}

// importFrom runs images.Import into the store, writing progress.
func (c *Controller) importFrom(ctx context.Context, t importTarget, src io.Reader, size int64, sums images.Checksums) (images.Result, error) {
	settings := &world{}
	settings.readSettings(c.cluster)
	var last float64
	var spd *api.DownloadSpeed
	progress := func(p images.Progress) {
		if p.Phase == images.PhaseDownload {
			spd = speed(p.AvgSpeed, p.CurrentSpeed)
		}
		last = max(last, p.Overall()) // the column only rises
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_ = c.report(wctx, t, last, spd)
	}
	return images.Import(ctx, src, images.ImportConfig{MaxUnpacked: settings.maxUnpacked, Checksums: sums, SourceSize: size,
		Progress: progress}, c.store)
}

// report writes an import's progress.
func (c *Controller) report(ctx context.Context, t importTarget, pct float64, spd *api.DownloadSpeed) error {
	return c.update(ctx, t.ref, func(im *image) bool {
		if !t.owns(im, c.cfg.NodeName) {
			return false
		}
		im.status.Progress = percent(pct)
		if spd != nil {
			im.status.DownloadSpeed = spd
		}
		return true
	})
}

// finish records an import's outcome: Ready with the blob held here, or
// Failed with a reason and message. A cancelled import writes nothing.
// The error is the write's: errSkipped when the image is no longer this
// import's (edited, deleted or reassigned meanwhile).
func (c *Controller) finish(ctx context.Context, t importTarget, res images.Result, err error) error {
	if ctx.Err() != nil {
		c.log.Info("import cancelled", "image", t.ref)
		return ctx.Err()
	}
	if err == nil {
		c.local.add(res.Digest)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	uerr := c.update(wctx, t.ref, func(im *image) bool {
		if !t.owns(im, c.cfg.NodeName) {
			return false
		}
		if err != nil {
			reason, msg := describeFailure(err)
			im.status.fail(reason, msg, im.gen(), time.Now())
			return true
		}
		markReady(&im.status, res, c.cfg.NodeName, im.gen(), time.Now())
		return true
	})
	if err != nil {
		c.log.Warn("import failed", "image", t.ref, "err", err)
	} else {
		c.log.Info("import finished", "image", t.ref, "digest", res.Digest, "format", res.Format,
			"stored", res.StoredBytes)
	}
	c.logUpdate("write import outcome", t.ref, uerr)
	return uerr
}

// markReady fills the status of an imported image.
func markReady(st *Status, res images.Result, me string, gen int64, now time.Time) {
	st.Phase, st.Progress = api.ImageReady, "100%"
	st.Format, st.CDROM = string(res.Format), res.CDROM
	st.Size = api.ImageSize{
		Stored: humanBytes(res.StoredBytes), StoredBytes: fmt.Sprint(res.StoredBytes),
		Unpacked: humanBytes(res.UnpackedBytes), UnpackedBytes: fmt.Sprint(res.UnpackedBytes),
	}
	st.Target = api.ImageTarget{RegistryURL: registryURL(res.Digest)}
	st.ImageUploadURLs = nil
	st.Blob = &BlobState{Digest: res.Digest, Holders: []string{me}}
	st.setCond(condDatasource, api.ConditionTrue, reasonDatasourceReady, "", gen, now)
	st.setCond(condReady, api.ConditionTrue, reasonReady, "", gen, now)
}

// describeFailure maps an import error to the Ready condition's reason and
// a message that says what to do.
func describeFailure(err error) (string, string) {
	msg := err.Error()
	var hs *images.HTTPStatusError
	switch {
	case errors.Is(err, images.ErrChecksumMismatch):
		return reasonFailedTerminally, msg + "; the source is not what the checksum describes: fix the checksum or " +
			"the source, then recreate the image"
	case errors.As(err, &hs) && (hs.Code == http.StatusNotFound || hs.Code == http.StatusGone):
		msg += "; check the URL"
	case errors.Is(err, images.ErrTooLarge):
		msg += "; raise spec.maxUnpackedImageBytes of the cluster Settings to import it"
	}
	return reasonFailed, msg
}
