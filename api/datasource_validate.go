package api

import (
	"fmt"
	"regexp"
)

var (
	// The CRD's pattern for dataSource.http.url.
	httpURLRE = regexp.MustCompile(`^http[s]?://(?:[a-zA-Z]|[0-9]|[$-_@.&+]|[!*\(\),]|(?:%[0-9a-fA-F][0-9a-fA-F]))+$`)
	// An image reference: [registry[:port]/]repo[:tag][@digest].
	imageRefRE = regexp.MustCompile(`^(?:(?:localhost|[\w-]+(?:\.[\w-]+)+|[\w-]+:\d+)(?::\d+)?/)?[a-z0-9_.-]+(?:/[a-z0-9_.-]+)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`)
	hexRE      = regexp.MustCompile(`^[0-9a-fA-F]+$`)
)

// objectRefKinds lists the kinds each owner may copy from.
func objectRefKinds(owner string) []string {
	if owner == KindVirtualDisk {
		return []string{KindClusterVirtualImage, KindVirtualImage, KindVirtualDiskSnapshot}
	}
	return []string{KindClusterVirtualImage, KindVirtualImage, KindVirtualDisk, KindVirtualDiskSnapshot}
}

// validateDataSource applies the data source rules of reference §1 for an
// image or disk of kind owner.
func validateDataSource(errs *FieldErrors, path string, ds *DataSource, owner string) {
	requireEnum(errs, path+".type", string(ds.Type), string(DataSourceTypeHTTP),
		string(DataSourceTypeContainerImage), string(DataSourceTypeObjectRef), string(DataSourceTypeUpload))
	blocks := []struct {
		name string
		t    DataSourceType
		set  bool
	}{
		{"http", DataSourceTypeHTTP, ds.HTTP != nil},
		{"containerImage", DataSourceTypeContainerImage, ds.ContainerImage != nil},
		{"objectRef", DataSourceTypeObjectRef, ds.ObjectRef != nil},
		{"upload", DataSourceTypeUpload, ds.Upload != nil},
	}
	for _, b := range blocks {
		switch {
		case b.set && b.t != ds.Type:
			errs.Add(ErrForbidden, path+"."+b.name, fmt.Sprintf("must not be set when type is %q", ds.Type))
		case !b.set && b.t == ds.Type && b.t != DataSourceTypeUpload:
			errs.Add(ErrRequired, path+"."+b.name, fmt.Sprintf("is required when type is %s", ds.Type))
		}
	}
	if ds.HTTP != nil {
		validateHTTPSource(errs, path+".http", ds.HTTP)
	}
	if ds.ContainerImage != nil {
		validateContainerImage(errs, path+".containerImage", ds.ContainerImage, owner)
	}
	if ds.ObjectRef != nil {
		validateObjectRef(errs, path+".objectRef", ds.ObjectRef, owner)
	}
	if ds.Upload != nil {
		validateChecksum(errs, path+".upload.checksum", ds.Upload.Checksum)
	}
}

func validateHTTPSource(errs *FieldErrors, path string, h *DataSourceHTTP) {
	switch {
	case h.URL == "":
		errs.Add(ErrRequired, path+".url", "an http:// or https:// URL is required")
	case !httpURLRE.MatchString(h.URL):
		errs.Add(ErrInvalid, path+".url", "must be an http:// or https:// URL", h.URL)
	}
	checkBase64(errs, path+".caBundle", h.CABundle)
	validateChecksum(errs, path+".checksum", h.Checksum)
}

func validateChecksum(errs *FieldErrors, path string, c *Checksum) {
	if c == nil {
		return
	}
	for _, f := range []struct {
		name, v string
		n       int
	}{
		{"md5", c.MD5, 32}, {"sha1", c.SHA1, 40}, {"sha256", c.SHA256, 64},
		{"sha512", c.SHA512, 128}, {"streebog256", c.Streebog256, 64}, {"streebog512", c.Streebog512, 128},
	} {
		if f.v != "" && (len(f.v) != f.n || !hexRE.MatchString(f.v)) {
			errs.Add(ErrInvalid, path+"."+f.name, fmt.Sprintf("must be %d hex digits", f.n), f.v)
		}
	}
}

func validateContainerImage(errs *FieldErrors, path string, c *DataSourceContainerImage, owner string) {
	switch {
	case c.Image == "":
		errs.Add(ErrRequired, path+".image", "an image reference is required")
	case !imageRefRE.MatchString(c.Image):
		errs.Add(ErrInvalid, path+".image", "must be an image reference: [registry/]repository[:tag][@digest]", c.Image)
	}
	checkBase64(errs, path+".caBundle", c.CABundle)
	if s := c.ImagePullSecret; s != nil {
		checkRefName(errs, path+".imagePullSecret.name", s.Name)
		if s.Namespace != "" && owner != KindClusterVirtualImage {
			errs.Add(ErrForbidden, path+".imagePullSecret.namespace",
				"the secret is read from the "+owner+"'s own namespace")
		}
	}
}

func validateObjectRef(errs *FieldErrors, path string, r *DataSourceObjectRef, owner string) {
	requireEnum(errs, path+".kind", r.Kind, objectRefKinds(owner)...)
	if r.Name == "" {
		errs.Add(ErrRequired, path+".name", "name is required")
	}
	if owner != KindClusterVirtualImage {
		if r.Namespace != "" {
			errs.Add(ErrForbidden, path+".namespace", "the object is looked up in the "+owner+"'s own namespace")
		}
		return
	}
	needsNS := r.Kind == KindVirtualImage || r.Kind == KindVirtualDisk || r.Kind == KindVirtualDiskSnapshot
	switch {
	case needsNS && r.Namespace == "":
		errs.Add(ErrRequired, path+".namespace", "namespace is required for kind "+r.Kind)
	case len(r.Namespace) > 63:
		errs.Add(ErrTooLong, path+".namespace", "must be at most 63 characters", r.Namespace)
	}
}
