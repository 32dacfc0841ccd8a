package cpuinfo

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// VirtualMachineClass spec.cpu.type values (api.CPUType as strings).
const (
	ClassHost            = "Host"
	ClassHostPassthrough = "HostPassthrough"
	ClassModel           = "Model"
	ClassFeatures        = "Features"
	ClassDiscovery       = "Discovery"
)

// CPUArg resolves a class's CPU to QEMU's -cpu argument on the node
// described by f. model is the class's spec.cpu.model (Model only);
// features are spec.cpu.features for Features and
// status.cpuFeatures.enabled for Discovery.
//
//   - Host and HostPassthrough: "host" under KVM. Under TCG there is no
//     host CPU to pass through and QEMU refuses "host", so both give "max",
//     every feature TCG emulates. (Host therefore passes the host CPU
//     through under KVM too, with QEMU's migratable=on default; libvirt's
//     host-model, a named model plus features, is not built.)
//   - Model: the model itself; ErrModelNotUsable when QEMU cannot run it
//     here.
//   - Features and Discovery: a baseline named model plus exactly the
//     enabled features, "Nehalem,+aes,+rdrand": the baseline is the usable
//     named model with the most features, all of them enabled, preferring
//     the node's vendor (a guest told AuthenticAMD on an Intel host is asked
//     to behave like another vendor's CPU), then an unversioned name, then
//     the first name. Every enabled feature the baseline lacks is added
//     with "+", sorted. When no usable model is a subset (a Features class
//     listing a few instructions), the baseline is the model adding the
//     fewest features beyond the enabled ones, kvm64 or qemu64 in
//     practice, as Deckhouse bases such classes on kvm64; the guest then
//     also has that model's basic features. ErrFeatureNotAvailable when the
//     node cannot give a guest an enabled feature, ErrNoFeatures when none
//     is enabled.
//
// The baseline depends only on the enabled features and QEMU's model
// definitions, so nodes with the same QEMU resolve a class alike; davit
// resolves once and keeps the argument in the VM's boot spec.
func CPUArg(classType, model string, features []string, f Facts) (string, error) {
	switch classType {
	case ClassHost, ClassHostPassthrough:
		switch f.Accelerator {
		case AccelKVM:
			return "host", nil
		case AccelTCG:
			return "max", nil
		}
		return "", fmt.Errorf("resolve %s cpu: accelerator %q: %w", classType, f.Accelerator, ErrInvalidFacts)
	case ClassModel:
		if !f.Usable(model) {
			return "", fmt.Errorf("resolve Model cpu %q under %s: %w", model, f.Accelerator, ErrModelNotUsable)
		}
		return model, nil
	case ClassFeatures, ClassDiscovery:
		return featuresArg(classType, features, f)
	}
	return "", fmt.Errorf("resolve cpu: class type %q: %w", classType, ErrUnknownClassType)
}

func featuresArg(classType string, features []string, f Facts) (string, error) {
	if len(features) == 0 {
		return "", fmt.Errorf("resolve %s cpu: %w", classType, ErrNoFeatures)
	}
	enabled := setOf(features...)
	guest := setOf(f.HostModelFeatures...)
	var missing []string
	for _, feat := range sortedKeys(enabled) {
		if !guest[feat] {
			missing = append(missing, feat)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("resolve %s cpu: %s under %s: %w",
			classType, strings.Join(missing, ", "), f.Accelerator, ErrFeatureNotAvailable)
	}
	base := chooseBaseline(enabled, f)
	if base == "" {
		return "", fmt.Errorf("resolve %s cpu: no usable named model to base it on: %w", classType, ErrModelNotUsable)
	}
	have := setOf(f.Models[base].Features...)
	arg := base
	for _, feat := range sortedKeys(enabled) {
		if !have[feat] {
			arg += ",+" + feat
		}
	}
	return arg, nil
}

// versioned matches QEMU's versioned model names: Nehalem-v1, EPYC-v4.
var versioned = regexp.MustCompile(`-v[0-9]+$`)

// chooseBaseline picks the model CPUArg documents, "" when f has no usable
// named model. Ranking, first difference wins: all features enabled;
// the node's vendor; then for subsets the most features, otherwise the
// fewest features beyond the enabled ones; an unversioned name; the name.
func chooseBaseline(enabled map[string]bool, f Facts) string {
	type candidate struct {
		name          string
		subset, ours  bool
		size, extra   int
		versionedName bool
	}
	var cs []candidate
	for _, name := range f.UsableModels {
		m, ok := f.Models[name]
		if !isNamedModel(name) || !ok {
			continue
		}
		c := candidate{name: name, ours: m.Vendor == f.Vendor, size: len(m.Features),
			versionedName: versioned.MatchString(name)}
		for _, feat := range m.Features {
			if !enabled[feat] {
				c.extra++
			}
		}
		c.subset = c.extra == 0
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return ""
	}
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		switch {
		case a.subset != b.subset:
			return a.subset
		case a.ours != b.ours:
			return a.ours
		case a.subset && a.size != b.size:
			return a.size > b.size
		case !a.subset && a.extra != b.extra:
			return a.extra < b.extra
		case !a.subset && a.size != b.size:
			return a.size > b.size
		case a.versionedName != b.versionedName:
			return !a.versionedName
		}
		return a.name < b.name
	})
	return cs[0].name
}
