package api

import "fmt"

// MatchSizingPolicy returns the first policy of the class whose inclusive
// core range contains cores, and its index; nil and -1 when none does.
func MatchSizingPolicy(class *VirtualMachineClass, cores int) (*SizingPolicy, int) {
	for i := range class.Spec.SizingPolicies {
		p := &class.Spec.SizingPolicies[i]
		if p.Cores != nil && cores >= p.Cores.Min && cores <= p.Cores.Max {
			return p, i
		}
	}
	return nil, -1
}

// DefaultVMAgainstClass fills in the VM's coreFraction from its class
// (reference §6 "coreFraction defaulting"): the matching policy's
// defaultCoreFraction; an error when that policy has no default but lists
// fractions without 100%; otherwise, or when the class has no policies,
// 100%. A VM whose cores match no policy is rejected. A coreFraction that
// is already set is kept (ValidateVMSizing checks it).
func DefaultVMAgainstClass(vm *VirtualMachine, class *VirtualMachineClass) FieldErrors {
	var errs FieldErrors
	cpu := &vm.Spec.CPU
	if len(class.Spec.SizingPolicies) == 0 {
		setDefault(&cpu.CoreFraction, "100%")
		return nil
	}
	p, _ := MatchSizingPolicy(class, cpu.Cores)
	switch {
	case p == nil:
		errs.Add(ErrInvalid, "spec.cpu.cores", noPolicyMessage(class, cpu.Cores), cpu.Cores)
	case cpu.CoreFraction != "":
	case p.DefaultCoreFraction != nil:
		cpu.CoreFraction = p.DefaultCoreFraction.String()
	case len(p.CoreFractions) > 0 && !fractionListed(p.CoreFractions, 100):
		errs.Add(ErrRequired, "spec.cpu.coreFraction", fmt.Sprintf(
			"class %s sets no defaultCoreFraction for %d cores and does not allow 100%%: choose one of %s",
			class.Metadata.Name, cpu.Cores, fractionList(p.CoreFractions)))
	default:
		cpu.CoreFraction = "100%"
	}
	return errs
}

func noPolicyMessage(class *VirtualMachineClass, cores int) string {
	ranges := ""
	for i, p := range class.Spec.SizingPolicies {
		if p.Cores == nil {
			continue
		}
		if i > 0 {
			ranges += ", "
		}
		ranges += fmt.Sprintf("%d-%d", p.Cores.Min, p.Cores.Max)
	}
	return fmt.Sprintf("%d cores does not match any sizing policy of class %s (core ranges: %s)",
		cores, class.Metadata.Name, ranges)
}

// ValidateVMSizing checks the VM against its class's sizing policies
// (reference §6 "Sizing policy", steps 1-6) and davit's dedicatedCores.
// It reports every failure; a class without policies accepts any VM.
func ValidateVMSizing(vm *VirtualMachine, class *VirtualMachineClass) FieldErrors {
	var errs FieldErrors
	if len(class.Spec.SizingPolicies) == 0 {
		return nil
	}
	cpu := vm.Spec.CPU
	p, _ := MatchSizingPolicy(class, cpu.Cores)
	if p == nil {
		errs.Add(ErrInvalid, "spec.cpu.cores", noPolicyMessage(class, cpu.Cores), cpu.Cores)
		return errs
	}
	checkPolicyFraction(&errs, p, cpu.CoreFraction)
	checkPolicyCoreStep(&errs, p.Cores, cpu.Cores)
	if p.Memory != nil && !vm.Spec.Memory.Size.IsZero() {
		checkPolicyMemory(&errs, p.Memory, vm.Spec.Memory.Size.Bytes(), cpu.Cores)
	}
	if len(p.DedicatedCores) > 0 && !contains(p.DedicatedCores, cpu.DedicatedCores) {
		if cpu.DedicatedCores {
			errs.Add(ErrForbidden, "spec.cpu.dedicatedCores", fmt.Sprintf(
				"class %s does not allow dedicated cores for %d cores", class.Metadata.Name, cpu.Cores), true)
		} else {
			errs.Add(ErrRequired, "spec.cpu.dedicatedCores", fmt.Sprintf(
				"class %s allows only dedicated cores for %d cores: set dedicatedCores: true", class.Metadata.Name, cpu.Cores))
		}
	}
	return errs
}

