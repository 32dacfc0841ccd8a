package diskctl

import (
	"errors"
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
)

func class(name string, isDefault bool, created time.Time) *api.StorageClass {
	sc := &api.StorageClass{Metadata: api.ObjectMeta{Name: name, CreationTimestamp: api.NewTime(created)},
		Spec: api.StorageClassSpec{Type: api.StorageTypeLocal, VolumeBindingMode: api.BindingWaitForFirstConsumer}}
	if isDefault {
		sc.Metadata.Annotations = map[string]string{api.DefaultStorageClassAnnotation: "true"}
	}
	return sc
}

func TestResolveStorageClass(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	local := class("local", true, t0)
	fast := class("fast", false, t0)
	nfs := class("nfs", false, t0)
	newDef := class("zz-new", true, t0.Add(time.Hour))
	tieA, tieB := class("b-tie", true, t0.Add(2*time.Hour)), class("a-tie", true, t0.Add(2*time.Hour))
	deleting := class("gone", true, t0.Add(3*time.Hour))
	deleting.Metadata.DeletionTimestamp = api.NewTime(t0)
	all := []*api.StorageClass{local, fast, nfs}
	sel := func(def string, names ...string) *api.StorageClassSettings {
		s := &api.StorageClassSettings{DefaultStorageClassName: def}
		if names != nil {
			s.AllowedStorageClassSelector = &api.StorageClassSelector{MatchNames: names}
		}
		return s
	}
	cases := []struct {
		name    string
		spec    string
		set     *api.StorageClassSettings
		classes []*api.StorageClass
		want    string
		err     error
	}{
		{"no rules, spec class", "fast", nil, all, "fast", nil},
		{"no rules, cluster default", "", nil, all, "local", nil},
		{"empty settings section is no rules", "", &api.StorageClassSettings{}, all, "local", nil},
		{"no rules, spec class missing", "ssd", nil, all, "", ErrStorageClassNotFound},
		{"no rules, no default", "", nil, []*api.StorageClass{fast}, "", ErrStorageClassNotFound},
		{"newest default wins", "", nil, append([]*api.StorageClass{newDef}, all...), "zz-new", nil},
		{"ties by name", "", nil, []*api.StorageClass{local, tieA, tieB}, "a-tie", nil},
		{"deleting class is no default", "", nil, []*api.StorageClass{local, deleting}, "local", nil},
		{"allowed spec class", "fast", sel("", "fast", "nfs"), all, "fast", nil},
		{"spec class equal to module default", "nfs", sel("nfs", "fast"), all, "nfs", nil},
		{"spec class not allowed", "local", sel("", "fast"), all, "", ErrStorageClassNotAllowed},
		{"spec class not allowed by default only", "fast", sel("nfs"), all, "", ErrStorageClassNotAllowed},
		{"allowed but missing", "ssd", sel("", "ssd"), all, "", ErrStorageClassNotFound},
		{"module default", "", sel("nfs", "fast"), all, "nfs", nil},
		{"deprecated module default", "", &api.StorageClassSettings{StorageClassName: "fast"}, all, "fast", nil},
		{"allowedStorageClassNames spelling", "nfs", &api.StorageClassSettings{AllowedStorageClassNames: []string{"nfs"}}, all, "nfs", nil},
		{"module default missing", "", sel("ssd"), all, "", ErrStorageClassNotFound},
		{"cluster default allowed", "", sel("", "local", "fast"), all, "local", nil},
		{"cluster default not allowed", "", sel("", "fast"), all, "", ErrStorageClassNotFound},
		{"allow-list without any default", "", sel("", "fast"), []*api.StorageClass{fast}, "", ErrStorageClassNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveStorageClass(tc.spec, tc.set, tc.classes)
			if tc.err != nil {
				assert.True(t, errors.Is(err, tc.err), "error %v, want %v", err, tc.err)
				assert.Empty(t, got)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestResolveErrorsNameTheClass(t *testing.T) {
	_, err := ResolveStorageClass("ssd", nil, nil)
	assert.ErrorContains(t, err, `"ssd"`)
	assert.ErrorContains(t, err, "not found")
	_, err = ResolveStorageClass("local", &api.StorageClassSettings{DefaultStorageClassName: "nfs"},
		[]*api.StorageClass{class("local", true, time.Time{})})
	assert.ErrorContains(t, err, `"local"`)
	assert.ErrorContains(t, err, "not allowed")
}
