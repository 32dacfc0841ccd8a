package diskctl

import (
	"encoding/json"
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testWorld has the default local class (WFFC), a shared class "nfs"
// (Immediate, /mnt/nfs), a Ready CVI "ubuntu" and a Pending VI "ns1/wip".
func testWorld() *world {
	local := class("local", true, tNow.Add(-time.Hour))
	local.Spec.AllowVolumeExpansion = true
	nfs := &api.StorageClass{Metadata: api.ObjectMeta{Name: "nfs"}, Spec: api.StorageClassSpec{
		Type: api.StorageTypeShared, Path: "/mnt/nfs", VolumeBindingMode: api.BindingImmediate}}
	return &world{now: tNow, me: "n1", dataDir: "/data", ready: map[string]bool{"n1": true, "n2": true},
		classes: map[string]*api.StorageClass{"local": local, "nfs": nfs},
		images: map[imageRef]imageInfo{
			{kind: api.KindClusterVirtualImage, name: "ubuntu"}: {uid: "cvi-uid", phase: api.ImageReady,
				format: "qcow2", digest: "sha256:aa", unpacked: 8 << 20},
			{kind: api.KindVirtualImage, namespace: "ns1", name: "wip"}: {phase: api.ImageProvisioning},
		},
		users: map[string][]vmUse{}}
}

type diskOpt func(*api.Object, *api.VirtualDiskSpec, *api.VirtualDiskStatus)

func newDisk(t *testing.T, name string, opts ...diskOpt) *disk {
	t.Helper()
	obj := &api.Object{TypeMeta: api.TypeMeta{Kind: api.KindVirtualDisk}, Metadata: api.ObjectMeta{
		Name: name, Namespace: "ns1", UID: "0123456789abcdef", Generation: 1,
		CreationTimestamp: api.NewTime(tNow.Add(-time.Minute)), Finalizers: []string{Finalizer}}}
	var spec api.VirtualDiskSpec
	var st api.VirtualDiskStatus
	for _, o := range opts {
		o(obj, &spec, &st)
	}
	var err error
	obj.Spec, err = json.Marshal(spec)
	require.NoError(t, err)
	obj.Status, err = json.Marshal(st)
	require.NoError(t, err)
	d, err := decodeDisk(obj)
	require.NoError(t, err)
	return d
}

func size(s string) diskOpt {
	return func(_ *api.Object, sp *api.VirtualDiskSpec, _ *api.VirtualDiskStatus) {
		q := api.MustParseQuantity(s)
		sp.PersistentVolumeClaim.Size = &q
	}
}

func sc(name string) diskOpt {
	return func(_ *api.Object, sp *api.VirtualDiskSpec, _ *api.VirtualDiskStatus) {
		sp.PersistentVolumeClaim.StorageClassName = name
	}
}

func from(kind, name string) diskOpt {
	return func(_ *api.Object, sp *api.VirtualDiskSpec, _ *api.VirtualDiskStatus) {
		sp.DataSource = &api.DataSource{Type: api.DataSourceTypeObjectRef, ObjectRef: &api.DataSourceObjectRef{Kind: kind, Name: name}}
	}
}

func status(f func(*api.VirtualDiskStatus)) diskOpt {
	return func(_ *api.Object, _ *api.VirtualDiskSpec, st *api.VirtualDiskStatus) { f(st) }
}

func bound(node string, phase api.DiskPhase, capacity string) diskOpt {
	return status(func(st *api.VirtualDiskStatus) {
		st.Phase, st.Capacity, st.StorageClassName = phase, capacity, "local"
		st.Volume = &api.DiskVolume{Node: node}
		if phase == api.DiskReady {
			st.Volume.Path, st.Volume.Format = "/data/storage/local/ns1/vd-0123456789abcdef.qcow2", "qcow2"
		}
	})
}

func deleted(o *api.Object, _ *api.VirtualDiskSpec, _ *api.VirtualDiskStatus) {
	o.Metadata.DeletionTimestamp = api.NewTime(tNow)
}

func noFinalizer(o *api.Object, _ *api.VirtualDiskSpec, _ *api.VirtualDiskStatus) {
	o.Metadata.Finalizers = nil
}

func cond(t *testing.T, st api.VirtualDiskStatus, typ string) string {
	t.Helper()
	c := api.FindCondition(st.Conditions, typ)
	if c == nil {
		return "-"
	}
	return string(c.Status) + "/" + c.Reason
}

func TestPlanLeader(t *testing.T) {
	cases := []struct {
		name   string
		disk   []diskOpt
		users  []vmUse
		set    *api.StorageClassSettings
		phase  api.DiskPhase
		node   string
		ready  string // Ready condition status/reason
		ds     string // DatasourceReady
		class  string // StorageClassReady
		inUse  string
		addFin bool
		rmFin  bool
	}{
		{name: "blank on local waits for a VM", disk: []diskOpt{size("1Gi")}, phase: api.DiskWaitForFirstConsumer,
			ready: "False/WaitingForFirstConsumer", ds: "True/DatasourceReady", class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "VM placed binds to its node", disk: []diskOpt{size("1Gi")}, users: []vmUse{{name: "vm1", phase: api.VMPending, node: "n2"}},
			phase: api.DiskProvisioning, node: "n2", ready: "False/Provisioning", ds: "True/DatasourceReady",
			class: "True/StorageClassReady", inUse: "True/AttachedToVirtualMachine"},
		{name: "stopped VM does not bind", disk: []diskOpt{size("1Gi")}, users: []vmUse{{name: "vm1", phase: api.VMStopped, node: "n2"}},
			phase: api.DiskWaitForFirstConsumer, ready: "False/WaitingForFirstConsumer", ds: "True/DatasourceReady",
			class: "True/StorageClassReady", inUse: "True/AttachedToVirtualMachine"},
		{name: "unplaced VM neither binds nor holds", disk: []diskOpt{size("1Gi")}, users: []vmUse{{name: "vm1"}},
			phase: api.DiskWaitForFirstConsumer, ready: "False/WaitingForFirstConsumer", ds: "True/DatasourceReady",
			class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "shared class binds to the leader", disk: []diskOpt{size("1Gi"), sc("nfs")}, phase: api.DiskProvisioning,
			node: "n1", ready: "False/Provisioning", ds: "True/DatasourceReady", class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "no finalizer yet: add it, do not bind", disk: []diskOpt{size("1Gi"), sc("nfs"), noFinalizer}, phase: api.DiskPending,
			ready: "Unknown/Unknown", ds: "True/DatasourceReady", class: "True/StorageClassReady", inUse: "False/NotInUse", addFin: true},
		{name: "missing class", disk: []diskOpt{size("1Gi"), sc("ssd")}, phase: api.DiskPending,
			ready: "False/StorageClassIsNotReady", ds: "Unknown/Unknown", class: "False/StorageClassNotReady", inUse: "False/NotInUse"},
		{name: "class not allowed", disk: []diskOpt{size("1Gi"), sc("local")}, set: &api.StorageClassSettings{DefaultStorageClassName: "nfs"},
			phase: api.DiskPending, ready: "False/StorageClassIsNotReady", ds: "Unknown/Unknown", class: "False/StorageClassNotReady", inUse: "False/NotInUse"},
		{name: "from a Ready CVI", disk: []diskOpt{from(api.KindClusterVirtualImage, "ubuntu"), sc("nfs")}, phase: api.DiskProvisioning,
			node: "n1", ready: "False/Provisioning", ds: "True/DatasourceReady", class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "missing CVI", disk: []diskOpt{from(api.KindClusterVirtualImage, "nope")}, phase: api.DiskPending,
			ready: "False/DatasourceIsNotFound", ds: "False/ClusterImageNotFound", class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "VI not Ready", disk: []diskOpt{from(api.KindVirtualImage, "wip")}, phase: api.DiskPending,
			ready: "False/DatasourceIsNotReady", ds: "False/ImageNotReady", class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "missing VI", disk: []diskOpt{from(api.KindVirtualImage, "nope")}, phase: api.DiskPending,
			ready: "False/DatasourceIsNotFound", ds: "False/ImageNotFound", class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "HTTP source is not supported", disk: []diskOpt{func(_ *api.Object, sp *api.VirtualDiskSpec, _ *api.VirtualDiskStatus) {
			sp.DataSource = &api.DataSource{Type: api.DataSourceTypeHTTP, HTTP: &api.DataSourceHTTP{URL: "http://x/y.img"}}
		}}, phase: api.DiskPending, ready: "False/ProvisioningNotStarted", ds: "False/ProvisioningNotStarted",
			class: "True/StorageClassReady", inUse: "False/NotInUse"},
		{name: "bound provisioning is the node's", disk: []diskOpt{size("1Gi"), bound("n2", api.DiskProvisioning, "")},
			phase: api.DiskProvisioning, node: "n2", ready: "Unknown/Unknown", ds: "Unknown/Unknown", class: "Unknown/Unknown", inUse: "False/NotInUse"},
		{name: "bound failed is the node's", disk: []diskOpt{size("1Gi"), bound("n2", api.DiskFailed, "")},
			phase: api.DiskFailed, node: "n2", ready: "Unknown/Unknown", ds: "Unknown/Unknown", class: "Unknown/Unknown", inUse: "False/NotInUse"},
		{name: "grown spec starts a resize", disk: []diskOpt{size("2Gi"), bound("n2", api.DiskReady, "1Gi")},
			phase: api.DiskResizing, node: "n2", ready: "Unknown/Unknown", ds: "Unknown/Unknown", class: "Unknown/Unknown", inUse: "False/NotInUse"},
		{name: "deleted unbound disk is released", disk: []diskOpt{size("1Gi"), deleted}, phase: api.DiskTerminating,
			inUse: "False/NotInUse", ready: "-", ds: "-", class: "-", rmFin: true},
		{name: "deleted bound disk waits for its node", disk: []diskOpt{size("1Gi"), deleted, bound("n2", api.DiskReady, "1Gi")},
			phase: api.DiskTerminating, node: "n2", inUse: "False/NotInUse", ready: "-", ds: "-", class: "-"},
		{name: "deleted disk in use stays", disk: []diskOpt{size("1Gi"), deleted}, users: []vmUse{{name: "vm1", phase: api.VMRunning, node: "n2"}},
			phase: api.DiskTerminating, inUse: "True/AttachedToVirtualMachine", ready: "-", ds: "-", class: "-"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld()
			w.settings = tc.set
			d := newDisk(t, "d1", tc.disk...)
			w.users["ns1/d1"] = tc.users
			p := w.planLeader(d)
			st := p.status
			assert.Equal(t, tc.phase, st.Phase)
			assert.Equal(t, tc.node, volumeNode(&st))
			assert.Equal(t, tc.ready, cond(t, st, condReady), "Ready")
			assert.Equal(t, tc.ds, cond(t, st, condDatasource), "DatasourceReady")
			assert.Equal(t, tc.class, cond(t, st, condClass), "StorageClassReady")
			assert.Equal(t, tc.inUse, cond(t, st, condInUse), "InUse")
			assert.Equal(t, tc.addFin, p.addFinalizer, "addFinalizer")
			assert.Equal(t, tc.rmFin, p.removeFinalizer, "removeFinalizer")
			again := w.planLeader(d)
			assert.Equal(t, p, again, "planning is deterministic")
		})
	}
}

