package imagectl

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"davit/api"
)

// leaderPlan is the leader's decision for one image: the status it should
// have and what to do with the finalizer.
type leaderPlan struct {
	status          Status
	addFinalizer    bool
	removeFinalizer bool
}

// planner makes the leader's decisions. It is pure: it reads the world and
// its config and returns plans; newSecret is its only source of
// randomness.
type planner struct {
	w             *world
	uploadTimeout time.Duration
	lostAfter     time.Duration
	// uploadURLs returns the external and in-cluster URLs of a secret.
	uploadURLs func(secret string) (external, inCluster string)
	newSecret  func() string
}

// plan decides one image.
func (p *planner) plan(im *image) leaderPlan {
	st := im.status.clone()
	if im.deleting() {
		return p.planDeletion(im, st)
	}
	gen := im.gen()
	out := leaderPlan{addFinalizer: !slices.Contains(im.obj.Metadata.Finalizers, Finalizer)}
	st.initConds(gen, p.w.now)
	settled := st.Phase == api.ImageReady || st.Phase == api.ImageLost
	switch {
	case st.Phase == "" || (!settled && st.ObservedGeneration != gen):
		st.resetForImport(gen) // new image, or its spec changed before Ready: start over
		p.start(im, &st)
	case settled:
		st.ObservedGeneration = gen
		p.replicate(&st)
	default:
		p.advance(im, &st)
	}
	p.usage(im, &st)
	out.status = st
	return out
}

// start begins provisioning according to the data source.
func (p *planner) start(im *image, st *Status) {
	gen := im.gen()
	if im.obj.Kind == api.KindVirtualImage && im.storage != api.StorageContainerRegistry {
		p.pending(st, gen, condReady, reasonNotStarted, fmt.Sprintf(
			"storage %s is not supported by davit yet; use storage ContainerRegistry", im.storage))
		return
	}
	ds := im.source
	switch ds.Type {
	case api.DataSourceTypeHTTP:
		p.provision(st, gen, "importing from "+ds.HTTP.URL)
	case api.DataSourceTypeContainerImage:
		sec := pullSecretKey(im)
		if sec != "" && !p.w.secrets[sec] {
			p.pending(st, gen, condDatasource, reasonSecretNotFound, fmt.Sprintf(
				"the imagePullSecret %s does not exist; create it (type %s)", sec, api.SecretTypeDockerConfig))
			return
		}
		p.provision(st, gen, "pulling "+ds.ContainerImage.Image)
	case api.DataSourceTypeUpload:
		p.issueUpload(st, gen, "")
	case api.DataSourceTypeObjectRef:
		p.copyRef(im, st)
	default:
		st.fail(reasonFailed, fmt.Sprintf("unknown dataSource.type %q", ds.Type), gen, p.w.now)
	}
}

// advance moves an image that is on its way (Pending, WaitForUserUpload,
// Provisioning) or Failed.
func (p *planner) advance(im *image, st *Status) {
	gen, now := im.gen(), p.w.now
	switch st.Phase {
	case api.ImagePending:
		st.resetForImport(gen)
		p.start(im, st)
	case api.ImageWaitForUserUpload:
		b := st.blob()
		if st.ImageUploadURLs == nil || b.UploadDeadline == nil {
			p.issueUpload(st, gen, "")
			return
		}
		if now.After(b.UploadDeadline.Time) {
			st.ImageUploadURLs, b.UploadDeadline = nil, nil
			st.fail(reasonUploadTimeout, fmt.Sprintf("no upload started within %s of the upload URLs being issued; "+
				"the URLs were withdrawn: delete and recreate the image to upload it", p.uploadTimeout), gen, now)
		}
	case api.ImageProvisioning:
		imp := st.importer()
		if imp != "" && !p.w.lost(imp, p.lostAfter) {
			return
		}
		why := fmt.Sprintf("node %s, which was importing the image, was lost", imp)
		if im.source.Type == api.DataSourceTypeUpload {
			st.resetForImport(gen)
			p.issueUpload(st, gen, "the upload was interrupted: "+why+"; upload the file again to the new URL")
			return
		}
		st.resetForImport(gen)
		p.provision(st, gen, "import restarted on "+p.w.me+": "+why)
	}
}

