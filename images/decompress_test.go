package images

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecompressRoundTrip(t *testing.T) {
	data := make([]byte, 300<<10)
	_, _ = rand.Read(data[:100<<10])
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionXZ, CompressionZstd, CompressionBzip2} {
		t.Run("c="+string(c), func(t *testing.T) {
			packed := compress(t, c, data)
			require.Equal(t, c, DetectCompression(packed))
			r, err := Decompress(bytes.NewReader(packed), c, int64(len(data)))
			require.NoError(t, err)
			defer r.Close()
			got, err := io.ReadAll(r)
			require.NoError(t, err, "exactly the cap must pass")
			require.Equal(t, data, got)
		})
	}
}

func TestDecompressZipBombHitsCap(t *testing.T) {
	bomb := compress(t, CompressionGzip, make([]byte, 64<<20))
	require.Less(t, len(bomb), 200<<10, "a small input...")
	r, err := Decompress(bytes.NewReader(bomb), CompressionGzip, 1<<20)
	require.NoError(t, err)
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorContains(t, err, "limit of 1.0 MiB (1048576 bytes)")
	require.Equal(t, int64(1<<20), n, "nothing past the cap is returned")
}

func TestDecompressCorruptStream(t *testing.T) {
	packed := compress(t, CompressionXZ, bytes.Repeat([]byte("davit"), 10000))
	packed = packed[:len(packed)/2]
	r, err := Decompress(bytes.NewReader(packed), CompressionXZ, 0)
	require.NoError(t, err)
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	require.ErrorContains(t, err, "decompress xz image")
}

func TestLimitUnpackedWithoutCap(t *testing.T) {
	in := bytes.NewReader([]byte("abc"))
	require.Same(t, in, LimitUnpacked(in, 0))
}
