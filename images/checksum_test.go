package images

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sumsOf(data []byte) Checksums {
	m, s1, s256, s512 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data), sha512.Sum512(data)
	return Checksums{
		MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s1[:]),
		SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:]),
	}
}

func TestVerifierAcceptsMatchingSums(t *testing.T) {
	data := []byte("a disk image")
	sums := sumsOf(data)
	sums.SHA256 = "  " + sums.SHA256 + "\n" // whitespace tolerated
	sums.MD5 = strings.ToUpper(sums.MD5)    // so is upper case
	v, err := NewVerifier(sums)
	require.NoError(t, err)
	_, _ = v.Write(data[:5])
	_, _ = v.Write(data[5:])
	require.NoError(t, v.Verify())
}

func TestVerifierMismatchNamesBothSums(t *testing.T) {
	sums := sumsOf([]byte("expected"))
	v, err := NewVerifier(Checksums{SHA256: sums.SHA256, MD5: sums.MD5})
	require.NoError(t, err)
	_, _ = v.Write([]byte("received"))
	err = v.Verify()
	require.ErrorIs(t, err, ErrChecksumMismatch)
	got := sha256.Sum256([]byte("received"))
	require.ErrorContains(t, err, "sha256 expected "+sums.SHA256+", got "+hex.EncodeToString(got[:]))
	require.ErrorContains(t, err, "md5 expected "+sums.MD5)
	require.NotContains(t, err.Error(), "\n")
}

func TestVerifierRejectsBadInput(t *testing.T) {
	_, err := NewVerifier(Checksums{SHA1: "abc"})
	require.ErrorContains(t, err, `checksum sha1 "abc": want 40 hex digits`)
	_, err = NewVerifier(Checksums{MD5: "zz" + sumsOf(nil).MD5[2:]})
	require.ErrorContains(t, err, "want 32 hex digits")
}

func TestVerifierStreebogUnsupported(t *testing.T) {
	_, err := NewVerifier(Checksums{Streebog256: hex.EncodeToString(make([]byte, 32))})
	require.ErrorIs(t, err, ErrUnsupportedChecksum)
	require.ErrorContains(t, err, "streebog256 checksums are not supported by this build")
	_, err = NewVerifier(Checksums{Streebog512: hex.EncodeToString(make([]byte, 64))})
	require.ErrorIs(t, err, ErrUnsupportedChecksum)
}

func TestVerifierWithoutSums(t *testing.T) {
	require.True(t, Checksums{}.IsZero())
	v, err := NewVerifier(Checksums{})
	require.NoError(t, err)
	_, _ = v.Write([]byte("anything"))
	require.NoError(t, v.Verify())
}
