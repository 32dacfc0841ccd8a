package cgroup

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Allocator hands out exclusive host CPUs for dedicated-core VMs. It is the
// node's single record of which VM owns which CPU and persists it to a JSON
// file (written to a temporary file, fsynced, renamed over the old one, the
// directory fsynced) on every change, so assignments survive an agent
// restart. Reserved CPUs (kept for the host) are never handed out, and one
// CPU always stays unassigned so the shared pool is never empty.
//
// The Manager enforces the allocation: Create with Spec.DedicatedCPUs from
// Allocate takes those CPUs out of the shared pool, Delete puts them back,
// then Release frees them here. An Allocator is safe for concurrent use.
type Allocator struct {
	path     string
	all      []int
	reserved []int

	mu     sync.Mutex
	assign map[string][]int
}

type allocatorFile struct {
	Version     int              `json:"version"`
	Assignments map[string][]int `json:"assignments"`
}

// NewAllocator opens (or starts) the assignments in path. allCPUs are the
// node's CPUs; reserved ones are never allocated. A saved assignment naming
// a CPU that is not in allCPUs or is reserved, or two uids holding one CPU,
// is an error naming the uid and CPU: the node changed under the agent and
// an operator must look.
func NewAllocator(path string, allCPUs, reserved []int) (*Allocator, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: allocator path is empty", ErrInvalidSpec)
	}
	if len(allCPUs) == 0 {
		return nil, fmt.Errorf("%w: allocator allCPUs is empty", ErrInvalidSpec)
	}
	if err := checkCPUs(allCPUs); err != nil {
		return nil, fmt.Errorf("%w: allocator allCPUs %v: %w", ErrInvalidSpec, allCPUs, err)
	}
	a := &Allocator{
		path:     path,
		all:      union(allCPUs),
		reserved: union(reserved),
		assign:   map[string][]int{},
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("open allocator: %w", err)
	}
	var f allocatorFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("open allocator %s: %w", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("open allocator %s: unknown version %d", path, f.Version)
	}
	owner := map[int]string{}
	for _, uid := range slices.Sorted(maps.Keys(f.Assignments)) {
		for _, c := range f.Assignments[uid] {
			switch {
			case !slices.Contains(a.all, c):
				return nil, fmt.Errorf("open allocator %s: uid %s holds CPU %d, not one of the node's CPUs %s",
					path, uid, c, FormatCPUList(a.all))
			case slices.Contains(a.reserved, c):
				return nil, fmt.Errorf("open allocator %s: uid %s holds reserved CPU %d", path, uid, c)
			case owner[c] != "":
				return nil, fmt.Errorf("open allocator %s: CPU %d held by both %s and %s", path, c, owner[c], uid)
			}
			owner[c] = uid
		}
		a.assign[uid] = slices.Clone(f.Assignments[uid])
	}
	return a, nil
}

// Allocate gives uid n exclusive CPUs, the lowest free ones, and persists
// the assignment. It is idempotent: a uid that already holds n CPUs gets the
// same ones again (an agent re-running its reconcile after a restart); one
// holding a different number gets ErrAlreadyAllocated. Too few free CPUs is
// ErrInsufficientCPUs.
func (a *Allocator) Allocate(uid string, n int) ([]int, error) {
	if err := checkUID(uid); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("%w: allocate %d CPUs: must be at least 1", ErrInvalidSpec, n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur, ok := a.assign[uid]; ok {
		if len(cur) == n {
			return slices.Clone(cur), nil
		}
		return nil, fmt.Errorf("allocate %d CPUs for %s: %w (holds %s)", n, uid, ErrAlreadyAllocated, FormatCPUList(cur))
	}
	free := a.freeLocked()
	// The shared pool (every CPU not assigned) must keep at least one CPU.
	pool := without(a.all, a.assignedLocked())
	if len(free) < n || len(pool)-n < 1 {
		return nil, fmt.Errorf("allocate %d CPUs for %s: %w (free %q)", n, uid, ErrInsufficientCPUs, FormatCPUList(free))
	}
	got := slices.Clone(free[:n])
	a.assign[uid] = got
	if err := a.saveLocked(); err != nil {
		delete(a.assign, uid)
		return nil, err
	}
	return slices.Clone(got), nil
}

// Release frees uid's CPUs and persists that. Releasing a uid that holds
// none is not an error.
func (a *Allocator) Release(uid string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, ok := a.assign[uid]
	if !ok {
		return nil
	}
	delete(a.assign, uid)
	if err := a.saveLocked(); err != nil {
		a.assign[uid] = cur
		return err
	}
	return nil
}

// Assignments returns a copy of every uid's CPUs.
func (a *Allocator) Assignments() map[string][]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string][]int, len(a.assign))
	for uid, c := range a.assign {
		out[uid] = slices.Clone(c)
	}
	return out
}

// Free returns the CPUs that can still be allocated.
func (a *Allocator) Free() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.freeLocked()
}

// SharedPool returns every CPU minus every assigned one: what the shared
// pool cpuset should hold (reserved CPUs included).
func (a *Allocator) SharedPool() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return without(a.all, a.assignedLocked())
}

func (a *Allocator) assignedLocked() []int {
	var out []int
	for _, c := range a.assign {
		out = append(out, c...)
	}
	return union(out)
}

func (a *Allocator) freeLocked() []int {
	return without(a.all, a.reserved, a.assignedLocked())
}

func (a *Allocator) saveLocked() error {
	b, err := json.MarshalIndent(allocatorFile{Version: 1, Assignments: a.assign}, "", "  ")
	if err != nil {
		return fmt.Errorf("save allocator: %w", err)
	}
	if err := writeFileAtomic(a.path, append(b, '\n')); err != nil {
		return fmt.Errorf("save allocator: %w", err)
	}
	return nil
}

// writeFileAtomic writes path so that a crash leaves either the old or the
// new content: temp file in the same directory, fsync, rename, fsync dir.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
