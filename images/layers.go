package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// layerWalker yields the entries of an image's flattened filesystem, as a
// container would see it: layers are read from the top down, an entry
// hides the same path in lower layers, whiteouts delete and opaque
// markers hide lower directories. It reads layers synchronously (no
// goroutines, unlike mutate.Extract) and is not safe for concurrent use.
type layerWalker struct {
	layers      []v1.Layer
	next        int // index of the next layer to open, counting down
	rc          io.ReadCloser
	tr          *tar.Reader
	seen        map[string]bool // path → true when it hides everything below
	opaque      map[string]bool // dirs opaqued by upper layers
	layerOpaque map[string]bool // opaque markers of the current layer
}

func newLayerWalker(layers []v1.Layer) *layerWalker {
	return &layerWalker{
		layers: layers, next: len(layers) - 1,
		seen: map[string]bool{}, opaque: map[string]bool{},
	}
}

// Next returns the next visible entry; after a regular file, Read reads
// its content. It returns io.EOF after the bottom layer.
func (w *layerWalker) Next() (*tar.Header, error) {
	for {
		if w.tr == nil {
			if w.next < 0 {
				return nil, io.EOF
			}
			if err := w.openLayer(w.next); err != nil {
				return nil, err
			}
			w.next--
		}
		hdr, err := w.tr.Next()
		if errors.Is(err, io.EOF) {
			if err := w.closeLayer(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read image layer %d: %w", w.next+1, err)
		}
		if w.visible(hdr) {
			return hdr, nil
		}
	}
}

// Read reads the content of the entry Next returned last.
func (w *layerWalker) Read(p []byte) (int, error) {
	if w.tr == nil {
		return 0, io.EOF
	}
	n, err := w.tr.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("read image layer %d: %w", w.next+1, err)
	}
	return n, err
}

// Close releases the open layer.
func (w *layerWalker) Close() error {
	if w.rc == nil {
		return nil
	}
	err := w.rc.Close()
	w.rc, w.tr = nil, nil
	return err
}

func (w *layerWalker) openLayer(i int) error {
	rc, err := w.layers[i].Uncompressed()
	if err != nil {
		return fmt.Errorf("open image layer %d: %w", i, err)
	}
	w.rc, w.tr, w.layerOpaque = rc, tar.NewReader(rc), map[string]bool{}
	return nil
}

func (w *layerWalker) closeLayer() error {
	for dir := range w.layerOpaque {
		w.opaque[dir] = true
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("close image layer: %w", err)
	}
	return nil
}

// visible applies the whiteout rules of the OCI image spec to hdr and
// records what it hides; it reports whether hdr is part of the flattened
// filesystem.
func (w *layerWalker) visible(hdr *tar.Header) bool {
	name := cleanLayerPath(hdr.Name)
	if name == "" {
		return false
	}
	hdr.Name = name
	dir, base := path.Dir(name), path.Base(name)
	if base == opaqueWhiteout {
		w.layerOpaque[dir] = true
		return false
	}
	tombstone := strings.HasPrefix(base, whiteoutPrefix)
	if tombstone {
		name = path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
	}
	if _, ok := w.seen[name]; ok && !tombstone {
		return false
	}
	if w.hiddenByParent(name) {
		return false
	}
	w.seen[name] = tombstone || hdr.Typeflag != tar.TypeDir
	return !tombstone
}

func (w *layerWalker) hiddenByParent(name string) bool {
	for dir := path.Dir(name); ; dir = path.Dir(dir) {
		if w.seen[dir] || w.opaque[dir] {
			return true
		}
		if dir == "." || dir == "/" {
			return false
		}
	}
}

// cleanLayerPath makes "./disk/x.img" and "/disk/x.img" into
// "disk/x.img"; paths escaping the root come back empty.
func cleanLayerPath(name string) string {
	p := path.Clean("/" + name)
	if p == "/" {
		return ""
	}
	return strings.TrimPrefix(p, "/")
}
