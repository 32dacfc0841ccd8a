package api




func PredefinedClasses() []*VirtualMachineClass              { return nil }
func DefaultVMAgainstClass(vm *VirtualMachine, c *VirtualMachineClass) FieldErrors {
	return nil
}
func ValidateVMSizing(vm *VirtualMachine, c *VirtualMachineClass) FieldErrors { return nil }
