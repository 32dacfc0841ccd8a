package imagectl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"davit/api"
)

// Kinds this package reconciles.
var imageKinds = []string{api.KindClusterVirtualImage, api.KindVirtualImage}

// Condition types and reasons of the reference (api.md §2).
const (
	condDatasource = "DatasourceReady"
	condReady      = "Ready"
	condInUse      = "InUse"

	reasonDatasourceReady   = "DatasourceReady"
	reasonSecretNotFound    = "ContainerRegistrySecretNotFound"
	reasonImageNotReady     = "ImageNotReady"
	reasonClusterImageNotRd = "ClusterImageNotReady"
	reasonDiskNotReady      = "VirtualDiskNotReady"
	reasonWaitUpload        = "WaitForUserUpload"
	reasonUploadTimeout     = "WaitForUserUploadTimeout"
	reasonProvisioning      = "Provisioning"
	reasonNotStarted        = "ProvisioningNotStarted"
	reasonFailed            = "ProvisioningFailed"
	reasonFailedTerminally  = "ProvisioningFailedTerminally"
	reasonReady             = "Ready"
	reasonLost              = "ImageLost"
	reasonAttachedToVM      = "AttachedToVirtualMachine"
	reasonUsedByDisk        = "UsedByVirtualDisk"
	reasonNotInUse          = "NotInUse"
	reasonUnknown           = "Unknown"
)

// Finalizer keeps a deleted image until no VM or disk uses it.
const Finalizer = "davit.io/images"

// Status is an image's status as this package writes it: the reference's
// fields (api.ImageStatus, plus usedInNamespaces of a CVI and
// storageClassName of a VI) and davit's bookkeeping in Blob.
type Status struct {
	api.ImageStatus
	UsedInNamespaces []string   `json:"usedInNamespaces,omitempty"`
	StorageClassName string     `json:"storageClassName,omitempty"`
	Blob             *BlobState `json:"blob,omitempty"`
}

// BlobState records where an image's content is and who works on it.
type BlobState struct {
	// Digest of the stored blob, once imported.
	Digest string `json:"digest,omitempty"`
	// Importer is the node running the import (phase Provisioning).
	Importer string `json:"importer,omitempty"`
	// UploadDeadline is when an unstarted upload fails (WaitForUserUpload).
	UploadDeadline *api.Time `json:"uploadDeadline,omitempty"`
	// Holders are the nodes whose store holds the blob, verified.
	Holders []string `json:"holders,omitempty"`
	// Fetching are the nodes the leader asked to fetch a replica.
	Fetching []string `json:"fetching,omitempty"`
}

// image is a CVI or VI read from the store, with its status decoded.
type image struct {
	obj     *api.Object
	source  api.DataSource
	storage string // VI only: ContainerRegistry, PersistentVolumeClaim, ...
	status  Status
}

func decodeImage(obj *api.Object) (*image, error) {
	var spec struct {
		DataSource api.DataSource `json:"dataSource"`
		Storage    string         `json:"storage"`
	}
	if len(obj.Spec) > 0 {
		if err := json.Unmarshal(obj.Spec, &spec); err != nil {
			return nil, fmt.Errorf("decode %s %s spec: %w", obj.Kind, obj.Key(), err)
		}
	}
	im := &image{obj: obj, source: spec.DataSource, storage: spec.Storage}
	if len(obj.Status) > 0 {
		if err := json.Unmarshal(obj.Status, &im.status); err != nil {
			return nil, fmt.Errorf("decode %s %s status: %w", obj.Kind, obj.Key(), err)
		}
	}
	if im.obj.Kind == api.KindVirtualImage && im.storage == "" {
		im.storage = api.StorageContainerRegistry
	}
	return im, nil
}

// ref names one image.
type ref struct{ kind, namespace, name string }

func (r ref) String() string {
	return strings.ToLower(r.kind) + "/" + api.Key(r.namespace, r.name)
}

func (im *image) ref() ref {
	return ref{kind: im.obj.Kind, namespace: im.obj.Metadata.Namespace, name: im.obj.Metadata.Name}
}

