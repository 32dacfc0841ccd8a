package images

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Checksums are the hex digests a user expects of the bytes a source
// sends (before decompression). Empty fields are not checked; every field
// that is set must match. The fields mirror api.Checksum.
type Checksums struct {
	MD5         string
	SHA1        string
	SHA256      string
	SHA512      string
	Streebog256 string
	Streebog512 string
}

// IsZero reports whether no checksum is set.
func (c Checksums) IsZero() bool { return c == Checksums{} }

// Verifier hashes what is written to it with every algorithm its
// Checksums name, and compares at Verify. It is not safe for concurrent
// use.
type Verifier struct {
	sums []expectedSum
}

type expectedSum struct {
	name string
	want string
	h    hash.Hash
}

// NewVerifier checks that each set checksum is hex of the right length and
// that this build can compute it. Streebog (GOST R 34.11-2012) is refused
// with ErrUnsupportedChecksum: no maintained Go implementation is
// reachable from davit's module sources.
func NewVerifier(c Checksums) (*Verifier, error) {
	fields := []struct {
		name, value string
		size        int
		newHash     func() hash.Hash
	}{
		{"md5", c.MD5, md5.Size, md5.New},
		{"sha1", c.SHA1, sha1.Size, sha1.New},
		{"sha256", c.SHA256, sha256.Size, sha256.New},
		{"sha512", c.SHA512, sha512.Size, sha512.New},
		{"streebog256", c.Streebog256, 32, nil},
		{"streebog512", c.Streebog512, 64, nil},
	}
	v := &Verifier{}
	var errs []error
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		want := strings.ToLower(strings.TrimSpace(f.value))
		if _, err := hex.DecodeString(want); err != nil || len(want) != 2*f.size {
			errs = append(errs, fmt.Errorf("checksum %s %q: want %d hex digits", f.name, f.value, 2*f.size))
			continue
		}
		if f.newHash == nil {
			errs = append(errs, fmt.Errorf("%w: %s checksums are not supported by this build; give md5, sha1, sha256 or sha512 instead", ErrUnsupportedChecksum, f.name))
			continue
		}
		v.sums = append(v.sums, expectedSum{name: f.name, want: want, h: f.newHash()})
	}
	if err := joinErrors(errs); err != nil {
		return nil, fmt.Errorf("check checksums: %w", err)
	}
	return v, nil
}

// Write hashes p; it never fails.
func (v *Verifier) Write(p []byte) (int, error) {
	for _, s := range v.sums {
		s.h.Write(p)
	}
	return len(p), nil
}

// Verify compares every expected checksum with the bytes written so far.
// A mismatch matches ErrChecksumMismatch and names expected and actual.
func (v *Verifier) Verify() error {
	var errs []error
	for _, s := range v.sums {
		got := hex.EncodeToString(s.h.Sum(nil))
		if got != s.want {
			errs = append(errs, fmt.Errorf("%w: %s expected %s, got %s", ErrChecksumMismatch, s.name, s.want, got))
		}
	}
	if err := joinErrors(errs); err != nil {
		return fmt.Errorf("verify checksums: %w", err)
	}
	return nil
}
