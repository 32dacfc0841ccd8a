package api

import (
	"fmt"
	"strings"
)

// Limits of a class's sizing policies.
const (
	MaxSizingPolicies = 16
	MaxPolicyCores    = 1024
)

// Default implements Defaulter: a class has no defaults, so its spec is
// served back exactly as written.
func (r *VirtualMachineClass) Default() {}

// Validate implements Validator (reference §5). Unlike Kubernetes, a class
// name may hold upper case letters: the admin guide names classes cpuX
// and cpuY.
func (r *VirtualMachineClass) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{mixedCase: true})
	if v, ok := r.Metadata.Annotations[DefaultClassAnnotation]; ok && v != "true" {
		errs.Add(ErrInvalid, "metadata.annotations["+DefaultClassAnnotation+"]",
			`must be "true" (remove the annotation for a class that is not the default)`, v)
	}
	validateClassCPU(&errs, "spec.cpu", &r.Spec.CPU)
	validateLabelSelector(&errs, "spec.nodeSelector", r.Spec.NodeSelector)
	validateTolerations(&errs, "spec.tolerations", r.Spec.Tolerations)
	validateSizingPolicies(&errs, "spec.sizingPolicies", r.Spec.SizingPolicies)
	return errs
}

// ValidateUpdate implements Validator: spec.cpu never changes.
func (r *VirtualMachineClass) ValidateUpdate(old Resource) FieldErrors {
	o, ok := old.(*VirtualMachineClass)
	if !ok {
		return wrongKind("VirtualMachineClass", old)
	}
	var errs FieldErrors
	if !semanticEqual(r.Spec.CPU, o.Spec.CPU) {
		errs.Add(ErrImmutable, "spec.cpu", "spec.cpu is immutable; create a new class instead")
	}
	return errs
}

func validateClassCPU(errs *FieldErrors, path string, c *ClassCPU) {
	requireEnum(errs, path+".type", string(c.Type), string(CPUTypeHost), string(CPUTypeHostPassthrough),
		string(CPUTypeDiscovery), string(CPUTypeModel), string(CPUTypeFeatures))
	switch {
	case c.Type == CPUTypeModel && c.Model == "":
		errs.Add(ErrRequired, path+".model", "a CPU model (e.g. Nehalem) is required for type Model")
	case c.Type != CPUTypeModel && c.Model != "":
		errs.Add(ErrForbidden, path+".model", "allowed only for type Model")
	}
	switch {
	case c.Type == CPUTypeFeatures && len(c.Features) == 0:
		errs.Add(ErrRequired, path+".features", "at least one feature is required for type Features")
	case c.Type != CPUTypeFeatures && c.Features != nil:
		errs.Add(ErrForbidden, path+".features", "allowed only for type Features")
	}
	for i, f := range c.Features {
		if f == "" {
			errs.Add(ErrRequired, fmt.Sprintf("%s.features[%d]", path, i), "must not be empty")
		}
	}
	if c.Discovery != nil {
		if c.Type != CPUTypeDiscovery {
			errs.Add(ErrForbidden, path+".discovery", "allowed only for type Discovery")
		}
		validateLabelSelector(errs, path+".discovery.nodeSelector", c.Discovery.NodeSelector)
	}
}

func validateSizingPolicies(errs *FieldErrors, path string, ps []SizingPolicy) {
	if len(ps) > MaxSizingPolicies {
		errs.Add(ErrTooMany, path, fmt.Sprintf("at most %d sizing policies", MaxSizingPolicies), len(ps))
	}
	for i := range ps {
		validateSizingPolicy(errs, fmt.Sprintf("%s[%d]", path, i), &ps[i])
	}
	validateCoreOverlaps(errs, path, ps)
}

func validateSizingPolicy(errs *FieldErrors, path string, p *SizingPolicy) {
	if p.Cores == nil {
		errs.Add(ErrRequired, path+".cores", "every sizing policy needs a core range")
	} else {
		validatePolicyCores(errs, path+".cores", p.Cores)
	}
	if p.Memory != nil {
		validatePolicyMemory(errs, path+".memory", p.Memory)
	}
	for i, f := range p.CoreFractions {
		if !f.validPercent() {
			errs.Add(ErrInvalid, fmt.Sprintf("%s.coreFractions[%d]", path, i),
				`must be a percent from 1 to 100 (50 or "50%")`, f.display())
		}
	}
	validateDefaultFraction(errs, path, p)
}