func (im *image) gen() int64            { return im.obj.Metadata.Generation }
func (im *image) uid() string           { return im.obj.Metadata.UID }
func (im *image) deleting() bool        { return im.obj.Metadata.DeletionTimestamp != nil }
func (im *image) phase() api.ImagePhase { return im.status.Phase }

// blob returns status.blob, creating it.
func (st *Status) blob() *BlobState {
	if st.Blob == nil {
		st.Blob = &BlobState{}
	}
	return st.Blob
}

// digest is the image's blob digest, or "".
func (st *Status) digest() string {
	if st.Blob == nil {
		return ""
	}
	return st.Blob.Digest
}

func (st *Status) importer() string {
	if st.Blob == nil {
		return ""
	}
	return st.Blob.Importer
}

func (st *Status) holders() []string {
	if st.Blob == nil {
		return nil
	}
	return st.Blob.Holders
}

func (st *Status) fetching() []string {
	if st.Blob == nil {
		return nil
	}
	return st.Blob.Fetching
}

// clone is a deep copy, so plans never modify what they read.
func (st Status) clone() Status {
	b, err := json.Marshal(st)
	if err != nil {
		panic("imagectl: marshal status: " + err.Error()) // every field marshals
	}
	var c Status
	if err := json.Unmarshal(b, &c); err != nil {
		panic("imagectl: unmarshal status: " + err.Error())
	}
	return c
}

// setCond sets a condition, keeping its transition time when its status
// does not change.
func (st *Status) setCond(typ string, status api.ConditionStatus, reason, msg string, gen int64, now time.Time) {
	st.Conditions = api.SetCondition(st.Conditions, api.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
	}, now)
}

// initConds gives a new image its conditions, Unknown as the reference
// starts them.
func (st *Status) initConds(gen int64, now time.Time) {
	for _, t := range []string{condDatasource, condReady} {
		if api.FindCondition(st.Conditions, t) == nil {
			st.setCond(t, api.ConditionUnknown, reasonUnknown, "", gen, now)
		}
	}
}

// resetForImport clears everything a previous import left.
func (st *Status) resetForImport(gen int64) {
	st.Progress, st.DownloadSpeed, st.Format, st.CDROM = "", nil, "", false
	st.Size, st.Target, st.ImageUploadURLs, st.SourceUID = api.ImageSize{}, api.ImageTarget{}, nil, ""
	st.Blob = nil
	st.ObservedGeneration = gen
}

// fail turns the status into Failed with reason and a message a user can
// act on.
func (st *Status) fail(reason, msg string, gen int64, now time.Time) {
	st.Phase = api.ImageFailed
	st.Progress, st.DownloadSpeed = "", nil
	if st.Blob != nil {
		st.Blob.Importer = ""
	}
	st.setCond(condReady, api.ConditionFalse, reason, msg, gen, now)
}

// registryURL names a blob by content (see the package doc).
func registryURL(digest string) string { return "davit://blobs/" + digest }

// humanBytes prints n with a binary suffix, as the reference's size and
// speed fields do: "512", "1.5Ki", "199Mi", "2.2Gi".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10)
	}
	v, exp := float64(n), 0
	for v >= unit && exp < 6 {
		v /= unit
		exp++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + string("KMGTPE"[exp-1]) + "i"
}

// percent prints a progress percentage as the guide shows it: "28.2%".
func percent(p float64) string { return strconv.FormatFloat(p, 'f', 1, 64) + "%" }

// speed is a downloadSpeed from bytes per second.
func speed(avg, current int64) *api.DownloadSpeed {
	return &api.DownloadSpeed{
		Avg: humanBytes(avg) + "/s", AvgBytes: strconv.FormatInt(avg, 10),
		Current: humanBytes(current) + "/s", CurrentBytes: strconv.FormatInt(current, 10),
	}
}

func addNode(list []string, n string) []string {
	if slices.Contains(list, n) {
		return list
	}
	out := append(slices.Clone(list), n)
	slices.Sort(out)
	return out
}

func removeNode(list []string, n string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x == n })
}
