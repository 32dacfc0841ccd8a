package imagectl

import (
	"encoding/json"
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// mkImage builds a CVI (ns "") or VI with a spec and a status.
func mkImage(t *testing.T, ns, name string, gen int64, ds api.DataSource, st Status) *image {
	t.Helper()
	kind := api.KindClusterVirtualImage
	if ns != "" {
		kind = api.KindVirtualImage
	}
	spec, err := json.Marshal(map[string]any{"dataSource": ds})
	require.NoError(t, err)
	obj := &api.Object{TypeMeta: api.TypeMeta{Kind: kind},
		Metadata: api.ObjectMeta{Name: name, Namespace: ns, UID: "uid-" + name, Generation: gen, ResourceVersion: "7",
			Finalizers: []string{Finalizer}},
		Spec: spec, Status: mustJSON(st)}
	im, err := decodeImage(obj)
	require.NoError(t, err)
	return im
}

func testWorld(ims ...*image) *world {
	w := &world{now: now, me: "n1", replicas: 2, secrets: map[string]bool{}, images: map[ref]*image{},
		users: map[ref][]string{}, namespaces: map[string][]string{},
		nodes: map[string]nodeState{"n1": {ready: true}, "n2": {ready: true}, "n3": {ready: true}}}
	for _, im := range ims {
		w.images[im.ref()] = im
		w.order = append(w.order, im.ref())
	}
	return w
}

func testPlanner(w *world) *planner {
	return &planner{w: w, uploadTimeout: 10 * time.Minute, lostAfter: time.Minute,
		uploadURLs: func(s string) (string, string) { return "http://x/upload/" + s, "http://y/upload/" + s },
		newSecret:  func() string { return "SECRET" }}
}

var httpDS = api.DataSource{Type: api.DataSourceTypeHTTP, HTTP: &api.DataSourceHTTP{URL: "http://h/x.img"}}

func readyStatus(digest string, holders ...string) Status {
	st := Status{}
	st.Phase, st.ObservedGeneration = api.ImageReady, 1
	st.Blob = &BlobState{Digest: digest, Holders: holders}
	return st
}

func TestPlanStartsImportOnLeader(t *testing.T) {
	im := mkImage(t, "", "a", 1, httpDS, Status{})
	im.obj.Metadata.Finalizers = nil
	plan := testPlanner(testWorld(im)).plan(im)
	assert.True(t, plan.addFinalizer)
	st := plan.status
	assert.Equal(t, api.ImageProvisioning, st.Phase)
	assert.Equal(t, "n1", st.importer())
	assert.Equal(t, int64(1), st.ObservedGeneration)
	assert.Equal(t, "Provisioning", api.FindCondition(st.Conditions, condReady).Reason)
	assert.Equal(t, api.ConditionTrue, api.FindCondition(st.Conditions, condDatasource).Status)
}

func TestPlanRestartsOnSpecEditBeforeReady(t *testing.T) {
	st := Status{Blob: &BlobState{Importer: "n2"}}
	st.Phase, st.ObservedGeneration, st.Progress = api.ImageProvisioning, 1, "40.0%"
	im := mkImage(t, "", "a", 2, httpDS, st)
	got := testPlanner(testWorld(im)).plan(im).status
	assert.Equal(t, int64(2), got.ObservedGeneration)
	assert.Equal(t, "n1", got.importer(), "the leader takes the new import")
	assert.Empty(t, got.Progress)
}

func TestPlanUploadURLsAndDeadline(t *testing.T) {
	im := mkImage(t, "", "u", 1, api.DataSource{Type: api.DataSourceTypeUpload}, Status{})
	w := testWorld(im)
	st := testPlanner(w).plan(im).status
	assert.Equal(t, api.ImageWaitForUserUpload, st.Phase)
	assert.Equal(t, &api.ImageUploadURLs{External: "http://x/upload/SECRET", InCluster: "http://y/upload/SECRET"}, st.ImageUploadURLs)
	assert.Equal(t, now.Add(10*time.Minute), st.Blob.UploadDeadline.Time)

	w.now = now.Add(10*time.Minute + time.Second)
	late := mkImage(t, "", "u", 1, api.DataSource{Type: api.DataSourceTypeUpload}, st)
	got := testPlanner(w).plan(late).status
	assert.Equal(t, api.ImageFailed, got.Phase)
	assert.Equal(t, reasonUploadTimeout, api.FindCondition(got.Conditions, condReady).Reason)
	assert.Nil(t, got.ImageUploadURLs)
}

func TestPlanInterruptedUploadGetsNewURL(t *testing.T) {
	st := Status{Blob: &BlobState{Importer: "n2"}}
	st.Phase, st.ObservedGeneration = api.ImageProvisioning, 1
	im := mkImage(t, "", "u", 1, api.DataSource{Type: api.DataSourceTypeUpload}, st)
	w := testWorld(im)
	w.nodes["n2"] = nodeState{ready: false, since: now.Add(-2 * time.Minute)}
	got := testPlanner(w).plan(im).status
	assert.Equal(t, api.ImageWaitForUserUpload, got.Phase)
	assert.Contains(t, api.FindCondition(got.Conditions, condReady).Message, "node n2")
}

func TestPlanReplicatesAndLoses(t *testing.T) {
	im := mkImage(t, "", "r", 1, httpDS, readyStatus("sha256:d", "n2"))
	w := testWorld(im)
	got := testPlanner(w).plan(im).status
	assert.Equal(t, []string{"n1"}, got.fetching(), "one more copy, on the first Ready non-holder")

	w.replicas = 5 // capped by the three Ready nodes
	got = testPlanner(w).plan(im).status
	assert.Equal(t, []string{"n1", "n3"}, got.fetching())

	w.nodes["n2"] = nodeState{ready: false, since: now.Add(-2 * time.Minute)}
	got = testPlanner(w).plan(im).status
	assert.Equal(t, api.ImageLost, got.Phase)
	assert.Empty(t, got.holders())
	assert.Equal(t, reasonLost, api.FindCondition(got.Conditions, condReady).Reason)

	w.nodes["n2"] = nodeState{ready: false, since: now.Add(-10 * time.Second)}
	got = testPlanner(w).plan(im).status
	assert.Equal(t, api.ImageReady, got.Phase, "not lost yet")
}

func TestPlanPendingOnMissingSecret(t *testing.T) {
	ds := api.DataSource{Type: api.DataSourceTypeContainerImage, ContainerImage: &api.DataSourceContainerImage{
		Image: "r/x:1", ImagePullSecret: &api.ImagePullSecret{Name: "cred", Namespace: "ns"}}}
	im := mkImage(t, "", "c", 1, ds, Status{})
	w := testWorld(im)
	got := testPlanner(w).plan(im).status
	assert.Equal(t, api.ImagePending, got.Phase)
	assert.Equal(t, reasonSecretNotFound, api.FindCondition(got.Conditions, condDatasource).Reason)
	w.secrets["ns/cred"] = true
	assert.Equal(t, api.ImageProvisioning, testPlanner(w).plan(im).status.Phase)
}

func TestPlanObjectRefCopiesBlob(t *testing.T) {
	src := mkImage(t, "", "base", 1, httpDS, readyStatus("sha256:d", "n1", "n2"))
	ds := api.DataSource{Type: api.DataSourceTypeObjectRef, ObjectRef: &api.DataSourceObjectRef{
		Kind: api.KindClusterVirtualImage, Name: "base"}}
	cp := mkImage(t, "prod", "copy", 1, ds, Status{})
	w := testWorld(src, cp)
	w.addImageRefs()
	got := testPlanner(w).plan(cp).status
	assert.Equal(t, api.ImageReady, got.Phase)
	assert.Equal(t, "sha256:d", got.digest())
	assert.Equal(t, []string{"n1", "n2"}, got.holders())
	assert.Equal(t, "uid-base", got.SourceUID)
	assert.Equal(t, []string{"prod"}, testPlanner(w).plan(src).status.UsedInNamespaces)

	vd := mkImage(t, "prod", "from-disk", 1, api.DataSource{Type: api.DataSourceTypeObjectRef,
		ObjectRef: &api.DataSourceObjectRef{Kind: api.KindVirtualDisk, Name: "d"}}, Status{})
	got = testPlanner(w).plan(vd).status
	assert.Equal(t, api.ImageFailed, got.Phase)
	assert.Contains(t, api.FindCondition(got.Conditions, condReady).Message, "not supported yet")
}

func TestPlanDeletionWaitsForUsers(t *testing.T) {
	im := mkImage(t, "", "img", 1, httpDS, readyStatus("sha256:d", "n1"))
	im.obj.Metadata.DeletionTimestamp = api.NewTime(now)
	w := testWorld(im)
	w.addUser(api.KindClusterVirtualImage, "prod", "img", "VirtualMachine prod/vm1")
	plan := testPlanner(w).plan(im)
	assert.False(t, plan.removeFinalizer)
	assert.Equal(t, api.ImageTerminating, plan.status.Phase)
	c := api.FindCondition(plan.status.Conditions, condInUse)
	assert.Equal(t, reasonAttachedToVM, c.Reason)
	assert.Equal(t, "used by VirtualMachine prod/vm1", c.Message)

	w.users = map[ref][]string{}
	assert.True(t, testPlanner(w).plan(im).removeFinalizer)
}

func TestPlanNode(t *testing.T) {
	mine := Status{Blob: &BlobState{Importer: "n1"}}
	mine.Phase, mine.ObservedGeneration = api.ImageProvisioning, 1
	imp := mkImage(t, "", "imp", 1, httpDS, mine)
	up := mkImage(t, "", "up", 1, api.DataSource{Type: api.DataSourceTypeUpload}, mine)
	held := mkImage(t, "", "held", 1, httpDS, readyStatus("sha256:a", "n2"))
	lost := mkImage(t, "", "lost", 1, httpDS, readyStatus("sha256:b", "n1", "n2"))
	fetch := readyStatus("sha256:c", "n2")
	fetch.Blob.Fetching = []string{"n1"}
	fetching := mkImage(t, "", "fetch", 1, httpDS, fetch)
	w := testWorld(imp, up, held, lost, fetching)
	local := map[string]bool{"sha256:a": true, "sha256:z": true}
	running := map[string]job{fetchKey("sha256:old"): {}}

	p := planNode(w, local, true, running)
	assert.Equal(t, []*image{imp}, p.imports)
	assert.Equal(t, []*image{up}, p.resets, "an upload claimed here with no handler running")
	assert.Equal(t, []*image{held}, p.announce)
	assert.Equal(t, []*image{lost}, p.withdraw)
	assert.Equal(t, map[string]*image{"sha256:c": fetching}, p.fetches)
	assert.Equal(t, []string{fetchKey("sha256:old")}, p.cancel)
	assert.Equal(t, []string{"sha256:z"}, p.unref)

	p = planNode(w, local, false, map[string]job{importKey(imp.ref()): {gen: 1, uid: "uid-imp"},
		uploadKey(up.ref()): {gen: 1, uid: "uid-up"}})
	assert.Empty(t, p.imports, "running already")
	assert.Empty(t, p.resets)
	assert.Empty(t, p.withdraw, "nothing is withdrawn before the store was verified")
	assert.Empty(t, p.cancel)
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1023: "1023", 1024: "1Ki", 1536: "1.5Ki",
		199 << 20: "199Mi", 5 << 30: "5Gi", 2362232012: "2.2Gi"} {
		assert.Equal(t, want, humanBytes(n), n)
	}
	assert.Equal(t, "28.2%", percent(28.19))
}
