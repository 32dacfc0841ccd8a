package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validCVI = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: ClusterVirtualImage
metadata:
  name: ubuntu-22.04
spec:
  dataSource:
    type: HTTP
    http:
      url: https://cloud-images.ubuntu.com/minimal/releases/jammy/release/ubuntu-22.04-minimal-cloudimg-amd64.img
`

const validVI = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualImage
metadata:
  name: ubuntu
  namespace: default
spec:
  dataSource:
    type: ObjectRef
    objectRef: {kind: ClusterVirtualImage, name: ubuntu-22.04}
`

const validVD = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: root
  namespace: default
spec:
  persistentVolumeClaim:
    size: 10Gi
    storageClassName: local
`

func TestDataSourceRules(t *testing.T) {
	hex := func(n int) string { return strings.Repeat("a", n) }
	ds := func(f func(*DataSource)) func(*ClusterVirtualImage) {
		return func(c *ClusterVirtualImage) { f(&c.Spec.DataSource) }
	}
	cases := []ruleCase[*ClusterVirtualImage]{
		{name: "valid"},
		{name: "dots allowed in a CVI name", mutate: func(c *ClusterVirtualImage) { c.Metadata.Name = "a.b.c" }},
		{name: "type required", mutate: ds(func(d *DataSource) { d.Type = "" }),
			want: []string{"spec.dataSource.type", "spec.dataSource.http"}},
		{name: "type unknown", mutate: ds(func(d *DataSource) { d.Type = "FTP" }),
			want: []string{"spec.dataSource.type", "spec.dataSource.http"}},
		{name: "block missing", mutate: ds(func(d *DataSource) { d.HTTP = nil }), want: []string{"spec.dataSource.http"}},
		{name: "other blocks forbidden", mutate: ds(func(d *DataSource) {
			d.ContainerImage = &DataSourceContainerImage{Image: "r/i"}
			d.Upload = &DataSourceUpload{}
		}), want: []string{"spec.dataSource.containerImage", "spec.dataSource.upload"}},
		{name: "upload block optional", mutate: ds(func(d *DataSource) { *d = DataSource{Type: DataSourceTypeUpload} })},
		{name: "upload checksum", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeUpload, Upload: &DataSourceUpload{Checksum: &Checksum{SHA256: hex(63)}}}
		}), want: []string{"spec.dataSource.upload.checksum.sha256"}},
		{name: "url required", mutate: ds(func(d *DataSource) { d.HTTP.URL = "" }), want: []string{"spec.dataSource.http.url"}},
		{name: "url scheme", mutate: ds(func(d *DataSource) { d.HTTP.URL = "ftp://x/y.img" }), want: []string{"spec.dataSource.http.url"}},
		{name: "url space", mutate: ds(func(d *DataSource) { d.HTTP.URL = "http://x/a b.img" }), want: []string{"spec.dataSource.http.url"}},
		{name: "plain http ok", mutate: ds(func(d *DataSource) { d.HTTP.URL = "http://10.0.0.1:8080/a%20b.img?x=1" })},
		{name: "caBundle base64", mutate: ds(func(d *DataSource) { d.HTTP.CABundle = "not base64!" }),
			want: []string{"spec.dataSource.http.caBundle"}},
		{name: "checksums valid", mutate: ds(func(d *DataSource) {
			d.HTTP.Checksum = &Checksum{MD5: hex(32), SHA1: hex(40), SHA256: hex(64), SHA512: hex(128), Streebog256: hex(64), Streebog512: hex(128)}
		})},
		{name: "checksums invalid", mutate: ds(func(d *DataSource) {
			d.HTTP.Checksum = &Checksum{MD5: hex(31), SHA1: strings.Repeat("g", 40), SHA256: hex(65), SHA512: hex(64),
				Streebog256: hex(128), Streebog512: hex(1)}
		}), want: []string{"spec.dataSource.http.checksum.md5", "spec.dataSource.http.checksum.sha1",
			"spec.dataSource.http.checksum.sha256", "spec.dataSource.http.checksum.sha512",
			"spec.dataSource.http.checksum.streebog256", "spec.dataSource.http.checksum.streebog512"}},
		{name: "container image", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeContainerImage, ContainerImage: &DataSourceContainerImage{
				Image: "registry.local:5000/images/ubuntu:22.04", ImagePullSecret: &ImagePullSecret{Name: "creds", Namespace: "ns"}}}
		})},
		{name: "container image digest", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeContainerImage, ContainerImage: &DataSourceContainerImage{Image: "img@sha256:" + hex(64)}}
		})},
		{name: "container image invalid", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeContainerImage, ContainerImage: &DataSourceContainerImage{
				Image: "Bad Image", ImagePullSecret: &ImagePullSecret{}}}
		}), want: []string{"spec.dataSource.containerImage.image", "spec.dataSource.containerImage.imagePullSecret.name"}},
		{name: "container image required", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeContainerImage, ContainerImage: &DataSourceContainerImage{}}
		}), want: []string{"spec.dataSource.containerImage.image"}},
		{name: "objectRef namespace required for VI/VD/snapshot", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeObjectRef, ObjectRef: &DataSourceObjectRef{Kind: KindVirtualDisk, Name: "d"}}
		}), want: []string{"spec.dataSource.objectRef.namespace"}},
		{name: "objectRef CVI without namespace", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeObjectRef, ObjectRef: &DataSourceObjectRef{Kind: KindClusterVirtualImage, Name: "c"}}
		})},
		{name: "objectRef snapshot", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeObjectRef, ObjectRef: &DataSourceObjectRef{Kind: KindVirtualDiskSnapshot, Name: "s", Namespace: "ns"}}
		})},
		{name: "objectRef kind and name", mutate: ds(func(d *DataSource) {
			*d = DataSource{Type: DataSourceTypeObjectRef, ObjectRef: &DataSourceObjectRef{Kind: "Pod", Namespace: strings.Repeat("n", 64)}}
		}), want: []string{"spec.dataSource.objectRef.kind", "spec.dataSource.objectRef.name", "spec.dataSource.objectRef.namespace"}},
	}
	runRules(t, validCVI, cases)
}

func TestVirtualImageRules(t *testing.T) {
	vi := decodeOne[*VirtualImage](t, validVI)
	vi.Default()
	assert.Equal(t, StorageContainerRegistry, vi.Spec.Storage)
	cases := []ruleCase[*VirtualImage]{
		{name: "valid"},
		{name: "no dots", mutate: func(v *VirtualImage) { v.Metadata.Name = "a.b" }, want: []string{"metadata.name"}},
		{name: "objectRef VD in own namespace", mutate: func(v *VirtualImage) {
			v.Spec.DataSource.ObjectRef = &DataSourceObjectRef{Kind: KindVirtualDisk, Name: "d", Namespace: "other"}
		}, want: []string{"spec.dataSource.objectRef.namespace"}},
		{name: "pull secret namespace forbidden", mutate: func(v *VirtualImage) {
			v.Spec.DataSource = DataSource{Type: DataSourceTypeContainerImage, ContainerImage: &DataSourceContainerImage{
				Image: "r/i", ImagePullSecret: &ImagePullSecret{Name: "s", Namespace: "x"}}}
		}, want: []string{"spec.dataSource.containerImage.imagePullSecret.namespace"}},
		{name: "storage enum", mutate: func(v *VirtualImage) { v.Spec.Storage = "S3" }, want: []string{"spec.storage"}},
		{name: "pvc with PVC storage", mutate: func(v *VirtualImage) {
			v.Spec.Storage = StoragePersistentVolumeClaim
			v.Spec.PersistentVolumeClaim = &VirtualImagePVC{StorageClassName: "local"}
		}},
		{name: "deprecated Kubernetes storage accepted", mutate: func(v *VirtualImage) { v.Spec.Storage = StorageKubernetes }},
		{name: "pvc with registry storage", mutate: func(v *VirtualImage) {
			v.Spec.PersistentVolumeClaim = &VirtualImagePVC{StorageClassName: "Local_SC"}
		}, want: []string{"spec.persistentVolumeClaim", "spec.persistentVolumeClaim.storageClassName"}},
	}
	runRules(t, validVI, cases)
}

func TestVirtualDiskRules(t *testing.T) {
	cases := []ruleCase[*VirtualDisk]{
		{name: "valid"},
		{name: "no dots", mutate: func(d *VirtualDisk) { d.Metadata.Name = "a.b" }, want: []string{"metadata.name"}},
		{name: "size required when blank", mutate: func(d *VirtualDisk) { d.Spec.PersistentVolumeClaim.Size = nil },
			want: []string{"spec.persistentVolumeClaim.size"}},
		{name: "size optional with source", mutate: func(d *VirtualDisk) {
			d.Spec.PersistentVolumeClaim.Size = nil
			d.Spec.DataSource = &DataSource{Type: DataSourceTypeObjectRef, ObjectRef: &DataSourceObjectRef{Kind: KindVirtualImage, Name: "i"}}
		}},
		{name: "size zero", mutate: func(d *VirtualDisk) { d.Spec.PersistentVolumeClaim.Size = ptr(MustParseQuantity("0")) },
			want: []string{"spec.persistentVolumeClaim.size"}},
		{name: "no VD to VD copy", mutate: func(d *VirtualDisk) {
			d.Spec.DataSource = &DataSource{Type: DataSourceTypeObjectRef, ObjectRef: &DataSourceObjectRef{Kind: KindVirtualDisk, Name: "other"}}
		}, want: []string{"spec.dataSource.objectRef.kind"}},
		{name: "bad storage class", mutate: func(d *VirtualDisk) { d.Spec.PersistentVolumeClaim.StorageClassName = "-x" },
			want: []string{"spec.persistentVolumeClaim.storageClassName"}},
	}
	runRules(t, validVD, cases)
}

func TestCVIImmutableOnceReady(t *testing.T) {
	old := decodeOne[*ClusterVirtualImage](t, validCVI)
	changed := decodeOne[*ClusterVirtualImage](t, validCVI)
	changed.Spec.DataSource.HTTP.URL = "https://example.com/other.img"
	assert.Empty(t, changed.ValidateUpdate(old), "edits are allowed before Ready")

	old.Status.Phase = ImageReady
	errs := changed.ValidateUpdate(old)
	require.Equal(t, []string{"spec"}, fields(errs))
	assert.Contains(t, errs[0].Detail, "immutable once the image is Ready")

	old.Status.Phase = ImageProvisioning
	old.Status.Conditions = []Condition{{Type: "Ready", Status: ConditionTrue}}
	assert.Equal(t, []string{"spec"}, fields(changed.ValidateUpdate(old)))

	same := decodeOne[*ClusterVirtualImage](t, validCVI)
	same.Metadata.Labels = map[string]string{"a": "b"}
	assert.Empty(t, same.ValidateUpdate(old), "metadata may change")
	assert.Equal(t, []string{"kind"}, fields(same.ValidateUpdate(&VirtualImage{})))
}

func TestVIUpdateRules(t *testing.T) {
	base := func(phase ImagePhase) *VirtualImage {
		v := decodeOne[*VirtualImage](t, validVI)
		v.Spec.Storage = StoragePersistentVolumeClaim
		v.Spec.PersistentVolumeClaim = &VirtualImagePVC{StorageClassName: "a"}
		v.Status.Phase = phase
		return v
	}
	edit := func(v *VirtualImage) *VirtualImage {
		v.Spec.DataSource.ObjectRef.Name = "other"
		v.Spec.PersistentVolumeClaim.StorageClassName = "b"
		return v
	}
	for _, ph := range []ImagePhase{ImageReady, ImageLost, ImagePVCLost} {
		assert.Equal(t, []string{"spec.dataSource", "spec.persistentVolumeClaim.storageClassName"},
			fields(edit(base("")).ValidateUpdate(base(ph))), ph)
	}
	assert.Empty(t, edit(base("")).ValidateUpdate(base(ImageProvisioning)))
	// Other fields may change once Ready.
	n := base("")
	n.Spec.Storage = StorageKubernetes
	assert.Empty(t, n.ValidateUpdate(base(ImageReady)))
	// Terminating freezes the whole spec.
	term := base(ImageProvisioning)
	term.Metadata.DeletionTimestamp = NewTime(fixedNow)
	assert.Equal(t, []string{"spec"}, fields(n.ValidateUpdate(term)))
	assert.Empty(t, base("").ValidateUpdate(term))
}

func TestVDUpdateRules(t *testing.T) {
	disk := func(phase DiskPhase, size string) *VirtualDisk {
		d := decodeOne[*VirtualDisk](t, validVD)
		d.Spec.DataSource = &DataSource{Type: DataSourceTypeUpload}
		d.Status.Phase = phase
		if size == "" {
			d.Spec.PersistentVolumeClaim.Size = nil
		} else {
			d.Spec.PersistentVolumeClaim.Size = ptr(MustParseQuantity(size))
		}
		return d
	}
	newSource := func(d *VirtualDisk) *VirtualDisk {
		d.Spec.DataSource = &DataSource{Type: DataSourceTypeObjectRef, ObjectRef: &DataSourceObjectRef{Kind: KindVirtualImage, Name: "x"}}
		return d
	}
	cases := []struct {
		name     string
		old, new *VirtualDisk
		want     []string
	}{
		{"pending: anything", disk(DiskPending, "10Gi"), newSource(disk("", "1Gi")), nil},
		{"WFFC: anything", disk(DiskWaitForFirstConsumer, "10Gi"), newSource(disk("", "")), nil},
		{"ready: source frozen", disk(DiskReady, "10Gi"), newSource(disk("", "10Gi")), []string{"spec.dataSource"}},
		{"migrating: source frozen", disk(DiskMigrating, "10Gi"), newSource(disk("", "10Gi")), []string{"spec.dataSource"}},
		{"pvclost: source frozen", disk(DiskPVCLost, "10Gi"), newSource(disk("", "10Gi")), []string{"spec.dataSource"}},
		{"failed: source may change", disk(DiskFailed, "10Gi"), newSource(disk("", "10Gi")), nil},
		{"ready: grow", disk(DiskReady, "10Gi"), disk("", "20Gi"), nil},
		{"ready: same size other text", disk(DiskReady, "10Gi"), disk("", "10240Mi"), nil},
		{"ready: shrink", disk(DiskReady, "10Gi"), disk("", "5Gi"), []string{"spec.persistentVolumeClaim.size"}},
		{"ready: remove size", disk(DiskReady, "10Gi"), disk("", ""), []string{"spec.persistentVolumeClaim.size"}},
		{"ready: add size", disk(DiskReady, ""), disk("", "5Gi"), nil},
		{"migrating: no resize", disk(DiskMigrating, "10Gi"), disk("", "20Gi"), []string{"spec.persistentVolumeClaim.size"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, nilIfEmpty(fields(c.new.ValidateUpdate(c.old))))
		})
	}
	old := disk(DiskProvisioning, "10Gi")
	old.Metadata.DeletionTimestamp = NewTime(fixedNow)
	assert.Equal(t, []string{"spec"}, fields(disk("", "20Gi").ValidateUpdate(old)))
	assert.Empty(t, disk("", "10Gi").ValidateUpdate(old))
}

func TestStorageClassPreferredMode(t *testing.T) {
	for _, c := range []struct {
		access, volume []string
		wantV, wantA   string
	}{
		{nil, nil, VolumeModeFileSystem, AccessReadWriteOnce},
		{[]string{AccessReadWriteOnce}, []string{VolumeModeFileSystem}, VolumeModeFileSystem, AccessReadWriteOnce},
		{[]string{AccessReadWriteOnce, AccessReadWriteMany}, []string{VolumeModeFileSystem}, VolumeModeFileSystem, AccessReadWriteMany},
		{[]string{AccessReadWriteOnce, AccessReadWriteMany}, []string{VolumeModeFileSystem, VolumeModeBlock}, VolumeModeBlock, AccessReadWriteMany},
		{[]string{AccessReadWriteOnce}, []string{VolumeModeFileSystem, VolumeModeBlock}, VolumeModeBlock, AccessReadWriteOnce},
	} {
		v, a := StorageClassSpec{AccessModes: c.access, VolumeModes: c.volume}.PreferredMode()
		if v != c.wantV || a != c.wantA {
			t.Errorf("%v %v: got %s+%s, want %s+%s", c.access, c.volume, v, a, c.wantV, c.wantA)
		}
	}
}
