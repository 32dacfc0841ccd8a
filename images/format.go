package images

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Format is an image format detected from content, named as users know it.
type Format string

// Formats davit imports.
const (
	FormatQCOW2 Format = "qcow2"
	FormatVMDK  Format = "vmdk"
	FormatVDI   Format = "vdi"
	FormatVHD   Format = "vhd"
	FormatVHDX  Format = "vhdx"
	FormatISO   Format = "iso"
	FormatRaw   Format = "raw"
)

// QemuFormat is the name qemu-img uses for f (its -f argument).
func (f Format) QemuFormat() string {
	if f == FormatVHD {
		return "vpc"
	}
	return string(f)
}

// IsDisk reports whether f is a disk image that is converted to qcow2 (all
// but ISO).
func (f Format) IsDisk() bool { return f != FormatISO && f != "" }

// Compression is a compression wrapper detected from content.
type Compression string

// Compressions davit unpacks. CompressionNone is the empty string.
const (
	CompressionNone  Compression = ""
	CompressionGzip  Compression = "gz"
	CompressionXZ    Compression = "xz"
	CompressionZstd  Compression = "zstd"
	CompressionBzip2 Compression = "bz2"
)

// HeaderSize is how many leading bytes DetectHeader needs to recognise
// every format (the ISO 9660 signature sits at 0x8001).
const HeaderSize = 64 << 10

const (
	isoMagicOffset = 0x8001
	vdiMagicOffset = 0x40
	vhdFooterSize  = 512
	tarMagicOffset = 257
)

var (
	magicQCOW2   = []byte("QFI\xfb")
	magicVMDK    = []byte("KDMV")
	magicVMDK3   = []byte("COWD")
	magicVMDKTxt = []byte("# Disk DescriptorFile")
	magicVDI     = []byte{0x7f, 0x10, 0xda, 0xbe}
	magicVHD     = []byte("conectix")
	magicVHDX    = []byte("vhdxfile")
	magicISO     = []byte("CD001")
	magicGzip    = []byte{0x1f, 0x8b}
	magicXZ      = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd    = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicBzip2   = []byte("BZh")
	magicZip     = []byte("PK\x03\x04")
	magicTar     = []byte("ustar")
)

// DetectCompression names the compression of a stream from its first
// bytes (at least 6 are needed), or CompressionNone.
func DetectCompression(header []byte) Compression {
	switch {
	case bytes.HasPrefix(header, magicGzip):
		return CompressionGzip
	case bytes.HasPrefix(header, magicXZ):
		return CompressionXZ
	case bytes.HasPrefix(header, magicZstd):
		return CompressionZstd
	case len(header) >= 4 && bytes.HasPrefix(header, magicBzip2) && header[3] >= '1' && header[3] <= '9':
		return CompressionBzip2
	}
	return CompressionNone
}

// Detect names the format of the image in r, which holds size bytes. Unlike
// DetectHeader it also finds a fixed-size VHD, whose only signature is a
// footer in the last 512 bytes.
func Detect(r io.ReaderAt, size int64) (Format, error) {
	if size <= 0 {
		return "", fmt.Errorf("detect format: %w", ErrEmptyImage)
	}
	header := make([]byte, min(size, HeaderSize))
	if _, err := r.ReadAt(header, 0); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read image header: %w", err)
	}
	f, err := DetectHeader(header)
	if err != nil || f != FormatRaw || size < vhdFooterSize {
		return f, err
	}
	footer := make([]byte, vhdFooterSize)
	if _, err := r.ReadAt(footer, size-vhdFooterSize); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read image footer: %w", err)
	}
	if bytes.HasPrefix(footer, magicVHD) {
		return FormatVHD, nil
	}
	return FormatRaw, nil
}

// DetectHeader names the format of an image from its first bytes (give
// HeaderSize bytes, or the whole image if it is shorter). Anything not
// recognised is raw, except an HTML page (ErrHTMLPage), an empty input
// (ErrEmptyImage) and archives or descriptors that are not images
// (ErrUnsupportedFormat).
func DetectHeader(header []byte) (Format, error) {
	if len(header) == 0 {
		return "", fmt.Errorf("detect format: %w", ErrEmptyImage)
	}
	if LooksLikeHTML(header) {
		return "", fmt.Errorf("detect format: %w", ErrHTMLPage)
	}
	switch {
	case bytes.HasPrefix(header, magicQCOW2):
		return FormatQCOW2, nil
	case bytes.HasPrefix(header, magicVMDK), bytes.HasPrefix(header, magicVMDK3):
		return FormatVMDK, nil
	case bytes.HasPrefix(header, magicVHDX):
		return FormatVHDX, nil
	case bytes.HasPrefix(header, magicVHD):
		return FormatVHD, nil
	case hasAt(header, vdiMagicOffset, magicVDI):
		return FormatVDI, nil
	case hasAt(header, isoMagicOffset, magicISO):
		return FormatISO, nil
	}
	if err := rejectNonImage(header); err != nil {
		return "", fmt.Errorf("detect format: %w", err)
	}
	return FormatRaw, nil
}

// rejectNonImage refuses inputs that are recognisably something other than
// a disk image, so that they are not imported as a useless raw disk.
func rejectNonImage(header []byte) error {
	switch {
	case bytes.HasPrefix(header, magicVMDKTxt):
		return fmt.Errorf("%w: a vmdk descriptor file keeps its data in other files; export a single-file (monolithicSparse or streamOptimized) vmdk instead", ErrUnsupportedFormat)
	case hasAt(header, tarMagicOffset, magicTar):
		return fmt.Errorf("%w: a tar archive (an OVA?); extract the disk image from it and import that", ErrUnsupportedFormat)
	case bytes.HasPrefix(header, magicZip):
		return fmt.Errorf("%w: a zip archive; extract the disk image from it and import that", ErrUnsupportedFormat)
	case DetectCompression(header) != CompressionNone:
		return fmt.Errorf("%w: compressed twice (%s inside a compressed file)", ErrUnsupportedFormat, DetectCompression(header))
	}
	return nil
}

// LooksLikeHTML reports whether the first bytes of a stream are an HTML
// page (an error or login page served instead of the image).
func LooksLikeHTML(header []byte) bool {
	h := header[:min(len(header), 1024)]
	h = bytes.TrimPrefix(h, []byte("\xef\xbb\xbf"))
	h = bytes.ToLower(bytes.TrimLeft(h, " \t\r\n"))
	for _, p := range []string{"<!doctype html", "<html", "<head", "<body", "<!--"} {
		if bytes.HasPrefix(h, []byte(p)) {
			return true
		}
	}
	return bytes.HasPrefix(h, []byte("<?xml")) && bytes.Contains(h, []byte("<html"))
}

func hasAt(b []byte, off int, magic []byte) bool {
	return len(b) >= off+len(magic) && bytes.Equal(b[off:off+len(magic)], magic)
}
