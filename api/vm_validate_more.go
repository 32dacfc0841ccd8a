package api

import "fmt"

// validateVMPlacement checks nodeSelector, tolerations, affinity and
// topology spread constraints (Pod semantics).
func validateVMPlacement(errs *FieldErrors, s *VirtualMachineSpec) {
	validateLabels(errs, "spec.nodeSelector", s.NodeSelector)
	validateTolerations(errs, "spec.tolerations", s.Tolerations)
	for i, c := range s.TopologySpreadConstraints {
		p := fmt.Sprintf("spec.topologySpreadConstraints[%d]", i)
		if c.MaxSkew < 1 {
			errs.Add(ErrInvalid, p+".maxSkew", "must be at least 1", c.MaxSkew)
		}
		if c.TopologyKey == "" {
			errs.Add(ErrRequired, p+".topologyKey", "a node label key is required")
		}
		requireEnum(errs, p+".whenUnsatisfiable", c.WhenUnsatisfiable, "DoNotSchedule", "ScheduleAnyway")
		validateLabelSelector(errs, p+".labelSelector", c.LabelSelector)
	}
	if a := s.Affinity; a != nil {
		validateNodeAffinity(errs, "spec.affinity.nodeAffinity", a.NodeAffinity)
		validateVMAndPodAffinity(errs, "spec.affinity.virtualMachineAndPodAffinity", a.VirtualMachineAndPodAffinity)
		validateVMAndPodAffinity(errs, "spec.affinity.virtualMachineAndPodAntiAffinity", a.VirtualMachineAndPodAntiAffinity)
	}
}

func validateNodeAffinity(errs *FieldErrors, path string, na *NodeAffinity) {
	if na == nil {
		return
	}
	if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
		p := path + ".requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
		if len(req.NodeSelectorTerms) == 0 {
			errs.Add(ErrRequired, p, "at least one term is required")
		}
		for i, t := range req.NodeSelectorTerms {
			validateNodeSelectorTerm(errs, fmt.Sprintf("%s[%d]", p, i), t)
		}
	}
	for i, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
		p := fmt.Sprintf("%s.preferredDuringSchedulingIgnoredDuringExecution[%d]", path, i)
		validateWeight(errs, p+".weight", t.Weight)
		validateNodeSelectorTerm(errs, p+".preference", t.Preference)
	}
}

func validateNodeSelectorTerm(errs *FieldErrors, path string, t NodeSelectorTerm) {
	for i, r := range t.MatchExpressions {
		validateRequirement(errs, fmt.Sprintf("%s.matchExpressions[%d]", path, i), r)
	}
	for i, r := range t.MatchFields {
		validateRequirement(errs, fmt.Sprintf("%s.matchFields[%d]", path, i), r)
	}
}

func validateVMAndPodAffinity(errs *FieldErrors, path string, a *VMAndPodAffinity) {
	if a == nil {
		return
	}
	for i, t := range a.RequiredDuringSchedulingIgnoredDuringExecution {
		validateAffinityTerm(errs, fmt.Sprintf("%s.requiredDuringSchedulingIgnoredDuringExecution[%d]", path, i), t)
	}
	for i, t := range a.PreferredDuringSchedulingIgnoredDuringExecution {
		p := fmt.Sprintf("%s.preferredDuringSchedulingIgnoredDuringExecution[%d]", path, i)
		validateWeight(errs, p+".weight", t.Weight)
		validateAffinityTerm(errs, p+".virtualMachineAndPodAffinityTerm", t.VirtualMachineAndPodAffinityTerm)
	}
}

func validateAffinityTerm(errs *FieldErrors, path string, t VMAndPodAffinityTerm) {
	if t.TopologyKey == "" {
		errs.Add(ErrRequired, path+".topologyKey", "a node label key is required")
	}
	validateLabelSelector(errs, path+".labelSelector", t.LabelSelector)
	validateLabelSelector(errs, path+".namespaceSelector", t.NamespaceSelector)
}

func validateWeight(errs *FieldErrors, path string, w int32) {
	if w < 1 || w > 100 {
		errs.Add(ErrInvalid, path, "must be from 1 to 100", w)
	}
}

// validateVMDevices checks networks, USB devices and GPUs.
func validateVMDevices(errs *FieldErrors, s *VirtualMachineSpec) {
	mains := 0
	for i, n := range s.Networks {
		p := fmt.Sprintf("spec.networks[%d]", i)
		requireEnum(errs, p+".type", n.Type, "Main", "Network", "ClusterNetwork")
		switch {
		case n.Type == "Main":
			if mains++; mains > 1 {
				errs.Add(ErrDuplicate, p+".type", "only one Main network is allowed", n.Type)
			}
		case (n.Type == "Network" || n.Type == "ClusterNetwork") && n.Name == "":
			errs.Add(ErrRequired, p+".name", "a network name is required for type "+n.Type)
		}
	}
	if len(s.USBDevices) > MaxUSBDevices {
		errs.Add(ErrTooMany, "spec.usbDevices", fmt.Sprintf("at most %d USB devices", MaxUSBDevices), len(s.USBDevices))
	}
	for i, u := range s.USBDevices {
		checkRefName(errs, fmt.Sprintf("spec.usbDevices[%d].name", i), u.Name)
	}
	if len(s.GPUs) > MaxGPUs {
		errs.Add(ErrTooMany, "spec.gpus", fmt.Sprintf("at most %d GPUs", MaxGPUs), len(s.GPUs))
	}
	for i, g := range s.GPUs {
		checkRefName(errs, fmt.Sprintf("spec.gpus[%d].gpuClassName", i), g.GPUClassName)
	}
}
