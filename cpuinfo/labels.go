package cpuinfo

import "strings"

// Node label prefixes, KubeVirt's node-labeller labels renamed as the
// reference (api.md §5) says. Every label has the value "true".
const (
	// ModelLabelPrefix + model: QEMU can run that named model here.
	ModelLabelPrefix = "cpu-model.node.virtualization.deckhouse.io/"
	// FeatureLabelPrefix + feature: a guest here can be given that feature.
	FeatureLabelPrefix = "cpu-feature.node.virtualization.deckhouse.io/"
	// HostModelLabelPrefix + model: the named model closest to this host.
	HostModelLabelPrefix = "host-model-cpu.node.virtualization.deckhouse.io/"
	// VendorLabelPrefix + vendor: Intel, AMD, ... (see VendorName).
	VendorLabelPrefix = "cpu-vendor.node.virtualization.deckhouse.io/"
	// ModelMigrationLabelPrefix + model: a VM of that model can migrate to
	// this node.
	ModelMigrationLabelPrefix = "cpu-model-migration.node.virtualization.deckhouse.io/"
)

// labelPrefixes are the prefixes this package owns on a node.
var labelPrefixes = [...]string{
	ModelLabelPrefix, FeatureLabelPrefix, HostModelLabelPrefix, VendorLabelPrefix, ModelMigrationLabelPrefix,
}

// CPUID vendor strings.
const (
	VendorIntel = "GenuineIntel"
	VendorAMD   = "AuthenticAMD"
	VendorHygon = "HygonGenuine"
)

// VendorName is the short vendor name libvirt reports and KubeVirt puts in
// its cpu-vendor label (Intel, AMD, Hygon); other vendor strings are kept
// as they are.
func VendorName(vendor string) string {
	switch vendor {
	case VendorIntel:
		return "Intel"
	case VendorAMD:
		return "AMD"
	case VendorHygon:
		return "Hygon"
	}
	return vendor
}

// Labels are the node labels a node's facts publish:
//
//   - cpu-model/<M> for every usable named model (not the pseudo models
//     host, max and base);
//   - cpu-feature/<F> for every feature in HostModelFeatures: what a guest
//     here can be given, which under TCG is what QEMU emulates rather than
//     what the host CPU has (this machine's avx512f is no guest feature
//     under TCG), and under KVM the host's features KVM passes through;
//   - host-model-cpu/<HostModel>, when there is one;
//   - cpu-vendor/<VendorName(Vendor)>;
//   - cpu-model-migration/<M> for the same models as cpu-model: QEMU marks
//     every named model migration-safe (only host and max are not), so a
//     VM of any usable named model can migrate to this node.
func Labels(f Facts) map[string]string {
	out := map[string]string{}
	for _, m := range f.UsableModels {
		if isNamedModel(m) {
			out[ModelLabelPrefix+m] = "true"
			out[ModelMigrationLabelPrefix+m] = "true"
		}
	}
	for _, feat := range f.HostModelFeatures {
		out[FeatureLabelPrefix+feat] = "true"
	}
	if f.HostModel != "" {
		out[HostModelLabelPrefix+f.HostModel] = "true"
	}
	if f.Vendor != "" {
		out[VendorLabelPrefix+VendorName(f.Vendor)] = "true"
	}
	return out
}

// IsCPULabel reports whether key has one of the prefixes this package
// owns.
func IsCPULabel(key string) bool {
	for _, p := range labelPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// MergeLabels returns a new map: existing without any CPU label
// (IsCPULabel), plus cpu. The admin's other labels are kept as they are;
// CPU labels of old facts that no longer hold disappear.
func MergeLabels(existing, cpu map[string]string) map[string]string {
	out := make(map[string]string, len(existing)+len(cpu))
	for k, v := range existing {
		if !IsCPULabel(k) {
			out[k] = v
		}
	}
	for k, v := range cpu {
		out[k] = v
	}
	return out
}