func TestPlanLeaderStatusDetails(t *testing.T) {
	w := testWorld()
	w.users["ns1/d1"] = []vmUse{{name: "b", phase: api.VMRunning, node: "n1"}, {name: "a", phase: api.VMStopped}}
	d := newDisk(t, "d1", size("1Gi"), status(func(st *api.VirtualDiskStatus) { st.Phase = api.DiskWaitForFirstConsumer }))
	st := w.planLeader(d).status
	assert.Equal(t, []api.AttachedVirtualMachine{{Name: "b", Mounted: true}, {Name: "a"}}, st.AttachedToVirtualMachines)
	assert.Equal(t, "local", st.StorageClassName)
	assert.Equal(t, "vd-d1-01234567", st.Target.PersistentVolumeClaimName)
	require.NotNil(t, st.Stats)
	assert.Equal(t, "1m0s", st.Stats.CreationDuration.WaitingForFirstConsumer)

	// The class forbids expansion: the disk stays Ready and says why.
	w.classes["local"].Spec.AllowVolumeExpansion = false
	d = newDisk(t, "d1", size("2Gi"), bound("n1", api.DiskReady, "1Gi"))
	st = w.planLeader(d).status
	assert.Equal(t, api.DiskReady, st.Phase)
	assert.Equal(t, "False/NotAvailable", cond(t, st, condResizing))
}

