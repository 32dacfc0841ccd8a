package api

import (
	"strings"
	"sync"
)

// Annotation naming the default VirtualMachineClass.
const DefaultClassAnnotation = "virtualmachineclass.virtualization.deckhouse.io/is-default-class"

// Annotation naming the default StorageClass.
const DefaultStorageClassAnnotation = "storageclass.kubernetes.io/is-default-class"

func age() Column { return Column{Name: "AGE", JSONPath: ".metadata.creationTimestamp", Type: "date"} }

func imageColumns() []Column {
	return []Column{
		{Name: "PHASE", JSONPath: ".status.phase"},
		{Name: "CDROM", JSONPath: ".status.cdrom", Type: "bool"},
		{Name: "PROGRESS", JSONPath: ".status.progress"},
		{Name: "STOREDSIZE", JSONPath: ".status.size.stored", Wide: true},
		{Name: "UNPACKEDSIZE", JSONPath: ".status.size.unpacked", Wide: true},
		{Name: "REGISTRY URL", JSONPath: ".status.target.registryURL", Wide: true},
	}
}

// Kinds returns every kind davit serves, in a stable order. The result is
// freshly built and owned by the caller.
func Kinds() []*Kind {
	return []*Kind{
		{Kind: "ClusterVirtualImage", APIVersion: GroupVersion, Plural: "clustervirtualimages",
			Singular: "clustervirtualimage", ShortNames: []string{"cvi", "cvis"},
			Columns: append(imageColumns(), age()),
			New:     func() Resource { return &ClusterVirtualImage{} }},
		{Kind: "VirtualImage", APIVersion: GroupVersion, Plural: "virtualimages",
			Singular: "virtualimage", ShortNames: []string{"vi", "vis"}, Namespaced: true,
			Columns: append(imageColumns(),
				Column{Name: "TARGETPVC", JSONPath: ".status.target.persistentVolumeClaimName", Wide: true}, age()),
			New: func() Resource { return &VirtualImage{} }},
		{Kind: "VirtualDisk", APIVersion: GroupVersion, Plural: "virtualdisks",
			Singular: "virtualdisk", ShortNames: []string{"vd", "vds"}, Namespaced: true,
			Columns: []Column{
				{Name: "PHASE", JSONPath: ".status.phase"},
				{Name: "CAPACITY", JSONPath: ".status.capacity"},
				{Name: "INUSE", JSONPath: `.status.conditions[?(@.type=="InUse")].status`, Wide: true},
				{Name: "VIRTUALMACHINE", JSONPath: `.status.attachedToVirtualMachines[?(@.mounted==true)].name`},
				{Name: "PROGRESS", JSONPath: ".status.progress", Wide: true},
				{Name: "STORAGECLASS", JSONPath: ".status.storageClassName", Wide: true},
				{Name: "TARGETPVC", JSONPath: ".status.target.persistentVolumeClaimName", Wide: true},
				age(),
			},
			New: func() Resource { return &VirtualDisk{} }},
		{Kind: "VirtualMachineClass", APIVersion: GroupVersion, Plural: "virtualmachineclasses",
			Singular: "virtualmachineclass", ShortNames: []string{"vmc", "vmclass", "vmclasses"},
			Columns: []Column{
				{Name: "PHASE", JSONPath: ".status.phase"},
				{Name: "ISDEFAULT", JSONPath: `.metadata.annotations.virtualmachineclass\.virtualization\.deckhouse\.io/is-default-class`, Wide: true},
				age(),
			},
			New: func() Resource { return &VirtualMachineClass{} }},
		{Kind: "VirtualMachine", APIVersion: GroupVersion, Plural: "virtualmachines",
			Singular: "virtualmachine", ShortNames: []string{"vm", "vms"}, Namespaced: true,
			Columns: []Column{
				{Name: "PHASE", JSONPath: ".status.phase"},
				{Name: "UPTIME", JSONPath: ".status.stats.lastStartTime", Type: "date", Wide: true},
				{Name: "CORES", JSONPath: ".status.resources.cpu.cores", Wide: true},
				{Name: "COREFRACTION", JSONPath: ".status.resources.cpu.coreFraction", Wide: true},
				{Name: "MEMORY", JSONPath: ".status.resources.memory.size", Wide: true},
				{Name: "NEED RESTART", JSONPath: `.status.conditions[?(@.type=="AwaitingRestartToApplyConfiguration")].status`, Wide: true},
				{Name: "AGENT", JSONPath: `.status.conditions[?(@.type=="AgentReady")].status`, Wide: true},
				{Name: "MIGRATABLE", JSONPath: `.status.conditions[?(@.type=="Migratable")].status`, Wide: true},
				{Name: "NODE", JSONPath: ".status.nodeName"},
				{Name: "IPADDRESS", JSONPath: ".status.ipAddress"},
				age(),
			},
			New: func() Resource { return &VirtualMachine{} }},
		{Kind: "VirtualMachineOperation", APIVersion: GroupVersion, Plural: "virtualmachineoperations",
			Singular: "virtualmachineoperation", ShortNames: []string{"vmop", "vmops"}, Namespaced: true,
			Columns: []Column{
				{Name: "PHASE", JSONPath: ".status.phase"},
				{Name: "PROGRESS", JSONPath: ".status.progress"},
				{Name: "TYPE", JSONPath: ".spec.type"},
				{Name: "VIRTUALMACHINE", JSONPath: ".spec.virtualMachineName"},
				age(),
			},
			New: func() Resource { return &VirtualMachineOperation{} }},
		{Kind: "Node", APIVersion: DavitVersion, Plural: "nodes", Singular: "node", ShortNames: []string{"no"},
			Columns: []Column{
				{Name: "STATUS", Special: "nodeStatus"},
				{Name: "ROLES", Special: "nodeRoles"},
				age(),
				{Name: "VERSION", JSONPath: ".status.nodeInfo.agentVersion"},
				{Name: "CPU", JSONPath: ".status.capacity.cpu", Wide: true},
				{Name: "MEMORY", JSONPath: ".status.capacity.memory", Wide: true},
				{Name: "ADDRESS", JSONPath: ".status.addresses[0].address", Wide: true},
				{Name: "ACCEL", JSONPath: ".status.nodeInfo.accelerator", Wide: true},
			},
			New: func() Resource { return &Node{} }},
		{Kind: "StorageClass", APIVersion: DavitVersion, Plural: "storageclasses", Singular: "storageclass",
			ShortNames: []string{"sc"},
			Columns: []Column{
				{Name: "PROVISIONER", JSONPath: ".spec.provisioner"},
				{Name: "RECLAIMPOLICY", JSONPath: ".spec.reclaimPolicy"},
				{Name: "VOLUMEBINDINGMODE", JSONPath: ".spec.volumeBindingMode"},
				{Name: "ALLOWVOLUMEEXPANSION", JSONPath: ".spec.allowVolumeExpansion", Type: "bool"},
				age(),
			},
			New: func() Resource { return &StorageClass{} }},
		{Kind: "Settings", APIVersion: DavitVersion, Plural: "settings", Singular: "settings",
			Columns: []Column{age()},
			New:     func() Resource { return &Settings{} }},
		{Kind: "Secret", APIVersion: DavitVersion, Plural: "secrets", Singular: "secret", Namespaced: true,
			Columns: []Column{{Name: "TYPE", JSONPath: ".type"}, age()},
			New:     func() Resource { return &Secret{} }},
	}
}

// LookupKind resolves a kind by its kind name, plural, singular or short
// name, case-insensitively ("cvi", "VirtualMachine", "vmclass", "nodes").
// The returned Kind is shared: callers must not modify it.
func LookupKind(name string) (*Kind, bool) {
	n := strings.ToLower(name)
	if i := strings.IndexByte(n, '.'); i > 0 { // "virtualmachines.virtualization.deckhouse.io"
		n = n[:i]
	}
	k, ok := kindIndex()[n]
	return k, ok
}

// kindIndex maps every lower-case name of every kind to it. It is built
// once and never changed: LookupKind sits on every request's path.
var kindIndex = sync.OnceValue(func() map[string]*Kind {
	idx := map[string]*Kind{}
	for _, k := range Kinds() {
		for _, n := range append([]string{strings.ToLower(k.Kind), k.Plural, k.Singular}, k.ShortNames...) {
			idx[n] = k
		}
	}
	return idx
})
