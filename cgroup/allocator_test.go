package cgroup

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllocator(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpus.json")
	a, err := NewAllocator(path, []int{0, 1, 2, 3}, []int{0})
	require.NoError(t, err)

	got, err := a.Allocate("vm-a", 2)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, got, "lowest free CPUs, never the reserved 0")
	again, err := a.Allocate("vm-a", 2)
	require.NoError(t, err)
	assert.Equal(t, got, again, "idempotent for the same uid and count")
	_, err = a.Allocate("vm-a", 1)
	assert.ErrorIs(t, err, ErrAlreadyAllocated)
	_, err = a.Allocate("vm-b", 2)
	assert.ErrorIs(t, err, ErrInsufficientCPUs)
	b, err := a.Allocate("vm-b", 1)
	require.NoError(t, err)
	assert.Equal(t, []int{3}, b)
	assert.Equal(t, []int{0}, a.SharedPool(), "the reserved CPU keeps the pool non-empty")
	assert.Empty(t, a.Free())

	// A new Allocator on the same file (an agent restart) sees the same.
	a2, err := NewAllocator(path, []int{0, 1, 2, 3}, []int{0})
	require.NoError(t, err)
	assert.Equal(t, map[string][]int{"vm-a": {1, 2}, "vm-b": {3}}, a2.Assignments())
	require.NoError(t, a2.Release("vm-a"))
	require.NoError(t, a2.Release("vm-a"), "releasing twice is fine")
	assert.Equal(t, []int{0, 1, 2}, a2.SharedPool())

	a3, err := NewAllocator(path, []int{0, 1, 2, 3}, []int{0})
	require.NoError(t, err)
	assert.Equal(t, map[string][]int{"vm-b": {3}}, a3.Assignments())
	leftovers, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers, "no temporary files left behind")
}

func TestAllocatorKeepsOneSharedCPU(t *testing.T) {
	a, err := NewAllocator(filepath.Join(t.TempDir(), "cpus.json"), []int{0, 1}, nil)
	require.NoError(t, err)
	_, err = a.Allocate("vm-a", 2)
	assert.ErrorIs(t, err, ErrInsufficientCPUs, "dedicating every CPU would empty the shared pool")
	got, err := a.Allocate("vm-a", 1)
	require.NoError(t, err)
	assert.Equal(t, []int{0}, got)
	_, err = a.Allocate("vm-b", 1)
	assert.ErrorIs(t, err, ErrInsufficientCPUs)
}

func TestAllocatorRejectsChangedNode(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		file     string
		reserved []int
		want     string
	}{
		"cpu gone":     {`{"version":1,"assignments":{"vm-a":[7]}}`, nil, "uid vm-a holds CPU 7"},
		"now reserved": {`{"version":1,"assignments":{"vm-a":[0]}}`, []int{0}, "reserved CPU 0"},
		"double":       {`{"version":1,"assignments":{"vm-a":[1],"vm-b":[1]}}`, nil, "CPU 1 held by both vm-a and vm-b"},
		"version":      {`{"version":9}`, nil, "unknown version 9"},
	} {
		path := filepath.Join(dir, name+".json")
		require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o600))
		_, err := NewAllocator(path, []int{0, 1, 2, 3}, tc.reserved)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
	_, err := NewAllocator(filepath.Join(dir, "x.json"), nil, nil)
	assert.ErrorIs(t, err, ErrInvalidSpec)
}
