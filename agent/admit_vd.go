package agent

import (
	"errors"

	"davit/agent/diskctl"
	"davit/api"
)

// admitVD rejects a VirtualDisk whose storage class the cluster settings
// do not allow (virtualDisks.allowedStorageClassNames / matchNames and
// defaultStorageClassName, reference §4): the guide's "a class not allowed
// is rejected". A class that does not exist yet is accepted: the disk waits
// with StorageClassReady=False until it appears. Only a new disk or a
// changed class name is checked, so a settings change never blocks edits to
// existing disks.
func (ad *admitter) admitVD(vd *api.VirtualDisk, old api.Resource) api.FieldErrors {
	name := vd.Spec.PersistentVolumeClaim.StorageClassName
	if vd.Metadata.DeletionTimestamp != nil || name == "" {
		return nil
	}
	if o, ok := old.(*api.VirtualDisk); ok && o.Spec.PersistentVolumeClaim.StorageClassName == name {
		return nil
	}
	var set *api.StorageClassSettings
	if obj, err := ad.store.Get("Settings", "", settingsName); err == nil {
		if r, err := api.FromObject(obj); err == nil {
			set = r.(*api.Settings).Spec.VirtualDisks
		}
	}
	var classes []*api.StorageClass
	objs, _ := ad.store.List("StorageClass", "", nil)
	for _, o := range objs {
		if r, err := api.FromObject(o); err == nil {
			classes = append(classes, r.(*api.StorageClass))
		}
	}
	if _, err := diskctl.ResolveStorageClass(name, set, classes); errors.Is(err, diskctl.ErrStorageClassNotAllowed) {
		var errs api.FieldErrors
		errs.Add(api.ErrForbidden, "spec.persistentVolumeClaim.storageClassName", err.Error())
		return errs
	}
	return nil
}
