package images

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// diskDir is where the guide's `COPY x.img /disk/x.img` puts the image.
const diskDir = "disk/"

// RegistryConfig says which container image holds the disk and how to
// reach its registry.
type RegistryConfig struct {
	// Image is a reference, tag and digest optional
	// ("registry.example.com/images/ubuntu:22.04").
	Image string
	// Username and Password authenticate to the registry (see
	// DockerConfigAuth); both empty means anonymous.
	Username, Password string
	// CABundle is PEM (or base64 of PEM) trusted in addition to the
	// system roots.
	CABundle []byte
	// Insecure allows plain HTTP and skips TLS verification: for
	// registries on loopback in tests, never for the internet.
	Insecure bool
}

// RegistryDisk is the disk file of a container image, open for reading.
// Read fails at the end if the image holds a second file under /disk/.
type RegistryDisk struct {
	// Path of the file inside the image, e.g. "disk/x.img".
	Path string
	// Size of the file in bytes.
	Size int64
	// ImageDigest is the digest of the pulled manifest.
	ImageDigest string

	image     string
	walker    *layerWalker
	transport *http.Transport
	done      bool
}

// OpenRegistry pulls the manifest of cfg.Image and positions a reader on
// the single regular file under /disk/ of its flattened filesystem.
// Layers are read from the registry as the file is read. Close it.
func OpenRegistry(ctx context.Context, cfg RegistryConfig) (*RegistryDisk, error) {
	var opts []name.Option
	if cfg.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(cfg.Image, opts...)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", cfg.Image, err)
	}
	tr, err := newTransport(cfg.CABundle, cfg.Insecure, DefaultStallTimeout)
	if err != nil {
		return nil, fmt.Errorf("pull image %s: %w", cfg.Image, err)
	}
	var auth authn.Authenticator = authn.Anonymous
	if cfg.Username != "" || cfg.Password != "" {
		auth = &authn.Basic{Username: cfg.Username, Password: cfg.Password}
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(tr))
	if err != nil {
		tr.CloseIdleConnections()
		return nil, describeRegistryError(cfg.Image, ref.Context().RegistryStr(), err)
	}
	digest, err := img.Digest()
	if err != nil {
		tr.CloseIdleConnections()
		return nil, describeRegistryError(cfg.Image, ref.Context().RegistryStr(), err)
	}
	layers, err := img.Layers()
	if err != nil {
		tr.CloseIdleConnections()
		return nil, describeRegistryError(cfg.Image, ref.Context().RegistryStr(), err)
	}
	d := &RegistryDisk{ImageDigest: digest.String(), image: cfg.Image, walker: newLayerWalker(layers), transport: tr}
	hdr, err := d.nextDiskFile()
	if err != nil {
		d.Close()
		return nil, err
	}
	if hdr == nil {
		d.Close()
		return nil, fmt.Errorf("%w: image %s has no file under /disk/ (build it FROM scratch with COPY x.img /disk/x.img)", ErrNoDiskFile, cfg.Image)
	}
	d.Path, d.Size = hdr.Name, hdr.Size
	return d, nil
}

// nextDiskFile returns the next visible regular file under /disk/, or nil.
func (d *RegistryDisk) nextDiskFile() (*tar.Header, error) {
	for {
		hdr, err := d.walker.Next()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pull image %s: %w", d.image, err)
		}
		if strings.HasPrefix(hdr.Name, diskDir) && (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) {
			return hdr, nil
		}
	}
}

// Read reads the disk file. At its end the rest of the image is scanned,
// and a second file under /disk/ fails the read instead of io.EOF.
func (d *RegistryDisk) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	n, err := d.walker.Read(p)
	if !errors.Is(err, io.EOF) {
		return n, err
	}
	d.done = true
	other, err := d.nextDiskFile()
	if err != nil {
		return n, err
	}
	if other != nil {
		return n, fmt.Errorf("pull image %s: more than one file under /disk/ (%s and %s); put exactly one disk image there", d.image, d.Path, other.Name)
	}
	return n, io.EOF
}

// Close releases the layer being read and the registry connections.
func (d *RegistryDisk) Close() error {
	err := d.walker.Close()
	d.transport.CloseIdleConnections()
	return err
}

// describeRegistryError names registry failures in terms a user can act on.
func describeRegistryError(image, registry string, err error) error {
	if tlsErr := describeTLSError(registry, err); tlsErr != nil {
		return fmt.Errorf("pull image %s: %w", image, tlsErr)
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden || hasDiagnostic(terr, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return fmt.Errorf("pull image %s: the registry %s refused access; check imagePullSecret: %w", image, registry, err)
		case terr.StatusCode == http.StatusNotFound || hasDiagnostic(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return fmt.Errorf("pull image %s: not found in the registry %s: %w", image, registry, err)
		}
	}
	return fmt.Errorf("pull image %s: %w", image, err)
}

func hasDiagnostic(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// DockerConfigAuth finds the credentials for image's registry in a
// docker config.json ({"auths": {"host": {"auth": base64("user:pass")}}},
// the content of a kubernetes.io/dockerconfigjson secret). No entry for
// the registry gives empty strings: pull anonymously.
func DockerConfigAuth(configJSON []byte, image string) (username, password string, err error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", "", fmt.Errorf("parse image reference %q: %w", image, err)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth     string `json:"auth"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return "", "", fmt.Errorf("parse docker config: %w", err)
	}
	want := normalizeRegistryHost(ref.Context().RegistryStr())
	for host, entry := range cfg.Auths {
		if normalizeRegistryHost(host) != want {
			continue
		}
		if entry.Auth == "" {
			return entry.Username, entry.Password, nil
		}
		raw, err := base64.StdEncoding.DecodeString(entry.Auth)
		if err != nil {
			return "", "", fmt.Errorf("parse docker config auth for %s: %w", host, err)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", "", fmt.Errorf("parse docker config auth for %s: not user:password", host)
		}
		return user, pass, nil
	}
	return "", "", nil
}

// normalizeRegistryHost maps "https://index.docker.io/v1/" and
// "docker.io" alike to "index.docker.io".
func normalizeRegistryHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	switch h {
	case "docker.io", "registry-1.docker.io":
		return name.DefaultRegistry
	}
	return h
}