func (p *planner) pending(st *Status, gen int64, cond, reason, msg string) {
	st.Phase = api.ImagePending
	if cond == condDatasource {
		st.setCond(condDatasource, api.ConditionFalse, reason, msg, gen, p.w.now)
		st.setCond(condReady, api.ConditionFalse, reasonNotStarted, "waiting for the data source: "+msg, gen, p.w.now)
		return
	}
	st.setCond(condReady, api.ConditionFalse, reason, msg, gen, p.w.now)
}

// provision assigns the import to this (the leader's) node.
func (p *planner) provision(st *Status, gen int64, msg string) {
	st.Phase = api.ImageProvisioning
	st.blob().Importer = p.w.me
	st.setCond(condDatasource, api.ConditionTrue, reasonDatasourceReady, "", gen, p.w.now)
	st.setCond(condReady, api.ConditionFalse, reasonProvisioning, msg, gen, p.w.now)
}

// issueUpload publishes fresh upload URLs with a new secret and deadline.
func (p *planner) issueUpload(st *Status, gen int64, msg string) {
	secret := p.newSecret()
	ext, in := p.uploadURLs(secret)
	deadline := api.NewTime(p.w.now.Add(p.uploadTimeout))
	st.Phase = api.ImageWaitForUserUpload
	st.ImageUploadURLs = &api.ImageUploadURLs{External: ext, InCluster: in}
	st.blob().UploadDeadline = deadline
	if msg == "" {
		msg = fmt.Sprintf("waiting for the upload: send the file with `curl <status.imageUploadURLs.external> -T FILE` "+
			"(or `davit upload`) before %s", deadline.Format(time.RFC3339))
	}
	st.setCond(condDatasource, api.ConditionTrue, reasonDatasourceReady, "", gen, p.w.now)
	st.setCond(condReady, api.ConditionFalse, reasonWaitUpload, msg, gen, p.w.now)
}

// copyRef makes the image a copy of a Ready CVI or VI: the same blob, no
// bytes copied.
func (p *planner) copyRef(im *image, st *Status) {
	gen, or := im.gen(), im.source.ObjectRef
	var src *image
	reason := reasonImageNotReady
	switch or.Kind {
	case api.KindClusterVirtualImage:
		src, reason = p.w.images[ref{kind: or.Kind, name: or.Name}], reasonClusterImageNotRd
	case api.KindVirtualImage:
		ns := im.obj.Metadata.Namespace
		if im.obj.Kind == api.KindClusterVirtualImage {
			ns = or.Namespace
		}
		src = p.w.images[ref{kind: or.Kind, namespace: ns, name: or.Name}]
	default:
		st.setCond(condDatasource, api.ConditionFalse, reasonDiskNotReady, "", gen, p.w.now)
		st.fail(reasonFailed, fmt.Sprintf("creating an image from a %s is not supported yet: davit has no disk "+
			"storage yet; import the disk's original source instead", or.Kind), gen, p.w.now)
		return
	}
	name := or.Kind + " " + api.Key(or.Namespace, or.Name)
	switch {
	case src == nil:
		p.pending(st, gen, condDatasource, reason, name+" does not exist")
		return
	case src.phase() != api.ImageReady || src.status.digest() == "":
		p.pending(st, gen, condDatasource, reason, fmt.Sprintf("%s is not Ready (phase %q)", name, src.phase()))
		return
	}
	s := src.status
	st.Phase, st.Progress, st.DownloadSpeed = api.ImageReady, "100%", nil
	st.Format, st.CDROM, st.Size, st.Target = s.Format, s.CDROM, s.Size, api.ImageTarget{RegistryURL: s.Target.RegistryURL}
	st.SourceUID = src.uid()
	st.Blob = &BlobState{Digest: s.digest(), Holders: slices.Clone(s.holders())}
	st.setCond(condDatasource, api.ConditionTrue, reasonDatasourceReady, "", gen, p.w.now)
	st.setCond(condReady, api.ConditionTrue, reasonReady, "", gen, p.w.now)
}

