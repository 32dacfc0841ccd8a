package images

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func detectFile(t *testing.T, p string) (Format, error) {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	return Detect(f, fi.Size())
}

func TestDetectDiskFormatsMadeByQemuImg(t *testing.T) {
	needQemuImg(t)
	dir := t.TempDir()
	raw := rawImage(t, dir, 4<<20)
	cases := []struct {
		format string
		opts   []string
		want   Format
	}{
		{"qcow2", nil, FormatQCOW2},
		{"vmdk", nil, FormatVMDK},
		{"vmdk", []string{"-o", "subformat=streamOptimized"}, FormatVMDK},
		{"vdi", nil, FormatVDI},
		{"vhdx", nil, FormatVHDX},
		{"vpc", nil, FormatVHD},
		{"vpc", []string{"-o", "subformat=fixed"}, FormatVHD},
	}
	for _, c := range cases {
		t.Run(c.format+fmtOpts(c.opts), func(t *testing.T) {
			p := convertImage(t, raw, c.format, c.opts...)
			defer os.Remove(p)
			got, err := detectFile(t, p)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
	got, err := detectFile(t, raw)
	require.NoError(t, err)
	require.Equal(t, FormatRaw, got)
}

func fmtOpts(opts []string) string {
	if len(opts) == 0 {
		return ""
	}
	return "-" + opts[len(opts)-1]
}

func TestDetectISO(t *testing.T) {
	p := isoImage(t, t.TempDir())
	got, err := detectFile(t, p)
	require.NoError(t, err)
	require.Equal(t, FormatISO, got)
	require.False(t, got.IsDisk())
}

func TestDetectRejectsVMDKDescriptor(t *testing.T) {
	needQemuImg(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "flat.vmdk")
	run(t, "qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", p, "1M")
	_, err := detectFile(t, p)
	require.ErrorIs(t, err, ErrUnsupportedFormat)
	require.ErrorContains(t, err, "single-file")
}

func TestDetectHeaderRejectsNonImages(t *testing.T) {
	tarHeader := make([]byte, 512)
	copy(tarHeader[257:], "ustar")
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"html doctype":     {[]byte("<!DOCTYPE html>\n<html><body>Not Found</body></html>"), ErrHTMLPage},
		"html lowercase":   {[]byte("\n\n  <html lang=en><head>"), ErrHTMLPage},
		"html with bom":    {[]byte("\xef\xbb\xbf<!doctype HTML>"), ErrHTMLPage},
		"xhtml":            {[]byte(`<?xml version="1.0"?><!DOCTYPE html PUBLIC "x"><html xmlns="x">`), ErrHTMLPage},
		"empty":            {nil, ErrEmptyImage},
		"tar":              {tarHeader, ErrUnsupportedFormat},
		"zip":              {[]byte("PK\x03\x04rest"), ErrUnsupportedFormat},
		"gzip inside gzip": {[]byte{0x1f, 0x8b, 8, 0}, ErrUnsupportedFormat},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DetectHeader(c.in)
			require.ErrorIs(t, err, c.want)
		})
	}
	_, err := DetectHeader([]byte("<!DOCTYPE html>"))
	require.EqualError(t, err, "detect format: the URL returned an HTML page, not a disk image")
}

func TestDetectHeaderPlainBytesAreRaw(t *testing.T) {
	for _, in := range [][]byte{bytes.Repeat([]byte{0}, 4096), []byte("\xeb\x63\x90 boot sector"), []byte("hello")} {
		got, err := DetectHeader(in)
		require.NoError(t, err)
		require.Equal(t, FormatRaw, got)
	}
}

func TestDetectCompression(t *testing.T) {
	data := bytes.Repeat([]byte("davit "), 100)
	for _, c := range []Compression{CompressionGzip, CompressionXZ, CompressionZstd, CompressionBzip2} {
		t.Run(string(c), func(t *testing.T) {
			require.Equal(t, c, DetectCompression(compress(t, c, data)))
		})
	}
	require.Equal(t, CompressionNone, DetectCompression(data))
	require.Equal(t, CompressionNone, DetectCompression([]byte("BZhx"))) // not a block size
	require.Equal(t, CompressionNone, DetectCompression(nil))
}

func TestQemuFormatNames(t *testing.T) {
	require.Equal(t, "vpc", FormatVHD.QemuFormat())
	require.Equal(t, "qcow2", FormatQCOW2.QemuFormat())
}
