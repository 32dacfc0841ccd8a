package api

// Resource is implemented by every typed kind of this package
// (*VirtualMachine, *ClusterVirtualImage, ...).
type Resource interface {
	GetTypeMeta() *TypeMeta
	GetObjectMeta() *ObjectMeta
}

// Defaulter fills in defaults that need nothing outside the object.
type Defaulter interface {
	Default()
}

// Validator checks an object on its own (no store look-ups). Validate is
// called on create and update; ValidateUpdate adds the rules that compare
// with the stored object (immutability). Both return every violation.
type Validator interface {
	Validate() FieldErrors
	ValidateUpdate(old Resource) FieldErrors
}

// Column is one printer column of `davit get`. JSONPath is evaluated
// against the object (kubectl's JSONPath dialect, without braces).
type Column struct {
	Name     string
	JSONPath string
	// Wide columns show only with -o wide (priority 1 in a CRD).
	Wide bool
	// Type "date" columns print as an age (95s, 7m30s, 6d1h); "bool"
	// columns print false when the field is absent.
	Type string
	// Special names a column computed by the printer rather than read by
	// JSONPath ("nodeStatus", "nodeRoles").
	Special string
}

// Kind describes a kind: its names, scope, printer columns and a
// constructor for its typed form.
type Kind struct {
	Kind       string // "VirtualMachine"
	APIVersion string // GroupVersion or DavitVersion
	Plural     string // "virtualmachines"; also the URL segment
	Singular   string // "virtualmachine"
	ShortNames []string
	Namespaced bool
	Columns    []Column
	New        func() Resource
}
