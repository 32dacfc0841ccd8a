package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validClass = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: c1
spec:
  cpu:
    type: Model
    model: Nehalem
  sizingPolicies:
  - cores: {min: 1, max: 4}
    memory: {min: 1Gi, max: 8Gi, step: 512Mi}
    coreFractions: [5, 10, 20, 50, 100]
    defaultCoreFraction: 10
    dedicatedCores: [false]
  - cores: {min: 5, max: 8, step: 1}
    coreFractions: [20, 50, 100]
`

func cores(min, max int) *SizingPolicyCores { return &SizingPolicyCores{Min: min, Max: max} }

func TestClassValidation(t *testing.T) {
	sel := func(op string, values ...string) *LabelSelector {
		return &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "k", Operator: op, Values: values}}}
	}
	frac := func(s string) CoreFraction { return fractionFromString(s) }
	cases := []ruleCase[*VirtualMachineClass]{
		{name: "valid"},
		{name: "mixed-case name (guide's cpuX)", mutate: func(c *VirtualMachineClass) { c.Metadata.Name = "cpuX" }},
		{name: "bad name", mutate: func(c *VirtualMachineClass) { c.Metadata.Name = "a_b" }, want: []string{"metadata.name"}},
		{name: "namespace forbidden", mutate: func(c *VirtualMachineClass) { c.Metadata.Namespace = "default" },
			want: []string{"metadata.namespace"}},
		{name: "default annotation true", mutate: func(c *VirtualMachineClass) {
			c.Metadata.Annotations = map[string]string{DefaultClassAnnotation: "true"}
		}},
		{name: "default annotation not true", mutate: func(c *VirtualMachineClass) {
			c.Metadata.Annotations = map[string]string{DefaultClassAnnotation: "yes"}
		}, want: []string{"metadata.annotations[" + DefaultClassAnnotation + "]"}},
		{name: "cpu type required", mutate: func(c *VirtualMachineClass) { c.Spec.CPU = ClassCPU{} }, want: []string{"spec.cpu.type"}},
		{name: "cpu type unknown", mutate: func(c *VirtualMachineClass) { c.Spec.CPU = ClassCPU{Type: "Fast"} }, want: []string{"spec.cpu.type"}},
		{name: "model required for Model", mutate: func(c *VirtualMachineClass) { c.Spec.CPU.Model = "" }, want: []string{"spec.cpu.model"}},
		{name: "model only for Model", mutate: func(c *VirtualMachineClass) { c.Spec.CPU.Type = CPUTypeHost }, want: []string{"spec.cpu.model"}},
		{name: "features required for Features", mutate: func(c *VirtualMachineClass) { c.Spec.CPU = ClassCPU{Type: CPUTypeFeatures} },
			want: []string{"spec.cpu.features"}},
		{name: "features ok", mutate: func(c *VirtualMachineClass) {
			c.Spec.CPU = ClassCPU{Type: CPUTypeFeatures, Features: []string{"vmx", "sse4_2"}}
		}},
		{name: "empty feature", mutate: func(c *VirtualMachineClass) {
			c.Spec.CPU = ClassCPU{Type: CPUTypeFeatures, Features: []string{"vmx", ""}}
		}, want: []string{"spec.cpu.features[1]"}},
		{name: "features only for Features", mutate: func(c *VirtualMachineClass) { c.Spec.CPU.Features = []string{"vmx"} },
			want: []string{"spec.cpu.features"}},
		{name: "discovery only for Discovery", mutate: func(c *VirtualMachineClass) { c.Spec.CPU.Discovery = &CPUDiscovery{} },
			want: []string{"spec.cpu.discovery"}},
		{name: "discovery ok", mutate: func(c *VirtualMachineClass) {
			c.Spec.CPU = ClassCPU{Type: CPUTypeDiscovery, Discovery: &CPUDiscovery{NodeSelector: sel(OpDoesNotExist)}}
		}},
		{name: "discovery selector checked", mutate: func(c *VirtualMachineClass) {
			c.Spec.CPU = ClassCPU{Type: CPUTypeDiscovery, Discovery: &CPUDiscovery{NodeSelector: sel(OpExists, "x")}}
		}, want: []string{"spec.cpu.discovery.nodeSelector.matchExpressions[0].values"}},
		{name: "nodeSelector Gt", mutate: func(c *VirtualMachineClass) { c.Spec.NodeSelector = sel(OpGt, "3") }},
		{name: "nodeSelector Gt not int", mutate: func(c *VirtualMachineClass) { c.Spec.NodeSelector = sel(OpLt, "x") },
			want: []string{"spec.nodeSelector.matchExpressions[0].values[0]"}},
		{name: "nodeSelector In empty", mutate: func(c *VirtualMachineClass) { c.Spec.NodeSelector = sel(OpIn) },
			want: []string{"spec.nodeSelector.matchExpressions[0].values"}},
		{name: "nodeSelector bad op", mutate: func(c *VirtualMachineClass) { c.Spec.NodeSelector = sel("Is", "x") },
			want: []string{"spec.nodeSelector.matchExpressions[0].operator"}},
		{name: "tolerations", mutate: func(c *VirtualMachineClass) {
			c.Spec.Tolerations = []Toleration{{Key: "k", Operator: "Exists", Value: "v", Effect: "Never"}}
		}, want: []string{"spec.tolerations[0].effect", "spec.tolerations[0].value"}},
		{name: "17 policies", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies = nil
			for i := range 17 {
				c.Spec.SizingPolicies = append(c.Spec.SizingPolicies, SizingPolicy{Cores: cores(i*10+1, i*10+9)})
			}
		}, want: []string{"spec.sizingPolicies"}},
		{name: "16 policies", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies = nil
			for i := range 16 {
				c.Spec.SizingPolicies = append(c.Spec.SizingPolicies, SizingPolicy{Cores: cores(i*10+1, i*10+9)})
			}
		}},
		{name: "every policy needs cores", mutate: func(c *VirtualMachineClass) { c.Spec.SizingPolicies[1].Cores = nil },
			want: []string{"spec.sizingPolicies[1].cores"}},
		{name: "cores bounds", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies = []SizingPolicy{{Cores: &SizingPolicyCores{Min: 0, Max: 2000, Step: -1}}}
		}, want: []string{"spec.sizingPolicies[0].cores.min", "spec.sizingPolicies[0].cores.max", "spec.sizingPolicies[0].cores.step"}},
		{name: "max must exceed min", mutate: func(c *VirtualMachineClass) { c.Spec.SizingPolicies[1].Cores = cores(5, 5) },
			want: []string{"spec.sizingPolicies[1].cores.max"}},
		{name: "max must exceed step", mutate: func(c *VirtualMachineClass) { c.Spec.SizingPolicies[1].Cores.Step = 8 },
			want: []string{"spec.sizingPolicies[1].cores.step"}},
		{name: "touching ranges overlap", mutate: func(c *VirtualMachineClass) { c.Spec.SizingPolicies[1].Cores.Min = 4 },
			want: []string{"spec.sizingPolicies[1].cores"}},
		{name: "nested range rejected", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies = []SizingPolicy{{Cores: cores(1, 10)}, {Cores: cores(3, 5)}}
		}, want: []string{"spec.sizingPolicies[1].cores"}},
		{name: "enclosing range rejected", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies = []SizingPolicy{{Cores: cores(3, 5)}, {Cores: cores(1, 10)}, {Cores: cores(11, 20)}}
		}, want: []string{"spec.sizingPolicies[1].cores"}},
		{name: "memory step and bounds", mutate: func(c *VirtualMachineClass) {
			m := c.Spec.SizingPolicies[0].Memory
			m.Step = ptr(MustParseQuantity("0"))
			m.Max = ptr(MustParseQuantity("512Mi"))
			m.PerCore = &MemoryPerCore{Min: ptr(MustParseQuantity("2Gi")), Max: ptr(MustParseQuantity("1Gi"))}
		}, want: []string{"spec.sizingPolicies[0].memory.step", "spec.sizingPolicies[0].memory.max",
			"spec.sizingPolicies[0].memory.perCore.max"}},
		{name: "coreFractions range", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[1].CoreFractions = []CoreFraction{FractionPercent(0), FractionPercent(101), frac("50"), frac("50%"), FractionAuto()}
		}, want: []string{"spec.sizingPolicies[1].coreFractions[0]", "spec.sizingPolicies[1].coreFractions[1]",
			"spec.sizingPolicies[1].coreFractions[2]", "spec.sizingPolicies[1].coreFractions[4]"}},
		{name: "default not in fractions", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[0].DefaultCoreFraction = ptr(FractionPercent(30))
		}, want: []string{"spec.sizingPolicies[0].defaultCoreFraction"}},
		{name: "default as string in fractions", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[0].DefaultCoreFraction = ptr(frac("20%"))
		}},
		{name: "default with empty list", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[0].CoreFractions = nil
			c.Spec.SizingPolicies[0].DefaultCoreFraction = ptr(FractionPercent(30))
		}},
		{name: "default out of range", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[0].DefaultCoreFraction = ptr(FractionPercent(0))
		}, want: []string{"spec.sizingPolicies[0].defaultCoreFraction"}},
		{name: "default bad string", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[0].DefaultCoreFraction = ptr(frac("auto"))
		}, want: []string{"spec.sizingPolicies[0].defaultCoreFraction"}},
		{name: "default Auto", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[0].DefaultCoreFraction = ptr(FractionAuto())
		}},
		{name: "Auto needs 2 fractions below 100", mutate: func(c *VirtualMachineClass) {
			c.Spec.SizingPolicies[0].CoreFractions = []CoreFraction{FractionPercent(50), FractionPercent(100)}
			c.Spec.SizingPolicies[0].DefaultCoreFraction = ptr(FractionAuto())
		}, want: []string{"spec.sizingPolicies[0].defaultCoreFraction"}},
	}
	runRules(t, validClass, cases)
}

func TestClassNestedRangesOverHTTPShape(t *testing.T) {
	// The e2e bad-input body: every violation at once, each with its path.
	c := decodeOne[*VirtualMachineClass](t, `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"x"},
	  "spec":{"cpu":{"type":"Model"},"sizingPolicies":[{"cores":{"min":1,"max":10}},{"cores":{"min":3,"max":5}}]}}`)
	assert.Equal(t, []string{"spec.cpu.model", "spec.sizingPolicies[1].cores"}, fields(c.Validate()))
}

func TestClassCPUImmutable(t *testing.T) {
	old := decodeOne[*VirtualMachineClass](t, validClass)
	c := decodeOne[*VirtualMachineClass](t, validClass)
	c.Spec.NodeSelector = &LabelSelector{MatchLabels: map[string]string{"group": "blue"}}
	c.Spec.SizingPolicies = c.Spec.SizingPolicies[:1]
	assert.Empty(t, c.ValidateUpdate(old), "nodeSelector and sizingPolicies may change")

	c.Spec.CPU.Model = "Westmere"
	errs := c.ValidateUpdate(old)
	require.Equal(t, []string{"spec.cpu"}, fields(errs))
	assert.Equal(t, ErrImmutable, errs[0].Type)

	// Semantic, not textual: discovery {} equals no discovery block.
	a := decodeOne[*VirtualMachineClass](t, "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineClass\nmetadata: {name: d}\nspec: {cpu: {type: Discovery, discovery: {}}}\n")
	b := decodeOne[*VirtualMachineClass](t, "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineClass\nmetadata: {name: d}\nspec: {cpu: {discovery: {nodeSelector: {}}, type: Discovery}}\n")
	assert.Empty(t, b.ValidateUpdate(a))
	assert.Equal(t, []string{"kind"}, fields(c.ValidateUpdate(&VirtualMachine{})))
}

func TestPredefinedClasses(t *testing.T) {
	cs := PredefinedClasses()
	require.Len(t, cs, 3)
	names := []string{}
	for _, c := range cs {
		names = append(names, c.Metadata.Name)
		assert.Empty(t, c.Validate(), c.Metadata.Name)
		assert.Empty(t, c.Metadata.Annotations, "no predefined class is the default")
		assert.Equal(t, GroupVersion, c.APIVersion)
	}
	assert.Equal(t, []string{"host", "host-passthrough", "generic"}, names)
	assert.Equal(t, CPUTypeHost, cs[0].Spec.CPU.Type)
	assert.Equal(t, CPUTypeHostPassthrough, cs[1].Spec.CPU.Type)
	g := cs[2]
	assert.Equal(t, ClassCPU{Type: CPUTypeModel, Model: "Nehalem"}, g.Spec.CPU)
	o, err := ToObject(g)
	require.NoError(t, err)
	assert.JSONEq(t, `{"cpu":{"type":"Model","model":"Nehalem"},"sizingPolicies":[
	  {"cores":{"min":1,"max":4},"coreFractions":[5,10,20,50,100],"dedicatedCores":[false]},
	  {"cores":{"min":5,"max":8},"coreFractions":[20,50,100],"dedicatedCores":[false]},
	  {"cores":{"min":9,"max":16},"coreFractions":[50,100],"dedicatedCores":[true,false]},
	  {"cores":{"min":17,"max":1024},"coreFractions":[100],"dedicatedCores":[true,false]}]}`, string(o.Spec))
	cs[2].Spec.SizingPolicies[0].Cores.Min = 99
	assert.Equal(t, 1, PredefinedClasses()[2].Spec.SizingPolicies[0].Cores.Min, "fresh copies")
}