// checkPolicyFraction is step 2: the fraction must be listed (skipped for
// Auto or an empty list).
func checkPolicyFraction(errs *FieldErrors, p *SizingPolicy, fraction string) {
	f, ok := ParseFraction(fraction)
	if !ok || f.Auto || len(p.CoreFractions) == 0 {
		return
	}
	if !fractionListed(p.CoreFractions, f.Percent) {
		errs.Add(ErrNotSupported, "spec.cpu.coreFraction",
			fmt.Sprintf("must be one of %s for %d-%d cores", fractionList(p.CoreFractions), p.Cores.Min, p.Cores.Max), fraction)
	}
}

// checkPolicyCoreStep is step 3: min, min+step, ..., and max.
func checkPolicyCoreStep(errs *FieldErrors, c *SizingPolicyCores, cores int) {
	if c.Step <= 0 || cores == c.Max || (cores-c.Min)%c.Step == 0 {
		return
	}
	errs.Add(ErrInvalid, "spec.cpu.cores", fmt.Sprintf(
		"must be %d plus a multiple of %d, or %d", c.Min, c.Step, c.Max), cores)
}

// checkPolicyMemory is steps 4 and 5: total bounds and grid, then the
// per-core bounds and grid. Messages print totals.
func checkPolicyMemory(errs *FieldErrors, m *SizingPolicyMemory, size int64, cores int) {
	const path = "spec.memory.size"
	total := NewQuantity(size)
	if m.Min != nil && size < m.Min.Bytes() {
		errs.Add(ErrInvalid, path, "must be at least "+m.Min.String(), total)
	}
	if m.Max != nil && size > m.Max.Bytes() {
		errs.Add(ErrInvalid, path, "must be at most "+m.Max.String(), total)
	}
	step := int64(0)
	if m.Step != nil {
		step = m.Step.Bytes()
	}
	if m.Max != nil && step > 0 && !onGrid(size, bytesOf(m.Min), step, m.Max.Bytes()) {
		errs.Add(ErrInvalid, path, fmt.Sprintf("must be %s plus a multiple of %s, or %s",
			NewQuantity(bytesOf(m.Min)), m.Step, m.Max), total)
	}
	if pc := m.PerCore; pc != nil && cores > 0 {
		checkPerCore(errs, pc, size, cores, step)
	}
}

func checkPerCore(errs *FieldErrors, pc *MemoryPerCore, size int64, cores int, step int64) {
	const path = "spec.memory.size"
	per, n, total := size/int64(cores), int64(cores), NewQuantity(size)
	if pc.Min != nil && per < pc.Min.Bytes() {
		errs.Add(ErrInvalid, path, fmt.Sprintf("must be at least %s for %d cores (%s per core)",
			NewQuantity(pc.Min.Bytes()*n), cores, pc.Min), total)
	}
	if pc.Max != nil && per > pc.Max.Bytes() {
		errs.Add(ErrInvalid, path, fmt.Sprintf("must be at most %s for %d cores (%s per core)",
			NewQuantity(pc.Max.Bytes()*n), cores, pc.Max), total)
	}
	if pc.Max != nil && step > 0 && !onGrid(per, bytesOf(pc.Min), step, pc.Max.Bytes()) {
		errs.Add(ErrInvalid, path, fmt.Sprintf("with %d cores, must be %s plus a multiple of %s, or %s (per core: %s plus a multiple of %s, or %s)",
			cores, NewQuantity(bytesOf(pc.Min)*n), NewQuantity(step*n), NewQuantity(pc.Max.Bytes()*n),
			NewQuantity(bytesOf(pc.Min)), NewQuantity(step), pc.Max), total)
	}
}

// onGrid reports whether v is base + k*step (k ≥ 0) or max. A value
// outside [base, max] is reported by the bounds checks, not here.
func onGrid(v, base, step, max int64) bool {
	return v < base || v >= max || (v-base)%step == 0
}

func bytesOf(q *Quantity) int64 {
	if q == nil {
		return 0
	}
	return q.Bytes()
}
