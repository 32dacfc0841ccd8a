package api

import (
	"fmt"
	"strings"
)

// Limits of a VM.
const (
	MaxVMCores          = 248
	MaxBlockDevices     = 16
	MaxLegacyPVOffDisks = 4
	MaxUserDataBytes    = 2048
	MaxUSBDevices       = 8
	MaxGPUs             = 16
	reservedKeyFragment = "virtualization.deckhouse.io"
)

// Default implements Defaulter (reference §6 defaults). The class name
// and coreFraction need the class: see DefaultVMAgainstClass.
func (r *VirtualMachine) Default() {
	s := &r.Spec
	setDefault(&s.RunPolicy, RunPolicyAlwaysOnUnlessStoppedManually)
	setDefault(&s.OSType, OSTypeGeneric)
	setDefault(&s.Bootloader, BootloaderBIOS)
	setDefault(&s.LiveMigrationPolicy, MigrationPreferSafe)
	if s.EnableParavirtualization == nil {
		t := true
		s.EnableParavirtualization = &t
	}
	if s.Disruptions == nil {
		s.Disruptions = &Disruptions{}
	}
	setDefault(&s.Disruptions.RestartApprovalMode, RestartApprovalManual)
	if s.TerminationGracePeriodSeconds == nil {
		g := int64(60)
		s.TerminationGracePeriodSeconds = &g
	}
	if p := s.Provisioning; p != nil {
		if p.UserDataRef != nil {
			setDefault(&p.UserDataRef.Kind, "Secret")
		}
		if p.SysprepRef != nil {
			setDefault(&p.SysprepRef.Kind, "Secret")
		}
	}
}

func setDefault(field *string, v string) {
	if *field == "" {
		*field = v
	}
}

// Validate implements Validator (reference §6 "Validation").
func (r *VirtualMachine) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{namespaced: true, maxLen: 63})
	validateReservedKeys(&errs, "metadata.labels", r.Metadata.Labels)
	validateReservedKeys(&errs, "metadata.annotations", r.Metadata.Annotations)
	s := &r.Spec
	if s.VirtualMachineClassName == "" {
		errs.Add(ErrRequired, "spec.virtualMachineClassName", "a VirtualMachineClass name is required")
	}
	validateVMCPU(&errs, &s.CPU)
	switch {
	case s.Memory.Size.IsZero():
		errs.Add(ErrRequired, "spec.memory.size", "a memory size (e.g. 2Gi) is required")
	case s.Memory.Size.Bytes() <= 0:
		errs.Add(ErrInvalid, "spec.memory.size", "must be greater than 0", s.Memory.Size.String())
	}
	validateBlockDevices(&errs, "spec.blockDeviceRefs", s.BlockDeviceRefs)
	validateVMEnums(&errs, s)
	validateLegacy(&errs, s)
	if s.Provisioning != nil {
		validateProvisioning(&errs, "spec.provisioning", s.Provisioning)
	}
	validateVMPlacement(&errs, s)
	validateVMDevices(&errs, s)
	return errs
}

// ValidateUpdate implements Validator. A VM's spec may change; what needs
// a restart is queued by the controller.
func (r *VirtualMachine) ValidateUpdate(old Resource) FieldErrors {
	if _, ok := old.(*VirtualMachine); !ok {
		return wrongKind("VirtualMachine", old)
	}
	return nil
}

func validateReservedKeys(errs *FieldErrors, path string, m map[string]string) {
	for _, k := range sortedStringKeys(m) {
		if strings.Contains(k, reservedKeyFragment) {
			errs.Add(ErrForbidden, path, "keys containing "+reservedKeyFragment+" are reserved", k)
		}
	}
}

func validateVMCPU(errs *FieldErrors, c *VMCPU) {
	const path = "spec.cpu"
	switch {
	case c.Cores == 0:
		errs.Add(ErrRequired, path+".cores", "a core count is required")
	case c.Cores < 1 || c.Cores > MaxVMCores:
		errs.Add(ErrInvalid, path+".cores", fmt.Sprintf("must be from 1 to %d", MaxVMCores), c.Cores)
	default:
		if sockets, _ := CPUTopology(c.Cores); c.Cores%sockets != 0 {
			errs.Add(ErrInvalid, path+".cores",
				fmt.Sprintf("%d cores need %d sockets, so the count must be a multiple of %d", c.Cores, sockets, sockets), c.Cores)
		}
	}
	if c.CoreFraction != "" && !fractionRE.MatchString(c.CoreFraction) {
		errs.Add(ErrInvalid, path+".coreFraction", `must be a percent from 1% to 100% (e.g. "25%") or "Auto"`, c.CoreFraction)
	}
	if c.DedicatedCores && c.CoreFraction != "" && c.CoreFraction != "100%" {
		errs.Add(ErrInvalid, path+".coreFraction", "dedicated cores need coreFraction 100%", c.CoreFraction)
	}
}

// CPUTopology returns the sockets and cores per socket of a VM with cores
// vCPUs (reference §6 "Topology"): 1 socket up to 16, 2 up to 32, 4 up to
// 64, 8 above. When cores is not a multiple of the sockets, coresPerSocket
// is rounded up (such a VM does not validate).
func CPUTopology(cores int) (sockets, coresPerSocket int) {
	switch {
	case cores <= 16:
		sockets = 1
	case cores <= 32:
		sockets = 2
	case cores <= 64:
		sockets = 4
	default:
		sockets = 8
	}
	return sockets, (cores + sockets - 1) / sockets
}

