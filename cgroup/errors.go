package cgroup

import "errors"

var (
	// ErrNotSupported: the host lacks cgroups or a controller davit needs.
	// The wrapping error names what is missing.
	ErrNotSupported = errors.New("not supported on this host")
	// ErrInvalidSpec: a Spec, Resources, uid or CPU argument is out of range.
	// The wrapping error names every bad field and its value.
	ErrInvalidSpec = errors.New("invalid cgroup spec")
	// ErrNotFound: no group exists for the VM uid.
	ErrNotFound = errors.New("cgroup not found")
	// ErrExists: Create found a group for the uid already.
	ErrExists = errors.New("cgroup already exists")
	// ErrBusy: Delete or Destroy found tasks still in the group(s).
	ErrBusy = errors.New("cgroup still has tasks")
	// ErrInsufficientCPUs: not enough free CPUs to dedicate, or dedicating
	// them would leave the shared pool empty.
	ErrInsufficientCPUs = errors.New("insufficient CPUs")
	// ErrCPUInUse: a dedicated CPU already belongs to another VM.
	ErrCPUInUse = errors.New("CPU already dedicated to another VM")
	// ErrAlreadyAllocated: Allocate was asked for a different number of
	// CPUs than the uid already holds.
	ErrAlreadyAllocated = errors.New("CPUs already allocated to this uid")
	// ErrNotInGroup: PinThread was given a thread that is not in the VM's
	// group (pin only threads of the VM's own process).
	ErrNotInGroup = errors.New("thread not in the VM's cgroup")
)
