package diskctl

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"davit/api"
)

// world is what the planners read: one consistent-enough snapshot of the
// replicated state, taken at the start of a pass.
type world struct {
	now     time.Time
	me      string
	dataDir string
	// ready is each node's Ready condition status (nodes without one are
	// absent).
	ready    map[string]bool
	classes  map[string]*api.StorageClass
	settings *api.StorageClassSettings // Settings spec.virtualDisks
	disks    []*disk                   // sorted by namespace and name
	images   map[imageRef]imageInfo
	// users lists, per disk key ("ns/name"), the VMs whose spec names it,
	// sorted by name.
	users map[string][]vmUse
}

// imageRef names a CVI (namespace "") or VI.
type imageRef struct{ kind, namespace, name string }

// imageInfo is what a disk needs of an image.
type imageInfo struct {
	uid      string
	phase    api.ImagePhase
	format   string
	digest   string // status.blob.digest (imagectl's bookkeeping)
	unpacked int64  // status.size.unpackedBytes
}

// vmUse is a VM that names a disk in spec.blockDeviceRefs.
type vmUse struct {
	name  string
	phase api.VMPhase
	node  string // status.nodeName
}

// mounted reports whether the VM has the disk open (reference:
// attachedToVirtualMachines[].mounted).
func (u vmUse) mounted() bool {
	switch u.phase {
	case api.VMStarting, api.VMRunning, api.VMStopping, api.VMMigrating:
		return true
	}
	return false
}

// holds reports whether the VM keeps the disk in use (InUse
// AttachedToVirtualMachine): it is neither Pending nor Stopped, or it has
// been placed on a node.
func (u vmUse) holds() bool {
	return (u.phase != "" && u.phase != api.VMPending && u.phase != api.VMStopped) || u.node != ""
}

// consumer reports whether the VM binds a WaitForFirstConsumer disk: it
// is placed and not Stopped.
func (u vmUse) consumer() bool { return u.node != "" && u.phase != api.VMStopped }

// lister is the read side of Cluster.
type lister interface {
	List(kind, namespace string, match func(*api.Object) bool) ([]*api.Object, uint64)
}

// readWorld takes the snapshot. Objects that do not decode are skipped
// (the API validated them; nothing here may panic on bad input).
func readWorld(l lister, me, dataDir string, now time.Time) *world {
	w := &world{now: now, me: me, dataDir: dataDir, ready: map[string]bool{},
		classes: map[string]*api.StorageClass{}, images: map[imageRef]imageInfo{}, users: map[string][]vmUse{}}
	w.readNodes(l)
	objs, _ := l.List("StorageClass", "", nil)
	for _, o := range objs {
		if r, err := api.FromObject(o); err == nil {
			if sc, ok := r.(*api.StorageClass); ok {
				w.classes[o.Metadata.Name] = sc
			}
		}
	}
	objs, _ = l.List("Settings", "", nil)
	for _, o := range objs {
		if r, err := api.FromObject(o); err == nil && o.Metadata.Name == api.SettingsName {
			if s, ok := r.(*api.Settings); ok {
				w.settings = s.Spec.VirtualDisks
			}
		}
	}
	w.readImages(l)
	w.readVMs(l)
	objs, _ = l.List(api.KindVirtualDisk, "", nil)
	for _, o := range objs {
		if d, err := decodeDisk(o); err == nil {
			w.disks = append(w.disks, d)
		}
	}
	slices.SortFunc(w.disks, func(a, b *disk) int {
		if a.ns() != b.ns() {
			return compare(a.ns(), b.ns())
		}
		return compare(a.name(), b.name())
	})
	return w
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (w *world) readNodes(l lister) {
	objs, _ := l.List("Node", "", nil)
	for _, o := range objs {
		var st api.NodeStatus
		if json.Unmarshal(o.Status, &st) != nil {
			continue
		}
		if c := api.FindCondition(st.Conditions, "Ready"); c != nil {
			w.ready[o.Metadata.Name] = c.Status == api.ConditionTrue
		}
	}
}

func (w *world) readImages(l lister) {
	for _, kind := range []string{api.KindClusterVirtualImage, api.KindVirtualImage} {
		objs, _ := l.List(kind, "", nil)
		for _, o := range objs {
			var st struct {
				api.ImageStatus
				Blob *struct {
					Digest string `json:"digest"`
				} `json:"blob"`
			}
			if len(o.Status) > 0 && json.Unmarshal(o.Status, &st) != nil {
				continue
			}
			info := imageInfo{uid: o.Metadata.UID, phase: st.Phase, format: st.Format}
			if st.Blob != nil {
				info.digest = st.Blob.Digest
			}
			info.unpacked, _ = strconv.ParseInt(st.Size.UnpackedBytes, 10, 64)
			if o.Metadata.DeletionTimestamp != nil {
				info.phase = api.ImageTerminating
			}
			w.images[imageRef{kind: kind, namespace: o.Metadata.Namespace, name: o.Metadata.Name}] = info
		}
	}
}

func (w *world) readVMs(l lister) {
	objs, _ := l.List("VirtualMachine", "", nil)
	for _, o := range objs {
		var spec struct {
			BlockDeviceRefs []api.BlockDeviceRef `json:"blockDeviceRefs"`
		}
		var st struct {
			Phase    api.VMPhase `json:"phase"`
			NodeName string      `json:"nodeName"`
		}
		if json.Unmarshal(o.Spec, &spec) != nil {
			continue
		}
		if len(o.Status) > 0 && json.Unmarshal(o.Status, &st) != nil {
			continue
		}
		seen := map[string]bool{}
		for _, bd := range spec.BlockDeviceRefs {
			if bd.Kind != api.KindVirtualDisk || seen[bd.Name] {
				continue
			}
			seen[bd.Name] = true
			k := api.Key(o.Metadata.Namespace, bd.Name)
			w.users[k] = append(w.users[k], vmUse{name: o.Metadata.Name, phase: st.Phase, node: st.NodeName})
		}
	}
	for k := range w.users {
		slices.SortFunc(w.users[k], func(a, b vmUse) int { return compare(a.name, b.name) })
	}
}

// classList is every class, for ResolveStorageClass.
func (w *world) classList() []*api.StorageClass {
	out := make([]*api.StorageClass, 0, len(w.classes))
	for _, c := range w.classes {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *api.StorageClass) int { return compare(a.Metadata.Name, b.Metadata.Name) })
	return out
}

// inUse returns the VMs that hold the disk (see vmUse.holds).
func (w *world) inUse(d *disk) []vmUse {
	var out []vmUse
	for _, u := range w.users[d.key()] {
		if u.holds() {
			out = append(out, u)
		}
	}
	return out
}

// classDir is where a class keeps its disk files: its spec.path, or
// DATA/storage/<class> for a local class without one ("" when a shared
// class has no path: it cannot hold files).
func (w *world) classDir(sc *api.StorageClass) string {
	if sc.Spec.Path != "" {
		return sc.Spec.Path
	}
	if sc.Spec.Type == api.StorageTypeShared {
		return ""
	}
	return filepath.Join(w.dataDir, "storage", sc.Metadata.Name)
}