func validatePolicyCores(errs *FieldErrors, path string, c *SizingPolicyCores) {
	if c.Min < 1 {
		errs.Add(ErrInvalid, path+".min", "must be at least 1", c.Min)
	}
	if c.Max > MaxPolicyCores {
		errs.Add(ErrInvalid, path+".max", fmt.Sprintf("must be at most %d", MaxPolicyCores), c.Max)
	}
	if c.Max <= c.Min {
		errs.Add(ErrInvalid, path+".max", fmt.Sprintf("must be greater than min (%d)", c.Min), c.Max)
	}
	switch {
	case c.Step < 0:
		errs.Add(ErrInvalid, path+".step", "must be at least 1", c.Step)
	case c.Step > 0 && c.Max <= c.Step:
		errs.Add(ErrInvalid, path+".step", fmt.Sprintf("must be less than max (%d)", c.Max), c.Step)
	}
}

func validatePolicyMemory(errs *FieldErrors, path string, m *SizingPolicyMemory) {
	if m.Step != nil && m.Step.Bytes() <= 0 {
		errs.Add(ErrInvalid, path+".step", "must be greater than 0", m.Step.String())
	}
	if m.Min != nil && m.Max != nil && m.Max.Cmp(*m.Min) < 0 {
		errs.Add(ErrInvalid, path+".max", "must not be less than min ("+m.Min.String()+")", m.Max.String())
	}
	if pc := m.PerCore; pc != nil && pc.Min != nil && pc.Max != nil && pc.Max.Cmp(*pc.Min) < 0 {
		errs.Add(ErrInvalid, path+".perCore.max", "must not be less than min ("+pc.Min.String()+")", pc.Max.String())
	}
}

func validateDefaultFraction(errs *FieldErrors, path string, p *SizingPolicy) {
	d := p.DefaultCoreFraction
	if d == nil {
		return
	}
	dpath := path + ".defaultCoreFraction"
	switch {
	case d.Auto:
		if n := countBelow100(p.CoreFractions); len(p.CoreFractions) > 0 && n < 2 {
			errs.Add(ErrInvalid, dpath, "Auto needs at least 2 coreFractions below 100%", "Auto")
		}
	case !d.validPercent():
		errs.Add(ErrInvalid, dpath, `must be a percent from 1 to 100 (50 or "50%") or "Auto"`, d.display())
	case len(p.CoreFractions) > 0 && !fractionListed(p.CoreFractions, d.Percent):
		errs.Add(ErrInvalid, dpath, "must be one of coreFractions ("+fractionList(p.CoreFractions)+")", d.display())
	}
}

// validateCoreOverlaps rejects core ranges that share a core, nested
// ranges included (the reference's check misses [1,10] then [3,5]).
func validateCoreOverlaps(errs *FieldErrors, path string, ps []SizingPolicy) {
	for j := range ps {
		b := ps[j].Cores
		if b == nil {
			continue
		}
		for i := 0; i < j; i++ {
			a := ps[i].Cores
			if a != nil && a.Min <= b.Max && b.Min <= a.Max {
				errs.Add(ErrInvalid, fmt.Sprintf("%s[%d].cores", path, j),
					fmt.Sprintf("core range [%d, %d] overlaps the range [%d, %d] of sizing policy %d (bounds are inclusive)",
						b.Min, b.Max, a.Min, a.Max, i))
				break
			}
		}
	}
}

func countBelow100(fs []CoreFraction) int {
	n := 0
	for _, f := range fs {
		if f.Percent > 0 && f.Percent < 100 {
			n++
		}
	}
	return n
}

func fractionListed(fs []CoreFraction, percent int) bool {
	for _, f := range fs {
		if !f.Auto && f.Percent == percent {
			return true
		}
	}
	return false
}

func fractionList(fs []CoreFraction) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, ", ")
}
