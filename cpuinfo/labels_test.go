package cpuinfo

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// smallFacts is a node with two named models and the pseudo models.
func smallFacts() Facts {
	return Facts{
		Schema: FactsSchema, Vendor: VendorIntel, Accelerator: AccelKVM,
		Features:          []string{"avx512f", "fpu", "sse4.2"},
		UsableModels:      []string{"Nehalem", "base", "host", "kvm64", "max"},
		HostModel:         "Nehalem",
		HostModelFeatures: []string{"fpu", "hypervisor", "sse4.2"},
		Models: map[string]CPUModel{
			"Nehalem": {Vendor: VendorIntel, Features: []string{"fpu", "sse4.2"}},
			"kvm64":   {Vendor: VendorIntel, Features: []string{"fpu"}},
		},
	}
}

func TestLabelPrefixes(t *testing.T) {
	// The strings agent/classstatus reads (ModelLabel, FeatureLabel) and
	// the reference's other three.
	assert.Equal(t, "cpu-model.node.virtualization.deckhouse.io/", ModelLabelPrefix)
	assert.Equal(t, "cpu-feature.node.virtualization.deckhouse.io/", FeatureLabelPrefix)
	assert.Equal(t, "host-model-cpu.node.virtualization.deckhouse.io/", HostModelLabelPrefix)
	assert.Equal(t, "cpu-vendor.node.virtualization.deckhouse.io/", VendorLabelPrefix)
	assert.Equal(t, "cpu-model-migration.node.virtualization.deckhouse.io/", ModelMigrationLabelPrefix)
}

func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		facts  func() Facts
		want   map[string]string
		absent []string
	}{
		{
			name:  "named models, guest features, host model, vendor",
			facts: smallFacts,
			want: map[string]string{
				"cpu-model.node.virtualization.deckhouse.io/Nehalem":           "true",
				"cpu-model.node.virtualization.deckhouse.io/kvm64":             "true",
				"cpu-model-migration.node.virtualization.deckhouse.io/Nehalem": "true",
				"cpu-model-migration.node.virtualization.deckhouse.io/kvm64":   "true",
				"cpu-feature.node.virtualization.deckhouse.io/fpu":             "true",
				"cpu-feature.node.virtualization.deckhouse.io/hypervisor":      "true",
				"cpu-feature.node.virtualization.deckhouse.io/sse4.2":          "true",
				"host-model-cpu.node.virtualization.deckhouse.io/Nehalem":      "true",
				"cpu-vendor.node.virtualization.deckhouse.io/Intel":            "true",
			},
		},
		{
			name: "AMD, no host model",
			facts: func() Facts {
				f := smallFacts()
				f.Vendor, f.HostModel, f.UsableModels, f.HostModelFeatures = VendorAMD, "", []string{"max"}, []string{"fpu"}
				return f
			},
			want: map[string]string{
				"cpu-feature.node.virtualization.deckhouse.io/fpu": "true",
				"cpu-vendor.node.virtualization.deckhouse.io/AMD":  "true",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Labels(tc.facts())
			assert.Equal(t, tc.want, got)
			// Host features a guest cannot have are no labels.
			assert.NotContains(t, got, FeatureLabelPrefix+"avx512f")
			assert.NotContains(t, got, ModelLabelPrefix+"max")
		})
	}
}

func TestMergeLabels(t *testing.T) {
	for _, tc := range []struct {
		name          string
		existing, cpu map[string]string
		want          map[string]string
	}{
		{
			name:     "first publish keeps the admin's labels",
			existing: map[string]string{"rack": "a1", "zone": "x"},
			cpu:      map[string]string{ModelLabelPrefix + "Nehalem": "true"},
			want:     map[string]string{"rack": "a1", "zone": "x", ModelLabelPrefix + "Nehalem": "true"},
		},
		{
			name: "stale CPU labels of every prefix go",
			existing: map[string]string{
				"rack": "a1", ModelLabelPrefix + "Westmere": "true", FeatureLabelPrefix + "aes": "true",
				HostModelLabelPrefix + "Westmere": "true", VendorLabelPrefix + "AMD": "true",
				ModelMigrationLabelPrefix + "Westmere": "true",
			},
			cpu:  map[string]string{ModelLabelPrefix + "Nehalem": "true", VendorLabelPrefix + "Intel": "true"},
			want: map[string]string{"rack": "a1", ModelLabelPrefix + "Nehalem": "true", VendorLabelPrefix + "Intel": "true"},
		},
		{
			name:     "labels that merely look alike stay",
			existing: map[string]string{"cpu-model.example.com/x": "true", "node.virtualization.deckhouse.io/role": "w"},
			cpu:      nil,
			want:     map[string]string{"cpu-model.example.com/x": "true", "node.virtualization.deckhouse.io/role": "w"},
		},
		{
			name:     "nil existing",
			existing: nil,
			cpu:      map[string]string{FeatureLabelPrefix + "fpu": "true"},
			want:     map[string]string{FeatureLabelPrefix + "fpu": "true"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.existing)
			assert.Equal(t, tc.want, MergeLabels(tc.existing, tc.cpu))
			assert.Len(t, tc.existing, before, "existing is not modified")
		})
	}
}

func TestVendorName(t *testing.T) {
	assert.Equal(t, "Intel", VendorName(VendorIntel))
	assert.Equal(t, "AMD", VendorName(VendorAMD))
	assert.Equal(t, "Hygon", VendorName(VendorHygon))
	assert.Equal(t, "CentaurHauls", VendorName("CentaurHauls"))
}
