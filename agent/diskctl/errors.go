package diskctl

import "errors"

// Errors of storage class resolution; ResolveStorageClass wraps them with
// the class's name.
var (
	// ErrStorageClassNotAllowed: the class is not in the virtualDisks
	// allow-list of the cluster settings.
	ErrStorageClassNotAllowed = errors.New("storage class not allowed")
	// ErrStorageClassNotFound: the class does not exist, or no class can
	// be chosen for the disk.
	ErrStorageClassNotFound = errors.New("storage class not found")
)