// replicate keeps a Ready image's holders: it drops lost nodes, turns the
// image ImageLost when nobody holds it, and asks Ready nodes to fetch
// until imageReplicas (capped by the Ready nodes) hold or fetch it.
func (p *planner) replicate(st *Status) {
	b := st.blob()
	gen := st.ObservedGeneration
	b.Holders = slices.DeleteFunc(slices.Clone(b.Holders), func(n string) bool { return p.w.lost(n, p.lostAfter) })
	b.Fetching = slices.DeleteFunc(slices.Clone(b.Fetching), func(n string) bool {
		return p.w.lost(n, p.lostAfter) || slices.Contains(b.Holders, n)
	})
	if len(b.Holders) == 0 {
		b.Fetching = nil
		st.Phase = api.ImageLost
		st.setCond(condReady, api.ConditionFalse, reasonLost, fmt.Sprintf("no node holds the image's content (%s) any "+
			"more: the nodes that held it were lost or their copies were missing or corrupt; delete and recreate the image",
			b.Digest), gen, p.w.now)
		return
	}
	if st.Phase == api.ImageLost {
		st.Phase = api.ImageReady
		st.setCond(condReady, api.ConditionTrue, reasonReady, "", gen, p.w.now)
	}
	ready := p.w.readyNodes()
	want := min(p.w.replicas, len(ready))
	for _, n := range ready {
		if len(b.Holders)+len(b.Fetching) >= want {
			break
		}
		if !slices.Contains(b.Holders, n) && !slices.Contains(b.Fetching, n) {
			b.Fetching = addNode(b.Fetching, n)
		}
	}
	if len(b.Fetching) == 0 {
		b.Fetching = nil
	}
}

// usage sets usedInNamespaces (CVI) and the InUse condition.
func (p *planner) usage(im *image, st *Status) {
	if im.obj.Kind == api.KindClusterVirtualImage {
		st.UsedInNamespaces = slices.Clone(p.w.namespaces[im.obj.Metadata.Name])
	}
	users := p.w.users[im.ref()]
	if len(users) == 0 {
		st.setCond(condInUse, api.ConditionFalse, reasonNotInUse, "", im.gen(), p.w.now)
		return
	}
	reason := reasonUsedByDisk
	if slices.ContainsFunc(users, func(u string) bool { return strings.HasPrefix(u, "VirtualMachine ") }) {
		reason = reasonAttachedToVM
	}
	st.setCond(condInUse, api.ConditionTrue, reason, "used by "+strings.Join(users, ", "), im.gen(), p.w.now)
}

// planDeletion keeps a deleted image Terminating while anything uses it,
// and releases it otherwise. Nodes delete its blob once no image refers
// to it.
func (p *planner) planDeletion(im *image, st Status) leaderPlan {
	st.Phase = api.ImageTerminating
	st.Progress, st.DownloadSpeed = "", nil
	if st.Blob != nil {
		st.Blob.Importer, st.Blob.Fetching = "", nil
	}
	p.usage(im, &st)
	inUse := len(p.w.users[im.ref()]) > 0
	return leaderPlan{status: st, removeFinalizer: !inUse && slices.Contains(im.obj.Metadata.Finalizers, Finalizer)}
}

// pullSecretKey is the "namespace/name" of a ContainerImage source's
// imagePullSecret, or "". A CVI names the namespace (default "default");
// a VI uses its own.
func pullSecretKey(im *image) string {
	ci := im.source.ContainerImage
	if ci == nil || ci.ImagePullSecret == nil || ci.ImagePullSecret.Name == "" {
		return ""
	}
	ns := im.obj.Metadata.Namespace
	if im.obj.Kind == api.KindClusterVirtualImage {
		ns = ci.ImagePullSecret.Namespace
		if ns == "" {
			ns = "default"
		}
	}
	return api.Key(ns, ci.ImagePullSecret.Name)
}
