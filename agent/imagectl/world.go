package imagectl

import (
	"encoding/json"
	"slices"
	"time"

	"davit/api"
)

// world is what the planners read: one consistent-enough snapshot of the
// replicated state, taken at the start of a pass.
type world struct {
	now      time.Time
	me       string
	nodes    map[string]nodeState
	images   map[ref]*image
	order    []ref // images sorted by kind, namespace and name
	replicas int
	// maxUnpacked caps an import's unpacked size (Settings); 0: no cap.
	maxUnpacked int64
	secrets     map[string]bool // "namespace/name" of every Secret
	// users lists, per image, the VMs and disks that use it
	// ("VirtualMachine default/vm1").
	users map[ref][]string
	// namespaces lists, per CVI name, the namespaces whose VIs, disks or
	// VMs refer to it (usedInNamespaces).
	namespaces map[string][]string
}

// nodeState is a node's Ready condition: its status and since when.
type nodeState struct {
	ready bool
	since time.Time
}

// lister is the read side of Cluster.
type lister interface {
	List(kind, namespace string, match func(*api.Object) bool) ([]*api.Object, uint64)
}

// readWorld takes the snapshot.
func readWorld(l lister, me string, now time.Time) *world {
	w := &world{now: now, me: me, nodes: map[string]nodeState{}, images: map[ref]*image{},
		replicas: api.DefaultImageReplicas, secrets: map[string]bool{},
		users: map[ref][]string{}, namespaces: map[string][]string{}}
	w.readNodes(l)
	w.readSettings(l)
	for _, kind := range imageKinds {
		objs, _ := l.List(kind, "", nil)
		for _, o := range objs {
			if im, err := decodeImage(o); err == nil {
				w.images[im.ref()] = im
				w.order = append(w.order, im.ref())
			}
		}
	}
	secrets, _ := l.List("Secret", "", nil)
	for _, s := range secrets {
		w.secrets[s.Key()] = true
	}
	w.readUsers(l)
	return w
}

func (w *world) readNodes(l lister) {
	objs, _ := l.List("Node", "", nil)
	for _, o := range objs {
		var st api.NodeStatus
		_ = json.Unmarshal(o.Status, &st)
		ns := nodeState{}
		if c := api.FindCondition(st.Conditions, "Ready"); c != nil {
			ns.ready, ns.since = c.Status == api.ConditionTrue, c.LastTransitionTime.Time
		}
		w.nodes[o.Metadata.Name] = ns
	}
}

func (w *world) readSettings(l lister) {
	objs, _ := l.List("Settings", "", nil)
	for _, o := range objs {
		r, err := api.FromObject(o)
		if err != nil || o.Metadata.Name != api.SettingsName {
			continue
		}
		s := r.(*api.Settings)
		if s.Spec.ImageReplicas != nil && *s.Spec.ImageReplicas > 0 {
			w.replicas = *s.Spec.ImageReplicas
		}
		if q := s.Spec.MaxUnpackedImageBytes; q != nil {
			w.maxUnpacked = q.Bytes()
		}
	}
}

// readUsers finds the VMs and disks that use each image, and the
// namespaces that refer to each CVI.
func (w *world) readUsers(l lister) {
	vms, _ := l.List("VirtualMachine", "", nil)
	for _, o := range vms {
		var spec struct {
			BlockDeviceRefs []api.BlockDeviceRef `json:"blockDeviceRefs"`
		}
		_ = json.Unmarshal(o.Spec, &spec)
		for _, bd := range spec.BlockDeviceRefs {
			w.addUser(bd.Kind, o.Metadata.Namespace, bd.Name, "VirtualMachine "+o.Key())
		}
	}
	disks, _ := l.List("VirtualDisk", "", nil)
	for _, o := range disks {
		var spec struct {
			DataSource *api.DataSource `json:"dataSource"`
		}
		_ = json.Unmarshal(o.Spec, &spec)
		var st struct {
			Phase api.DiskPhase `json:"phase"`
		}
		_ = json.Unmarshal(o.Status, &st)
		// A Ready disk is an independent copy (diskctl copies, it does not
		// overlay): it no longer needs its image.
		if st.Phase == api.DiskReady {
			continue
		}
		if r := spec.DataSource; r != nil && r.Type == api.DataSourceTypeObjectRef && r.ObjectRef != nil {
			w.addUser(r.ObjectRef.Kind, o.Metadata.Namespace, r.ObjectRef.Name, "VirtualDisk "+o.Key())
		}
	}
	w.addImageRefs()
}

// addImageRefs records the namespaces of VIs copied from each CVI, and
// sorts what readUsers found.
func (w *world) addImageRefs() {
	for _, key := range w.order {
		im := w.images[key]
		if im.obj.Kind == api.KindVirtualImage && im.source.Type == api.DataSourceTypeObjectRef &&
			im.source.ObjectRef != nil && im.source.ObjectRef.Kind == api.KindClusterVirtualImage {
			w.addNamespace(im.source.ObjectRef.Name, im.obj.Metadata.Namespace)
		}
	}
	for k := range w.users {
		slices.Sort(w.users[k])
	}
	for k := range w.namespaces {
		slices.Sort(w.namespaces[k])
	}
}

// addUser records that user (in namespace ns) uses the image kind/name.
func (w *world) addUser(kind, ns, name, user string) {
	switch kind {
	case api.KindClusterVirtualImage:
		w.users[ref{kind: kind, name: name}] = append(w.users[ref{kind: kind, name: name}], user)
		w.addNamespace(name, ns)
	case api.KindVirtualImage:
		r := ref{kind: kind, namespace: ns, name: name}
		w.users[r] = append(w.users[r], user)
	}
}

func (w *world) addNamespace(cvi, ns string) {
	if ns != "" && !slices.Contains(w.namespaces[cvi], ns) {
		w.namespaces[cvi] = append(w.namespaces[cvi], ns)
	}
}

// readyNodes are the nodes whose Ready condition is True, sorted.
func (w *world) readyNodes() []string {
	var out []string
	for n, s := range w.nodes {
		if s.ready {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// lost reports whether node is gone for good as far as replicas go: its
// Node object is missing, or it has not been Ready for lostAfter.
func (w *world) lost(node string, lostAfter time.Duration) bool {
	if node == w.me {
		return false // this agent is running this very code
	}
	s, ok := w.nodes[node]
	if !ok {
		return true
	}
	return !s.ready && !s.since.IsZero() && w.now.Sub(s.since) > lostAfter
}