func TestPlanNode(t *testing.T) {
	w := testWorld()
	w.users["ns1/running"] = []vmUse{{name: "vm1", phase: api.VMRunning, node: "n1"}}
	w.disks = []*disk{
		newDisk(t, "blank", size("1Gi"), bound("n1", api.DiskProvisioning, "")),
		newDisk(t, "img", size("4Mi"), from(api.KindClusterVirtualImage, "ubuntu"), bound("n1", api.DiskFailed, "")),
		newDisk(t, "gone-img", from(api.KindClusterVirtualImage, "nope"), bound("n1", api.DiskProvisioning, "")),
		newDisk(t, "elsewhere", size("1Gi"), bound("n2", api.DiskProvisioning, "")),
		newDisk(t, "running", size("2Gi"), bound("n1", api.DiskResizing, "1Gi")),
		newDisk(t, "del", size("1Gi"), deleted, bound("n1", api.DiskReady, "1Gi")),
		newDisk(t, "ready", size("1Gi"), bound("n1", api.DiskReady, "1Gi")),
	}
	got := map[string]task{}
	for _, tk := range w.planNode() {
		got[tk.d.name()] = tk
	}
	require.Len(t, got, 5)
	assert.Equal(t, taskProvision, got["blank"].kind)
	assert.Equal(t, "/data/storage/local/ns1/vd-0123456789abcdef.qcow2", got["blank"].path)
	assert.Equal(t, int64(1<<30), got["blank"].size)
	assert.Equal(t, "sha256:aa", got["img"].digest)
	assert.Equal(t, int64(8<<20), got["img"].size, "a smaller spec size keeps the image's size")
	assert.Contains(t, got["gone-img"].problem, "ClusterVirtualImage nope")
	assert.Equal(t, taskResize, got["running"].kind)
	assert.True(t, got["running"].online)
	assert.Equal(t, int64(2<<30), got["running"].size)
	assert.Equal(t, taskRemove, got["del"].kind)

	w.users["ns1/del"] = []vmUse{{name: "vm2", phase: api.VMStopping, node: "n1"}}
	for _, tk := range w.planNode() {
		assert.NotEqual(t, "del", tk.d.name(), "a disk a VM holds is not removed")
	}
}

func TestPlanNeverPanicsOnOddDisks(t *testing.T) {
	w := testWorld()
	w.classes = map[string]*api.StorageClass{}
	for _, d := range []*disk{
		newDisk(t, "nosize"),
		newDisk(t, "noclass", bound("n1", api.DiskProvisioning, "")),
		newDisk(t, "badcap", size("1Gi"), bound("n1", api.DiskReady, "lots")),
		newDisk(t, "ref", func(_ *api.Object, sp *api.VirtualDiskSpec, _ *api.VirtualDiskStatus) {
			sp.DataSource = &api.DataSource{Type: api.DataSourceTypeObjectRef}
		}),
	} {
		w.disks = append(w.disks, d)
		w.planLeader(d)
	}
	for _, tk := range w.planNode() {
		assert.NotEmpty(t, tk.problem, tk.d.name())
	}
}