func validateBlockDevices(errs *FieldErrors, path string, refs []BlockDeviceRef) {
	switch {
	case len(refs) == 0:
		errs.Add(ErrRequired, path, "at least one block device is required")
	case len(refs) > MaxBlockDevices:
		errs.Add(ErrTooMany, path, fmt.Sprintf("at most %d block devices", MaxBlockDevices), len(refs))
	}
	seen := map[string]int{}
	orders := map[int]int{}
	for i, ref := range refs {
		p := fmt.Sprintf("%s[%d]", path, i)
		requireEnum(errs, p+".kind", ref.Kind, KindClusterVirtualImage, KindVirtualImage, KindVirtualDisk)
		checkRefName(errs, p+".name", ref.Name)
		key := ref.Kind + "/" + ref.Name
		if j, dup := seen[key]; dup {
			errs.Add(ErrDuplicate, p, fmt.Sprintf("%s %s is already listed at index %d", ref.Kind, ref.Name, j), key)
		} else {
			seen[key] = i
		}
		if ref.BootOrder == nil {
			continue
		}
		if *ref.BootOrder < 1 {
			errs.Add(ErrInvalid, p+".bootOrder", "must be at least 1", *ref.BootOrder)
		} else if j, dup := orders[*ref.BootOrder]; dup {
			errs.Add(ErrDuplicate, p+".bootOrder", fmt.Sprintf("already used by index %d", j), *ref.BootOrder)
		} else {
			orders[*ref.BootOrder] = i
		}
	}
}

func validateVMEnums(errs *FieldErrors, s *VirtualMachineSpec) {
	checkEnum(errs, "spec.runPolicy", s.RunPolicy, RunPolicyAlwaysOn, RunPolicyAlwaysOff,
		RunPolicyManual, RunPolicyAlwaysOnUnlessStoppedManually)
	checkEnum(errs, "spec.osType", s.OSType, OSTypeWindows, OSTypeGeneric, OSTypeLegacy)
	checkEnum(errs, "spec.bootloader", s.Bootloader, BootloaderBIOS, BootloaderEFI, BootloaderEFIWithSecureBoot)
	checkEnum(errs, "spec.liveMigrationPolicy", s.LiveMigrationPolicy, MigrationAlwaysSafe,
		MigrationPreferSafe, MigrationAlwaysForced, MigrationPreferForced)
	if s.Disruptions != nil {
		checkEnum(errs, "spec.disruptions.restartApprovalMode", s.Disruptions.RestartApprovalMode,
			RestartApprovalManual, RestartApprovalAutomatic)
	}
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		errs.Add(ErrInvalid, "spec.terminationGracePeriodSeconds", "must not be negative", *g)
	}
}

// validateLegacy applies the Legacy osType rules: BIOS only, no
// provisioning, and at most 4 block devices without paravirtualization.
func validateLegacy(errs *FieldErrors, s *VirtualMachineSpec) {
	if s.OSType != OSTypeLegacy {
		return
	}
	if s.Bootloader != "" && s.Bootloader != BootloaderBIOS {
		errs.Add(ErrForbidden, "spec.bootloader", "osType Legacy boots with BIOS only", s.Bootloader)
	}
	if s.Provisioning != nil {
		errs.Add(ErrForbidden, "spec.provisioning", "not supported with osType Legacy")
	}
	pvOff := s.EnableParavirtualization != nil && !*s.EnableParavirtualization
	if pvOff && len(s.BlockDeviceRefs) > MaxLegacyPVOffDisks {
		errs.Add(ErrTooMany, "spec.blockDeviceRefs",
			fmt.Sprintf("osType Legacy without paravirtualization takes at most %d block devices", MaxLegacyPVOffDisks),
			len(s.BlockDeviceRefs))
	}
}

func validateProvisioning(errs *FieldErrors, path string, p *Provisioning) {
	requireEnum(errs, path+".type", p.Type, ProvisioningUserData, ProvisioningUserDataRef, ProvisioningSysprepRef)
	blocks := []struct {
		name, typ string
		set       bool
	}{
		{"userData", ProvisioningUserData, p.UserData != ""},
		{"userDataRef", ProvisioningUserDataRef, p.UserDataRef != nil},
		{"sysprepRef", ProvisioningSysprepRef, p.SysprepRef != nil},
	}
	for _, b := range blocks {
		switch {
		case b.set && b.typ != p.Type:
			errs.Add(ErrForbidden, path+"."+b.name, fmt.Sprintf("must not be set when type is %q", p.Type))
		case !b.set && b.typ == p.Type:
			errs.Add(ErrRequired, path+"."+b.name, "is required when type is "+p.Type)
		}
	}
	if len(p.UserData) > MaxUserDataBytes {
		errs.Add(ErrTooLong, path+".userData", fmt.Sprintf("must be at most %d characters", MaxUserDataBytes), len(p.UserData))
	}
	for _, b := range []struct {
		name string
		ref  *SecretRef
	}{{"userDataRef", p.UserDataRef}, {"sysprepRef", p.SysprepRef}} {
		if b.ref != nil {
			checkEnum(errs, path+"."+b.name+".kind", b.ref.Kind, "Secret")
			checkRefName(errs, path+"."+b.name+".name", b.ref.Name)
		}
	}
}
