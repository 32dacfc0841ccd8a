package diskctl

import (
	"fmt"
	"slices"
	"strings"

	"davit/api"
)

// ResolveStorageClass picks a disk's storage class as reference §4 "SC
// resolution" says. specName is the disk's
// spec.persistentVolumeClaim.storageClassName, set the cluster settings'
// virtualDisks section (nil when absent), classes every StorageClass.
//
// Without a module default and an allow-list, the spec's class is used,
// else the cluster default. Otherwise: a spec class must be allowed (in
// matchNames or allowedStorageClassNames, or equal to the module default);
// no spec class means the module default; else the cluster default if it
// is allowed. The cluster default is the class annotated
// storageclass.kubernetes.io/is-default-class=true; the newest wins, ties
// go to the first name. The result always names an existing class;
// errors match ErrStorageClassNotAllowed or ErrStorageClassNotFound.
func ResolveStorageClass(specName string, set *api.StorageClassSettings, classes []*api.StorageClass) (string, error) {
	def, allowed := moduleRules(set)
	name := specName
	switch {
	case def == "" && len(allowed) == 0:
		if name == "" {
			name = clusterDefault(classes)
		}
	case name != "":
		if name != def && !slices.Contains(allowed, name) {
			return "", fmt.Errorf("resolve storage class %q: %w by the cluster settings "+
				"(virtualDisks allows %s)", name, ErrStorageClassNotAllowed, allowedText(def, allowed))
		}
	case def != "":
		name = def
	default:
		name = clusterDefault(classes)
		if name != "" && !slices.Contains(allowed, name) {
			return "", fmt.Errorf("resolve storage class: the cluster default %q is not allowed "+
				"(virtualDisks allows %s) and no virtualDisks.defaultStorageClassName is set: %w",
				name, allowedText(def, allowed), ErrStorageClassNotFound)
		}
	}
	if name == "" {
		return "", fmt.Errorf("resolve storage class: the disk names none and no class is annotated %s=true: %w",
			api.DefaultStorageClassAnnotation, ErrStorageClassNotFound)
	}
	if !slices.ContainsFunc(classes, func(c *api.StorageClass) bool { return c.Metadata.Name == name }) {
		return "", fmt.Errorf("resolve storage class %q: %w", name, ErrStorageClassNotFound)
	}
	return name, nil
}

// moduleRules returns the module default (defaultStorageClassName, or the
// deprecated storageClassName) and the allow-list (matchNames and
// allowedStorageClassNames together).
func moduleRules(set *api.StorageClassSettings) (string, []string) {
	if set == nil {
		return "", nil
	}
	def := set.DefaultStorageClassName
	if def == "" {
		def = set.StorageClassName
	}
	var allowed []string
	if sel := set.AllowedStorageClassSelector; sel != nil {
		allowed = append(allowed, sel.MatchNames...)
	}
	allowed = append(allowed, set.AllowedStorageClassNames...)
	return def, allowed
}

func allowedText(def string, allowed []string) string {
	names := slices.Clone(allowed)
	if def != "" && !slices.Contains(names, def) {
		names = append(names, def)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// clusterDefault is the name of the newest class annotated as the
// default (ties: the first name), or "". Classes being deleted do not
// count.
func clusterDefault(classes []*api.StorageClass) string {
	var best *api.StorageClass
	for _, c := range classes {
		if !c.IsDefault() || c.Metadata.DeletionTimestamp != nil {
			continue
		}
		if best == nil || newer(c, best) {
			best = c
		}
	}
	if best == nil {
		return ""
	}
	return best.Metadata.Name
}

// newer reports whether a beats b as the default: created later, or at
// the same time with a smaller name.
func newer(a, b *api.StorageClass) bool {
	at, bt := created(a), created(b)
	if !at.Equal(bt) {
		return at.After(bt)
	}
	return a.Metadata.Name < b.Metadata.Name
}
