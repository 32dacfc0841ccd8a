package e2eimages

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Formats are detected by content and stored as qcow2 (ISOs as they are),
// from every kind of HTTP source the reference lists.
func TestImportFormatsAndSources(t *testing.T) {
	t.Parallel()
	src := newSource(t)
	a := startAgent(t, "")
	isoSize := fileSize(t, filepath.Join(src.dir, fileISO))
	cases := []struct {
		name, dataSource, format string
		cdrom                    bool
		unpacked                 int64
	}{
		{"raw", httpSource(src.URL("/files/" + fileRaw)), "qcow2", false, rawSize},
		{"qcow2", httpSource(src.URL("/files/" + fileQCOW2)), "qcow2", false, rawSize},
		{"iso", httpSource(src.URL("/files/" + fileISO)), "iso", true, isoSize},
		{"gz", httpSource(src.URL("/files/" + fileGz)), "qcow2", false, rawSize},
		{"xz", httpSource(src.URL("/files/" + fileXz)), "qcow2", false, rawSize},
		{"bz2", httpSource(src.URL("/files/" + fileBz2)), "qcow2", false, rawSize},
		{"redirect", httpSource(src.URL("/redirect/" + fileQCOW2)), "qcow2", false, rawSize},
		{"tls-ca", fmt.Sprintf("    type: HTTP\n    http:\n      url: %q\n      caBundle: %s\n",
			src.TLSURL("/files/"+fileQCOW2), src.CABundle()), "qcow2", false, rawSize},
		{"checksums", httpSource(src.URL("/files/"+fileQCOW2)) + checksumYAML(t, filepath.Join(src.dir, fileQCOW2)),
			"qcow2", false, rawSize},
	}
	var docs []string
	for _, c := range cases {
		docs = append(docs, cviYAML(c.name, c.dataSource))
	}
	apply(t, a, strings.Join(docs, "---\n"))
	for _, c := range cases {
		st := waitPhase(t, a, c.name, api.ImageReady, 60*time.Second)
		assert.Equal(t, c.format, st.Format, c.name)
		assert.Equal(t, c.cdrom, st.CDROM, c.name)
		assert.Equal(t, fmt.Sprint(c.unpacked), st.Size.UnpackedBytes, c.name)
		assert.NotEmpty(t, st.Size.Stored, c.name)
		assert.Equal(t, "100%", st.Progress, c.name)
		assert.Equal(t, "davit://blobs/"+st.Blob.Digest, st.Target.RegistryURL, c.name)
		assert.Equal(t, []string{"node1"}, st.Blob.Holders, c.name)
	}
	out, _, _ := a.CLI("", "get", "cvi", "iso")
	assert.Equal(t, []string{"iso", "Ready", "true", "100%"}, fields(strings.Split(out, "\n")[1])[:4])
	// The same content imported twice is one blob.
	qc, _ := image(t, a.URL(), "clustervirtualimages", "qcow2")
	xz, _ := image(t, a.URL(), "clustervirtualimages", "xz")
	assert.Equal(t, qc.Blob.Digest, xz.Blob.Digest)
	noTempFiles(t, a.DataDir)
}

// A VirtualImage imports like a CVI; ObjectRef copies reuse the blob.
func TestVirtualImageAndObjectRef(t *testing.T) {
	t.Parallel()
	src := newSource(t)
	a := startAgent(t, "")
	apply(t, a, cviYAML("base", httpSource(src.URL("/files/"+fileQCOW2)))+`---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualImage
metadata:
  name: vi-http
  namespace: default
spec:
  storage: ContainerRegistry
  dataSource:
    type: HTTP
    http:
      url: "`+src.URL("/files/"+fileRaw)+`"
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualImage
metadata:
  name: vi-copy
  namespace: prod
spec:
  dataSource:
    type: ObjectRef
    objectRef:
      kind: ClusterVirtualImage
      name: base
---
`+cviYAML("cvi-from-vi", "    type: ObjectRef\n    objectRef:\n      kind: VirtualImage\n      name: vi-http\n      namespace: default\n"))
	base := waitPhase(t, a, "base", api.ImageReady, 30*time.Second)
	vi := waitKindPhase(t, a.URL(), "virtualimages", "default/vi-http", api.ImageReady, 30*time.Second)
	assert.Equal(t, "qcow2", vi.Format)
	cp := waitKindPhase(t, a.URL(), "virtualimages", "prod/vi-copy", api.ImageReady, 30*time.Second)
	assert.Equal(t, base.Blob.Digest, cp.Blob.Digest, "a copy shares the blob")
	assert.Equal(t, base.Size, cp.Size)
	back := waitPhase(t, a, "cvi-from-vi", api.ImageReady, 30*time.Second)
	assert.Equal(t, vi.Blob.Digest, back.Blob.Digest)
	require.Eventually(t, func() bool {
		st, _ := image(t, a.URL(), "clustervirtualimages", "base")
		return len(st.UsedInNamespaces) == 1 && st.UsedInNamespaces[0] == "prod"
	}, 10*time.Second, 100*time.Millisecond, "usedInNamespaces of base")
	out, _, code := a.CLI("", "get", "vi", "-A")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "vi-copy")
}

// checksumYAML is a checksum block with every algorithm the reference
// lists and davit computes.
func checksumYAML(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := func(h hash.Hash) string { h.Write(b); return hex.EncodeToString(h.Sum(nil)) }
	return fmt.Sprintf("      checksum:\n        md5: %s\n        sha1: %s\n        sha256: %s\n        sha512: %s\n",
		sum(md5.New()), sum(sha1.New()), sum(sha256.New()), sum(sha512.New()))
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}
