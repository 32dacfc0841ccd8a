package api

// PredefinedClasses returns the classes a new cluster starts with (DESIGN
// §6): host, host-passthrough, and generic (model Nehalem with the four
// sizing policies of reference §5). None is the default class. The result
// is freshly built and owned by the caller.
func PredefinedClasses() []*VirtualMachineClass {
	return []*VirtualMachineClass{
		predefinedClass("host", ClassCPU{Type: CPUTypeHost}, nil),
		predefinedClass("host-passthrough", ClassCPU{Type: CPUTypeHostPassthrough}, nil),
		predefinedClass("generic", ClassCPU{Type: CPUTypeModel, Model: "Nehalem"}, []SizingPolicy{
			genericPolicy(1, 4, []int{5, 10, 20, 50, 100}, false),
			genericPolicy(5, 8, []int{20, 50, 100}, false),
			genericPolicy(9, 16, []int{50, 100}, true, false),
			genericPolicy(17, 1024, []int{100}, true, false),
		}),
	}
}

func predefinedClass(name string, cpu ClassCPU, policies []SizingPolicy) *VirtualMachineClass {
	return &VirtualMachineClass{
		TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: "VirtualMachineClass"},
		Metadata: ObjectMeta{Name: name},
		Spec:     VirtualMachineClassSpec{CPU: cpu, SizingPolicies: policies},
	}
}

func genericPolicy(minCores, maxCores int, fractions []int, dedicated ...bool) SizingPolicy {
	p := SizingPolicy{Cores: &SizingPolicyCores{Min: minCores, Max: maxCores}, DedicatedCores: dedicated}
	for _, f := range fractions {
		p.CoreFractions = append(p.CoreFractions, FractionPercent(f))
	}
	return p
}
