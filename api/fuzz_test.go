package api

import (
	"testing"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{validVM, validClass, validCVI, validVI, validVD, validVMOP, validNode, validSC,
		validSettings, validSecret, hostClass + "---\n" + hostClass, `{"apiVersion":"v1","kind":"List","items":[]}`} {
		f.Add([]byte(s))
	}
}

// FuzzDecode: no input makes Decode panic, and whatever decodes converts
// to the store's envelope and back.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Decode(data)
		if err != nil {
			return
		}
		for _, r := range rs {
			o, err := ToObject(r)
			if err != nil {
				t.Fatalf("ToObject: %v", err)
			}
			if _, err := FromObject(o); err != nil {
				t.Fatalf("FromObject: %v", err)
			}
		}
	})
}

// FuzzValidate: no decodable input makes defaulting, validation or the
// cross-object sizing rules panic.
func FuzzValidate(f *testing.F) {
	fuzzSeeds(f)
	generic := PredefinedClasses()[2]
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Decode(data)
		if err != nil {
			return
		}
		for _, r := range rs {
			r.(Defaulter).Default()
			v := r.(Validator)
			_ = v.Validate()
			_ = v.ValidateUpdate(r)
			switch x := r.(type) {
			case *VirtualMachine:
				_ = DefaultVMAgainstClass(x, generic)
				_ = ValidateVMSizing(x, generic)
			case *VirtualMachineClass:
				vm := &VirtualMachine{Spec: VirtualMachineSpec{CPU: VMCPU{Cores: 4, CoreFraction: "50%"},
					Memory: VMMemory{Size: MustParseQuantity("4Gi")}}}
				_ = DefaultVMAgainstClass(vm, x)
				_ = ValidateVMSizing(vm, x)
			}
		}
	})
}
