package api

// DataSourceType names where an image or disk comes from.
type DataSourceType string

// Data source types.
const (
	DataSourceTypeHTTP           DataSourceType = "HTTP"
	DataSourceTypeContainerImage DataSourceType = "ContainerImage"
	DataSourceTypeObjectRef      DataSourceType = "ObjectRef"
	DataSourceTypeUpload         DataSourceType = "Upload"
)

// Kinds an objectRef may name.
const (
	KindClusterVirtualImage = "ClusterVirtualImage"
	KindVirtualImage        = "VirtualImage"
	KindVirtualDisk         = "VirtualDisk"
	KindVirtualDiskSnapshot = "VirtualDiskSnapshot"
)

// DataSource is the source of a CVI, VI or VD: exactly the sub-block
// matching Type is set (for Upload the upload block is optional).
type DataSource struct {
	Type           DataSourceType            `json:"type,omitempty"`
	HTTP           *DataSourceHTTP           `json:"http,omitempty"`
	ContainerImage *DataSourceContainerImage `json:"containerImage,omitempty"`
	ObjectRef      *DataSourceObjectRef      `json:"objectRef,omitempty"`
	Upload         *DataSourceUpload         `json:"upload,omitempty"`
}

// DataSourceHTTP imports from an HTTP(S) URL.
type DataSourceHTTP struct {
	URL      string    `json:"url,omitempty"`
	CABundle string    `json:"caBundle,omitempty"`
	Checksum *Checksum `json:"checksum,omitempty"`
}

// Checksum lists hex digests; every one that is set must match.
type Checksum struct {
	MD5         string `json:"md5,omitempty"`
	SHA1        string `json:"sha1,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	SHA512      string `json:"sha512,omitempty"`
	Streebog256 string `json:"streebog256,omitempty"`
	Streebog512 string `json:"streebog512,omitempty"`
}

// DataSourceContainerImage imports the disk file of an OCI image.
type DataSourceContainerImage struct {
	Image           string           `json:"image,omitempty"`
	CABundle        string           `json:"caBundle,omitempty"`
	ImagePullSecret *ImagePullSecret `json:"imagePullSecret,omitempty"`
}

// ImagePullSecret names registry credentials. Namespace is allowed only
// for a ClusterVirtualImage; VI and VD use their own namespace.
type ImagePullSecret struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// DataSourceObjectRef copies another image, disk or snapshot. Namespace
// is allowed only for a ClusterVirtualImage.
type DataSourceObjectRef struct {
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// DataSourceUpload receives the image from the client.
type DataSourceUpload struct {
	Checksum *Checksum `json:"checksum,omitempty"`
}

// ImagePhase is the phase of a CVI, VI (and, with its own values, VD).
type ImagePhase string

// Image phases.
const (
	ImagePending           ImagePhase = "Pending"
	ImageProvisioning      ImagePhase = "Provisioning"
	ImageWaitForUserUpload ImagePhase = "WaitForUserUpload"
	ImageReady             ImagePhase = "Ready"
	ImageFailed            ImagePhase = "Failed"
	ImageTerminating       ImagePhase = "Terminating"
	ImageLost              ImagePhase = "ImageLost"
	ImagePVCLost           ImagePhase = "PVCLost"
)

// DownloadSpeed is the import speed, human-readable and in bytes.
type DownloadSpeed struct {
	Avg          string `json:"avg,omitempty"`
	AvgBytes     string `json:"avgBytes,omitempty"`
	Current      string `json:"current,omitempty"`
	CurrentBytes string `json:"currentBytes,omitempty"`
}

// ImageSize is the stored and unpacked size ("199M" / "199001234").
type ImageSize struct {
	Stored        string `json:"stored,omitempty"`
	StoredBytes   string `json:"storedBytes,omitempty"`
	Unpacked      string `json:"unpacked,omitempty"`
	UnpackedBytes string `json:"unpackedBytes,omitempty"`
}

// ImageUploadURLs are where an Upload source is sent.
type ImageUploadURLs struct {
	External  string `json:"external,omitempty"`
	InCluster string `json:"inCluster,omitempty"`
}

// ImageTarget is where an image is kept.
type ImageTarget struct {
	RegistryURL               string `json:"registryURL,omitempty"`
	PersistentVolumeClaimName string `json:"persistentVolumeClaimName,omitempty"`
}

// ImageStatus is the status shared by CVI and VI.
type ImageStatus struct {
	Phase              ImagePhase       `json:"phase,omitempty"`
	Progress           string           `json:"progress,omitempty"`
	DownloadSpeed      *DownloadSpeed   `json:"downloadSpeed,omitempty"`
	Size               ImageSize        `json:"size,omitzero"`
	Format             string           `json:"format,omitempty"`
	CDROM              bool             `json:"cdrom,omitempty"`
	Target             ImageTarget      `json:"target,omitzero"`
	ImageUploadURLs    *ImageUploadURLs `json:"imageUploadURLs,omitempty"`
	SourceUID          string           `json:"sourceUID,omitempty"`
	ObservedGeneration int64            `json:"observedGeneration,omitempty"`
	Conditions         []Condition      `json:"conditions,omitempty"`
}
